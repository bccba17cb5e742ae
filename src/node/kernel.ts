// `pktpath snapshot --kernel SCENARIO`: builds a scenario's node on a real kernel (fresh
// namespaces on this machine, or the VM backend for IPVS and dummy links) and runs the
// snapshot script there, inside the run's own namespaces, as a user runs it on a node.
// Only the commands the emulator accepted build the node (real-kernel mode's plan, its
// gate), then one fixed action runs pktpath's own read-only script: a scenario cannot
// choose what runs. Probes, servers and sleeps are left out: they change no setting.
import { chooseBackend, KernelUnavailable, spawnInner, unavailableReason, type KernelRunOptions } from "../realkernel/runner.ts";
import { EXEC_TIMEOUT_MS, HOST_NS, SNAPSHOT_TIMEOUT_MS } from "../realkernel/limits.ts";
import { describeRun, planId, runVmBatch, type VmOutcome } from "../realkernel/vm/backend.ts";
import type { InnerResult, KernelAction, KernelPlan } from "../realkernel/types.ts";
import type { PlanResult } from "../realkernel/plan.ts";
import type { Scenario } from "../scenario/types.ts";
import { snapshotScript } from "./snapshot.ts";

export interface KernelSnapshot {
  /** The JSON file the script wrote (the format of ./format.ts). */
  json: string;
  /** What the script printed on stderr (what it could not read). */
  stderr: string;
  backend: "namespaces" | "vm";
  /** How the run went (the VM's boot, accelerator, wall time). */
  note: string;
  /** Wall time of the run (ms): for the VM, the whole boot. */
  wallMs: number;
}

/** The plan's setup commands (tools, modprobe, notes), then the snapshot action. */
export function snapshotPlan(plan: KernelPlan): KernelPlan {
  const actions: KernelAction[] = plan.actions.filter((a) => a.kind === "exec" || a.kind === "note");
  const last = plan.actions.reduce((n, a) => Math.max(n, a.line), 0);
  actions.push({ kind: "snapshot", line: last, text: "pktpath snapshot (the node as built)", ns: HOST_NS });
  const execs = actions.filter((a) => a.kind === "exec").length;
  return { file: plan.file, actions, budgetMs: 10_000 + execs * EXEC_TIMEOUT_MS + SNAPSHOT_TIMEOUT_MS };
}

function fromResult(file: string, r: InnerResult): { json: string; stderr: string } {
  if (r.error) throw new KernelUnavailable(`building ${file} on the kernel stopped at line ${r.error.line}: ${r.error.message}`);
  if (!r.snapshot) throw new KernelUnavailable(`building ${file} on the kernel: the snapshot script did not run`);
  // The script's last line names its output file, a path inside the run: not the user's.
  return { json: r.snapshot.json, stderr: r.snapshot.stderr.replace(/^pktpath-snapshot: wrote .*\n/m, "") };
}

/** Builds s on a real kernel and snapshots it there; throws KernelUnavailable when it cannot. */
export function snapshotOnKernel(s: Scenario, options: KernelRunOptions = {}): KernelSnapshot {
  const r = snapshotAllOnKernel([s], options)[0]!;
  if ("error" in r) throw new KernelUnavailable(r.error);
  return r;
}

/**
 * snapshotOnKernel for a list: those the VM must build share one boot; each scenario
 * gets its snapshot or why it has none. Bad input throws ScenarioError (nothing ran).
 */
export function snapshotAllOnKernel(scenarios: Scenario[], options: KernelRunOptions = {}): (KernelSnapshot | { error: string })[] {
  const choices = scenarios.map((s) => chooseBackend(s, options));
  const script = snapshotScript();
  const plans = choices.map((c) => (c.backend === "none" ? null : snapshotPlan(c.planned.plan)));
  const vmPlans = plans.filter((p, i): p is KernelPlan => p !== null && choices[i]!.backend === "vm");
  const img = choices.find((c) => c.backend === "vm");
  const vm = img && img.backend === "vm" ? runVmBatch(img.img, vmPlans, script) : new Map<string, VmOutcome>();
  return scenarios.map((s, i) => {
    const c = choices[i]!;
    const plan = plans[i]!;
    try {
      if (c.backend === "none") return { error: c.why };
      if (c.backend === "vm") {
        const o = vm.get(planId(plan))!;
        if (!o.result) return { error: `building ${s.file} in the VM failed: ${o.error}` };
        return { ...fromResult(s.file, o.result), backend: "vm", note: `built ${describeRun(o.info).replace(/^ran /, "")}; this scenario ${(o.elapsedMs / 1000).toFixed(1)} s`, wallMs: o.info.wallMs };
      }
      const planned: PlanResult = { ...c.planned, plan, binaries: new Set([...c.planned.binaries, "sh"]) };
      const why = unavailableReason(planned.binaries);
      if (why) return { error: why };
      const started = Date.now();
      const r = spawnInner(planned, script);
      const wallMs = Date.now() - started;
      return { ...fromResult(s.file, r), backend: "namespaces", note: `built in namespaces on this machine's kernel in ${(wallMs / 1000).toFixed(1)} s`, wallMs };
    } catch (e) {
      if (e instanceof KernelUnavailable) return { error: e.message };
      throw e;
    }
  });
}
