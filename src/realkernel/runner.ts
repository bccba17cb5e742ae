// The outer runner: plans a scenario, picks its backend, runs the plan on a real kernel
// inside namespaces made for the run, and turns what came back into a ScenarioReport.
//
// The process chain, and why nothing outlives the run:
//   pktpath ─ setpriv --pdeathsig KILL ─exec→ unshare --net --mount --pid --fork
//             --kill-child --mount-proc ─fork→ node inner.ts (PID 1 of the new PID ns)
// - pktpath dies (even SIGKILL) → unshare gets SIGKILL (setpriv's parent-death signal);
// - unshare dies → inner gets SIGKILL (--kill-child);
// - inner (PID 1) dies → the kernel kills every process of its PID namespace (servers,
//   probes); the mount namespace (with its tmpfs on /run/netns) goes with the last of
//   them, and with it every namespace `ip netns add` made, with their links.
// The whole run is also bounded in time (the plan's budget; spawnSync kills it).
import { spawnSync } from "node:child_process";
import { accessSync, constants, readlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { checkExpect, describeExpect, type ProbeReport } from "../scenario/run.ts";
import type { RunStep, Scenario } from "../scenario/types.ts";
import { acceptedCommands, planScenario, type PlanResult } from "./plan.ts";
import { machineFeatures, type KernelFeatures } from "./features.ts";
import { AT_MARKER, RESULT_MARKER, type InnerResult, type KernelScenarioReport } from "./types.ts";
import { loadImage, vmFeatures, type VmImage } from "./vm/image.ts";
import { describeRun, partitionBoots, planId, runVmBatch, type VmOutcome } from "./vm/backend.ts";
import { QEMU } from "./vm/qemu.ts";

export const VM_SKIP = "needs the VM backend";
export const SETUP_HINT = "run `npm run kernel:setup` (or `bash src/realkernel/setup.sh`)";

const PATH_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** Real-kernel mode cannot run on this machine at all (not root, tools missing). */
export class KernelUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KernelUnavailable";
  }
}

export function which(name: string): string | null {
  for (const d of PATH_DIRS) {
    try {
      accessSync(`${d}/${name}`, constants.X_OK);
      return `${d}/${name}`;
    } catch {
      // not here
    }
  }
  return null;
}

/** Why this machine cannot run the namespaces backend now, or null when it can. */
export function unavailableReason(binaries: Iterable<string> = ["unshare", "setpriv", "mount", "ip"]): string | null {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "real-kernel mode needs root (it makes network namespaces)";
  const missing = [...new Set(["unshare", "setpriv", "mount", ...binaries])].filter((b) => which(b) === null);
  if (missing.length) return `real-kernel mode needs ${missing.join(", ")}, not installed here: ${SETUP_HINT}`;
  return null;
}

export interface KernelRunOptions {
  features?: KernelFeatures;
  /** The VM backend to use (tests); null: none; undefined: the one setup built. */
  vm?: { img: VmImage; features: KernelFeatures } | { missing: string } | null;
  /** Called with the inner runner's stderr (progress, diagnostics). */
  log?: (text: string) => void;
}

function emptyReport(s: Scenario): KernelScenarioReport {
  return { file: s.file, name: s.name, mode: "kernel", probes: [], passed: 0, failed: 0, notes: [], listings: [], error: null, skipped: null, elapsedMs: 0 };
}

/** The VM image and what its kernel offers, or why the VM backend cannot run here. */
export function vmBackend(): { img: VmImage; features: KernelFeatures } | { missing: string } {
  const img = loadImage();
  if ("missing" in img) return { missing: `${img.missing}: ${SETUP_HINT}` };
  if (!which(QEMU)) return { missing: `${QEMU} is not installed: ${SETUP_HINT}` };
  return { img, features: vmFeatures(img) };
}

type Choice =
  | { backend: "namespaces"; planned: PlanResult }
  | { backend: "vm"; planned: PlanResult; img: VmImage }
  | { backend: "none"; why: string };

/** Per scenario: namespaces when this kernel can run it, else the VM, else why neither can. */
export function chooseBackend(s: Scenario, options: KernelRunOptions = {}): Choice {
  // The emulator runs the whole scenario first: a line it refuses is bad input, and
  // then nothing of the scenario runs on any kernel.
  const accepted = acceptedCommands(s);
  const planned = planScenario(s, options.features ?? machineFeatures(), accepted);
  if (!planned.needs.length) return { backend: "namespaces", planned };
  const vm = options.vm === undefined ? vmBackend() : options.vm;
  if (vm === null) return { backend: "none", why: `${VM_SKIP}: ${planned.needs.join("; ")}` };
  if ("missing" in vm) return { backend: "none", why: `${VM_SKIP} (${planned.needs.join("; ")}), but ${vm.missing}` };
  const inVm = planScenario(s, vm.features, accepted);
  if (inVm.needs.length) return { backend: "none", why: `neither backend can run it: ${inVm.needs.join("; ")}` };
  return { backend: "vm", planned: inVm, img: vm.img };
}

/** VM outcomes of batches run ahead (runKernelScenarios), by planId. */
const vmDone = new Map<string, VmOutcome>();

/**
 * Runs every scenario the VM backend must run in as few boots as possible, ahead of
 * runKernelScenario (which then takes the outcome from here). Optional: without it,
 * each such scenario boots its own VM.
 */
