// pktpath's command line: run scenarios (emulator, or later a real kernel), print
// results as text or JSON, exit 0 / 1 / 2 as ../shared/SCENARIOS.md says.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadScenario } from "../scenario/load.ts";
import { runScenario, type ScenarioReport } from "../scenario/run.ts";
import { ScenarioError, type Scenario } from "../scenario/types.ts";
import { defaultLayers } from "../layers.ts";
import { formatReport, summaryLine } from "./format.ts";

const USAGE = `usage: pktpath run [--kernel] [--trace] [--json] PATH...
       pktpath check PATH...
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
  if (kernel) {
    io.err("pktpath: real-kernel mode (--kernel, check) is not built yet; see issue [kernel]. Run the emulator with `pktpath run PATH`.\n");
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

function jsonReport(r: ScenarioReport) {
  return {
    file: r.file,
    name: r.name,
    mode: r.mode,
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
