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
import { planScenario, type PlanResult } from "./plan.ts";
import { machineFeatures, type KernelFeatures } from "./features.ts";
import { RESULT_MARKER, type InnerResult, type KernelScenarioReport } from "./types.ts";

export const VM_SKIP = "needs the VM backend (not built yet)";
export const SETUP_HINT = "run `npm run kernel:setup` (or `bash src/kernel/setup.sh`)";

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
  /** Called with the inner runner's stderr (progress, diagnostics). */
  log?: (text: string) => void;
}

function emptyReport(s: Scenario): KernelScenarioReport {
  return { file: s.file, name: s.name, mode: "kernel", probes: [], passed: 0, failed: 0, notes: [], listings: [], error: null, skipped: null, elapsedMs: 0 };
}

/** Runs one scenario on this machine's kernel; throws ScenarioError on bad input, KernelUnavailable when it cannot run. */
export function runKernelScenario(s: Scenario, options: KernelRunOptions = {}): KernelScenarioReport {
  const planned = planScenario(s, options.features ?? machineFeatures());
  const report = emptyReport(s);
  if (planned.needs.length) {
    report.skipped = `${VM_SKIP}: ${planned.needs.join("; ")}`;
    return report;
  }
  const why = unavailableReason(planned.binaries);
  if (why) throw new KernelUnavailable(why);
  const started = Date.now();
  const inner = spawnInner(planned);
  report.elapsedMs = Date.now() - started;
  return buildReport(s, planned, inner, report);
}

function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
}

function spawnInner(planned: PlanResult): InnerResult {
  const innerPath = fileURLToPath(new URL("./inner.ts", import.meta.url));
  const envelope = JSON.stringify({ plan: planned.plan, outerNetns: readlinkSync("/proc/self/ns/net") });
  const argv = [
    "--pdeathsig", "KILL", "--",
    "unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private", "--",
    process.execPath, "--import", tsxLoader(), innerPath,
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
  const err = inner.error ?? planned.failure;
  report.error = err ? `${s.file}:${err.line}: ${err.message}` : null;
  return report;
}