export function prepareVmBatch(scenarios: Scenario[], options: KernelRunOptions = {}): void {
  const plans = [];
  let img: VmImage | null = null;
  for (const s of scenarios) {
    let c: Choice;
    try {
      c = chooseBackend(s, options);
    } catch {
      continue; // bad input: runKernelScenario reports it
    }
    if (c.backend === "vm" && !vmDone.has(planId(c.planned.plan))) {
      plans.push(c.planned.plan);
      img = c.img;
    }
  }
  if (!img) return;
  for (const boot of partitionBoots(plans)) for (const [id, o] of runVmBatch(img, boot)) vmDone.set(id, o);
}

/** runKernelScenario for a list: one VM boot per batch (see prepareVmBatch). */
export function runKernelScenarios(scenarios: Scenario[], options: KernelRunOptions = {}): KernelScenarioReport[] {
  prepareVmBatch(scenarios, options);
  return scenarios.map((s) => runKernelScenario(s, options));
}

/** Runs one scenario on a real kernel; throws ScenarioError on bad input, KernelUnavailable when it cannot run. */
export function runKernelScenario(s: Scenario, options: KernelRunOptions = {}): KernelScenarioReport {
  const choice = chooseBackend(s, options);
  const report = emptyReport(s);
  if (choice.backend === "none") {
    report.skipped = choice.why;
    return report;
  }
  if (choice.backend === "vm") return runInVm(s, choice.planned, choice.img, report);
  const planned = choice.planned;
  const why = unavailableReason(planned.binaries);
  if (why) throw new KernelUnavailable(why);
  const started = Date.now();
  const inner = spawnInner(planned);
  report.elapsedMs = Date.now() - started;
  return buildReport(s, planned, inner, report);
}

function runInVm(s: Scenario, planned: PlanResult, img: VmImage, report: KernelScenarioReport): KernelScenarioReport {
  const id = planId(planned.plan);
  let o = vmDone.get(id);
  vmDone.delete(id);
  if (!o) o = runVmBatch(img, [planned.plan]).get(id)!;
  if (!o.result) throw new KernelUnavailable(`real-kernel run of ${planned.plan.file} in the VM failed: ${o.error}`);
  report.elapsedMs = o.elapsedMs;
  const r = buildReport(s, planned, o.result, report);
  r.notes = [`${s.file}: ${describeRun(o.info)}`, ...r.notes];
  return r;
}

/** How node runs inner: the compiled module as it is, the TypeScript source through tsx's loader. */
function innerCommand(): string[] {
  if (import.meta.url.endsWith(".js")) return [process.execPath, fileURLToPath(new URL("./inner.js", import.meta.url))];
  return [process.execPath, "--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href, fileURLToPath(new URL("./inner.ts", import.meta.url))];
}

/**
 * Runs a plan on the namespaces backend (inner.ts in fresh namespaces), bounded by its
 * budget; snapshotScript: pktpath's own, for a plan with a snapshot action (src/node/kernel.ts).
 */
export function spawnInner(planned: PlanResult, snapshotScript?: string): InnerResult {
  const envelope = JSON.stringify({ plan: planned.plan, outerNetns: readlinkSync("/proc/self/ns/net"), ...(snapshotScript ? { snapshotScript } : {}) });
  const argv = [
    "--pdeathsig", "KILL", "--",
    "unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private", "--",
    ...innerCommand(),
  ];
  const r = spawnSync(which("setpriv")!, argv, {
    input: envelope,
    encoding: "utf8",
    timeout: planned.plan.budgetMs,
    killSignal: "SIGKILL",
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: PATH_DIRS.join(":"), LANG: "C", LC_ALL: "C" },
  });
  const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith(RESULT_MARKER));
  if (!line && (r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT") {
    // The run's own bound (the sum of every action's) ran out: say at which line.
    const at = (r.stderr ?? "").split("\n").filter((l) => l.startsWith(AT_MARKER)).pop();
    const atLine = at ? Number(at.slice(AT_MARKER.length)) : 0;
    return { probes: [], listings: [], notes: [], error: { line: atLine, message: `real-kernel mode stopped the run: its time limit (${Math.round(planned.plan.budgetMs / 1000)} s) ran out while this line ran` } };
  }
  if (!line) {
    const why = r.error ? String(r.error.message) : (r.stderr ?? "").trim().split("\n").slice(-5).join("\n") || `exit status ${r.status}`;
    throw new KernelUnavailable(`real-kernel run of ${planned.plan.file} failed: ${why}`);
  }
  return JSON.parse(line.slice(RESULT_MARKER.length)) as InnerResult;
}

/** The emulator's report shape, with each probe checked against its step's expect. */
export function buildReport(s: Scenario, planned: PlanResult, inner: InnerResult, report: KernelScenarioReport = emptyReport(s)): KernelScenarioReport {
  const stepOf = new Map<number, RunStep>();
  for (const step of s.steps) if (step.kind === "run") for (const cl of step.commands) stepOf.set(cl.line, step);
  for (const p of inner.probes) {
    const step = stepOf.get(p.line) ?? null;
    const exp = step?.expect ? (step.expect[p.rep] ?? null) : null;
    const pass = exp ? checkExpect(exp, p.outcome, p.server, p.client_ip) : null;
    if (pass === true) report.passed++;
    if (pass === false) report.failed++;
    const pr: ProbeReport = {
      line: p.line,
      command: p.command,
      netns: p.ns,
      outcome: p.outcome,
      server: p.server,
      client_ip: p.client_ip,
      expected: exp ? describeExpect(exp) : null,
      pass,
      why: step?.why ?? null,
      error: p.error,
    };
    report.probes.push(pr);
  }
  report.listings = inner.listings;
  report.notes = inner.notes;
  const err = inner.error;
  report.error = err ? `${s.file}:${err.line}: ${err.message}` : null;
  return report;
}
