// pktpath's command line: run scenarios (emulator or real kernel), compare the two,
// print results as text or JSON, exit 0 / 1 / 2 as ../shared/SCENARIOS.md says.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadScenario } from "../scenario/load.ts";
import { runScenario, type ScenarioReport } from "../scenario/run.ts";
import { ScenarioError, type Scenario } from "../scenario/types.ts";
import { defaultLayers } from "../layers.ts";
import { formatCheck, formatReport, summaryLine } from "./format.ts";
import { KernelUnavailable, prepareVmBatch, runKernelScenario } from "../kernel/runner.ts";
import { compareReports, type ScenarioComparison } from "../kernel/compare.ts";
import type { KernelScenarioReport } from "../kernel/types.ts";
import { genCommand } from "../gen/cli.ts";

const USAGE = `usage: pktpath run [--kernel] [--trace] [--json] PATH...
       pktpath check PATH...
       pktpath gen kube-proxy --mode iptables|ipvs --services N --endpoints M [--nodeports] [-o FILE]
PATH is a scenario file (*.yaml) or a folder of them (searched recursively).`;

/** Scenario files under the given paths, in a stable order. */
export function collectFiles(paths: string[]): string[] {
  const files: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) throw new ScenarioError(p, 0, "no such file or folder");
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        const child = join(p, name);
        if (statSync(child).isDirectory() || name.endsWith(".yaml") || name.endsWith(".yml")) walk(child);
      }
    } else files.push(p);
  };
  for (const p of paths) walk(p.replace(/\/+$/, "") || "/");
  return files;
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export function main(argv: string[], io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): number {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "help" || cmd === "--help" || cmd === "-h") {
    io.out(USAGE + "\n");
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === "gen") return genCommand(rest, io);
  if (cmd !== "run" && cmd !== "check") {
    io.err(`pktpath: unknown command "${cmd}"\n${USAGE}\n`);
    return 2;
  }
  let kernel = cmd === "check";
  let trace = false;
  let json = false;
  const paths: string[] = [];
  for (const a of rest) {
    if (a === "--kernel") kernel = true;
    else if (a === "--trace") trace = true;
    else if (a === "--json") json = true;
    else if (a.startsWith("-")) {
      io.err(`pktpath: unknown option "${a}"\n${USAGE}\n`);
      return 2;
    } else paths.push(a);
  }
  if (!paths.length) {
    io.err(`pktpath: no scenario given\n${USAGE}\n`);
    return 2;
  }
  let scenarios: Scenario[];
  try {
    scenarios = collectFiles(paths).map((f) => loadScenario(f));
  } catch (e) {
    if (e instanceof ScenarioError) {
      io.err(`${e.line ? e.message : `${e.file}: ${e.detail}`}\n`);
      return 2;
    }
    throw e;
  }
  if (cmd === "check") return check(scenarios, json, io);
  if (kernel) {
    if (trace) io.err("pktpath: --trace: a real kernel leaves no trace of its own; running without it\n");
    return runKernel(scenarios, json, io);
  }
  const reports: ScenarioReport[] = [];
  let badInput: string | null = null;
  for (const s of scenarios) {
    let r: ScenarioReport;
    try {
      r = runScenario(s, { trace, layers: defaultLayers() });
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      badInput = e.message;
      break;
    }
    reports.push(r);
    if (!json) io.out(formatReport(r, trace) + "\n\n");
    if (r.error) {
      badInput = r.error;
      break;
    }
  }
  const passed = reports.reduce((n, r) => n + r.passed, 0);
  const failed = reports.reduce((n, r) => n + r.failed, 0);
  if (json) io.out(JSON.stringify(reports.map(jsonReport), null, 2) + "\n");
  if (badInput) {
    io.err(`${badInput}\n`);
    return 2;
  }
  if (!json) io.out(summaryLine(passed, failed) + "\n");
  return failed ? 1 : 0;
}

