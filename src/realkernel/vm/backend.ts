// The VM backend: runs plans the machine's kernel cannot (IPVS, dummy links, modules it
// lacks) in a QEMU micro-VM booted from Debian's kernel. One boot runs a batch; a
// scenario whose modprobe loads a module (br_netfilter) only shares a boot with the
// scenarios before it that loaded no other, so none runs with a module it did not ask for.
import { createHash } from "node:crypto";
import type { InnerResult, KernelPlan } from "../types.ts";
import { runArchive, type BatchItem } from "./bundle.ts";
import type { VmImage } from "./image.ts";
import { kvmNote, runVm, type Accel } from "./qemu.ts";

/** Per plan, on top of its own budget: node's start-up in the VM (slow under TCG). */
export const PLAN_SLACK_MS = 15_000;

export interface VmRunInfo {
  accel: Accel;
  /** Why not KVM, when TCG ran. */
  accelNote: string;
  kernel: string;
  /** Wall time of the whole QEMU run (boot included), ms. */
  wallMs: number;
  /** Kernel uptime when the agent started (boot + modules + node), s. */
  agentUptime: number | null;
  scenarios: number;
  /** Modules the guest could not unload between scenarios (then it booted again). */
  leftModules: string[];
}

export interface VmOutcome {
  id: string;
  result: InnerResult | null;
  error: string | null;
  elapsedMs: number;
  info: VmRunInfo;
}

/** A plan's identity (the same scenario planned the same way). */
export function planId(plan: KernelPlan): string {
  return createHash("sha256").update(JSON.stringify(plan)).digest("hex").slice(0, 16);
}

/** Modules a plan loads with modprobe (exec actions). */
export function modulesLoaded(plan: KernelPlan): string[] {
  const out: string[] = [];
  for (const a of plan.actions) if (a.kind === "exec" && a.argv[0] === "modprobe") out.push(...a.argv.slice(1).filter((x) => !x.startsWith("-")));
  return out;
}

/**
 * Splits plans into boots: one boot for all. Each plan starts from the boot's kernel
 * state because the guest unloads what a plan loaded before the next one (guest.mjs);
 * runVmBatch boots again for the rest when it could not.
 */
export function partitionBoots(plans: KernelPlan[]): KernelPlan[][] {
  return plans.length ? [plans] : [];
}

/**
 * Boots the VM once for these plans; one outcome per plan (by planId). snapshotScript:
 * pktpath's own, for plans with a snapshot action (src/node/kernel.ts).
 */
export function runVmBatch(img: VmImage, plans: KernelPlan[], snapshotScript?: string): Map<string, VmOutcome> {
  const items: BatchItem[] = plans.map((plan) => ({ id: planId(plan), plan }));
  const budget = plans.reduce((n, p) => n + p.budgetMs + PLAN_SLACK_MS, 0);
  const r = runVm(img, runArchive(items, snapshotScript), budget);
  const agent = r.console.events.find((e) => e.event === "agent");
  const info: VmRunInfo = {
    accel: r.accel,
    accelNote: r.accel === "tcg" ? kvmNote : "",
    kernel: agent && agent.event === "agent" ? agent.kernel : img.kernel,
    wallMs: r.wallMs,
    agentUptime: agent && agent.event === "agent" ? agent.uptime : null,
    scenarios: plans.length,
    leftModules: r.console.events.flatMap((e) => (e.event === "dirty" ? e.modules : [])),
  };
  const why = r.timedOut
    ? `the VM did not finish within ${Math.round((budget + 90_000) / 1000)} s (QEMU killed)`
    : !agent
      ? `the VM's agent never started (${r.console.noAgent ? "no agent in the initramfs" : r.error ?? `QEMU exit ${r.status}`}; console: ${r.console.tail.join(" | ")})`
      : "the VM stopped before this scenario ran";
  const out = new Map<string, VmOutcome>();
  // A module the guest could not unload: the plans after it run in a boot of their own.
  const dirty = r.console.events.find((e) => e.event === "dirty" && e.after !== "");
  if (dirty && dirty.event === "dirty") {
    const at = items.findIndex((it) => it.id === dirty.after);
    const rest = plans.slice(at + 1);
    if (at >= 0 && rest.length) for (const [id, o] of runVmBatch(img, rest, snapshotScript)) out.set(id, o);
  }
  for (const it of items) {
    if (out.has(it.id)) continue;
    const ev = r.console.events.find((e) => (e.event === "result" || e.event === "failed") && e.id === it.id);
    if (ev && ev.event === "result") out.set(it.id, { id: it.id, result: ev.result, error: null, elapsedMs: ev.elapsedMs, info });
    else if (ev && ev.event === "failed") out.set(it.id, { id: it.id, result: null, error: ev.message, elapsedMs: ev.elapsedMs, info });
    else out.set(it.id, { id: it.id, result: null, error: why, elapsedMs: 0, info });
  }
  return out;
}

export function describeRun(info: VmRunInfo): string {
  const accel = info.accel === "kvm" ? "KVM" : `TCG software emulation${info.accelNote ? `; ${info.accelNote}` : ""}`;
  const boot = info.agentUptime !== null ? `, agent up ${info.agentUptime.toFixed(1)} s after boot` : "";
  const left = info.leftModules.length ? `; could not unload ${info.leftModules.join(", ")} between scenarios` : "";
  return `ran in the VM backend: Debian kernel ${info.kernel}, ${accel}; one boot for ${info.scenarios} scenario${info.scenarios === 1 ? "" : "s"} took ${(info.wallMs / 1000).toFixed(1)} s${boot}${left}`;
}