/** Real-kernel mode: the same report, the same output, the same exit status. */
function runKernel(scenarios: Scenario[], json: boolean, io: Io): number {
  const reports: KernelScenarioReport[] = [];
  let badInput: string | null = null;
  // Scenarios that need the VM run in as few boots as possible, ahead of the loop.
  prepareVmBatch(scenarios);
  for (const s of scenarios) {
    let r: KernelScenarioReport;
    try {
      r = runKernelScenario(s);
    } catch (e) {
      if (e instanceof KernelUnavailable) {
        io.err(`pktpath: ${e.message}\n`);
        return 2;
      }
      if (!(e instanceof ScenarioError)) throw e;
      badInput = e.message;
      break;
    }
    reports.push(r);
    if (!json) io.out(formatReport(r, false) + "\n\n");
    if (r.error) {
      badInput = r.error;
      break;
    }
  }
  const passed = reports.reduce((n, r) => n + r.passed, 0);
  const failed = reports.reduce((n, r) => n + r.failed, 0);
  const skipped = reports.filter((r) => r.skipped).length;
  if (json) io.out(JSON.stringify(reports.map(jsonReport), null, 2) + "\n");
  if (badInput) {
    io.err(`${badInput}\n`);
    return 2;
  }
  if (!json) {
    if (skipped) io.out(`skipped: ${skipped} scenario${skipped === 1 ? "" : "s"} (not run on this kernel, never counted as passed)\n`);
    io.out(summaryLine(passed, failed) + "\n");
  }
  return failed ? 1 : 0;
}

/** A side that refused the scenario before running it, as a report that stopped on line 1. */
function refused<T extends ScenarioReport>(base: T, message: string): T {
  return { ...base, error: message };
}

/** `pktpath check`: emulator and kernel side by side; exit 1 on any disagreement. */
function check(scenarios: Scenario[], json: boolean, io: Io): number {
  const started = Date.now();
  const comparisons: ScenarioComparison[] = [];
  let badInput: string | null = null;
  prepareVmBatch(scenarios);
  for (const s of scenarios) {
    const blank = { file: s.file, name: s.name, probes: [], passed: 0, failed: 0, notes: [], listings: [], error: null };
    let emu: ScenarioReport;
    let ker: KernelScenarioReport;
    let emuBad: string | null = null;
    let kerBad: string | null = null;
    try {
      emu = runScenario(s, { layers: defaultLayers() });
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      emuBad = e.message;
      emu = refused({ ...blank, mode: "emulator" }, e.message);
    }
    try {
      ker = runKernelScenario(s);
    } catch (e) {
      if (e instanceof KernelUnavailable) {
        io.err(`pktpath: ${e.message}\n`);
        return 2;
      }
      if (!(e instanceof ScenarioError)) throw e;
      kerBad = e.message;
      ker = refused({ ...blank, mode: "kernel", skipped: null, elapsedMs: 0 }, e.message);
    }
    // Real-kernel mode refused the scenario before running any of it (the emulator
    // refused a line, or the line is one it never runs): bad input, exit 2.
    if (kerBad) {
      badInput = kerBad;
      break;
    }
    const c = compareReports(emu, ker, { emulatorRefused: emuBad !== null, kernelRefused: kerBad !== null });
    comparisons.push(c);
    if (!json) io.out(formatCheck(c) + "\n\n");
    // Both sides refuse the same line: the scenario itself is bad (exit 2, stop).
    if ((emuBad || emu.error) && c.errorsAgree && !c.skipped) {
      badInput = emuBad ?? kerBad ?? emu.error;
      break;
    }
  }
  const agree = comparisons.reduce((n, c) => n + c.agreements, 0);
  const disagree = comparisons.reduce((n, c) => n + c.disagreements, 0);
  const passed = comparisons.reduce((n, c) => n + c.passed, 0);
  const failed = comparisons.reduce((n, c) => n + c.failed, 0);
  const failedExpect = comparisons.reduce((n, c) => n + c.failedExpectations, 0);
  const skipped = comparisons.filter((c) => c.skipped).length;
  if (json) io.out(JSON.stringify(comparisons, null, 2) + "\n");
  if (badInput) {
    io.err(`${badInput}\n`);
    return 2;
  }
  if (!json) {
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const expectNote = failedExpect ? `, ${failedExpect} agree but fail their expect:` : "";
    io.out(`check: ${agree} agree${expectNote}, ${disagree} disagree, ${skipped} scenario${skipped === 1 ? "" : "s"} skipped on the kernel side, ${secs} s\n`);
    io.out(summaryLine(passed, failed) + "\n");
  }
  return failed ? 1 : 0;
}

function jsonReport(r: ScenarioReport) {
  return {
    file: r.file,
    name: r.name,
    mode: r.mode,
    ...("skipped" in r && r.skipped ? { skipped: r.skipped } : {}),
    probes: r.probes.map((p) => ({
      line: p.line,
      command: p.command,
      netns: p.netns,
      outcome: p.outcome,
      server: p.server,
      client_ip: p.client_ip,
      expected: p.expected,
      pass: p.pass,
      ...(p.trace ? { trace: p.trace } : {}),
    })),
    passed: r.passed,
    failed: r.failed,
  };
}

const isEntry = process.argv[1] && /cli[/\\]main\.ts$/.test(process.argv[1]);
if (isEntry) process.exitCode = main(process.argv.slice(2));
