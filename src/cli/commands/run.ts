// `pktpath run`: scenarios in the emulator (or on a real kernel with --kernel), as text
// or JSON, with optional trace views, pcapng captures and HTML reports.
import { Option, type Command } from "commander";
import { runScenario, type ScenarioReport } from "../../scenario/run.ts";
import { ScenarioError, type Scenario } from "../../scenario/types.ts";
import { defaultLayers } from "../../layers.ts";
import { KernelUnavailable, prepareVmBatch, runKernelScenario } from "../../realkernel/runner.ts";
import type { KernelScenarioReport } from "../../realkernel/types.ts";
import { summaryLine, writeReport, type TraceView } from "../format.ts";
import { jsonReport } from "../json.ts";
import { LineWriter } from "../io.ts";
import { examples, loadAll, type CliCommand, type Ctx } from "../context.ts";
import { Artefacts } from "../artefacts.ts";
import { captureHost } from "../../report/topology.ts";

export interface RunOpts {
  kernel?: boolean;
  trace?: boolean;
  traceView?: string;
  json?: boolean;
  pcap?: string;
  html?: string;
  quiet?: boolean;
}

/** --trace and --trace=VIEW (main.ts turns the second into --trace-view VIEW). */
export function traceView(o: { trace?: boolean; traceView?: string }): TraceView {
  if (o.traceView === "brief") return "brief";
  if (o.traceView === "full" || o.trace) return "full";
  return "none";
}

export const traceOptions = (cmd: Command): Command =>
  cmd
    .option("--trace", "print every packet of every probe hop by hop; --trace=brief: only each probe's first packet and first reply (docs/trace.md)")
    .addOption(new Option("--trace-view <view>").choices(["full", "brief"]).hideHelp())
    .configureHelp({ optionTerm: (o) => (o.long === "--trace" ? "--trace[=brief]" : o.flags) });

export const runCommand: CliCommand = {
  name: "run",
  register(program, ctx) {
    const cmd = program
      .command("run")
      .summary("run scenarios in the emulator (or on a real kernel with --kernel)")
      .description(
        "Runs each scenario and prints one line per probe (file line, namespace, command, outcome, " +
          "expected, pass/FAIL, why), then `N passed, N failed` alone on the last line. " +
          "Exit status: 0 every expectation held, 1 one failed, 2 bad input (FILE:LINE: message).",
      )
      .argument("<path...>", "a scenario file (*.yaml) or a folder of them (searched recursively)")
      .option("--kernel", "run on a real kernel (namespaces on this machine, or the VM) instead of the emulator");
    traceOptions(cmd)
      .option("--json", "print an array with one object per scenario (docs/json.md); with --trace, the trace events too")
      .option("--pcap <dir>", "write one pcapng capture per scenario into DIR (every frame on every device)")
      .option("--html <dir>", "write one self-contained HTML report per scenario into DIR, plus index.html")
      .option("-q, --quiet", "no progress on stderr");
    examples(cmd, [
      "pktpath run scenarios/                      # every shipped scenario",
      "pktpath run --trace=brief scenarios/core/two-pod-bridge.yaml",
      "pktpath run --json --trace scenarios/ipvs/walkthrough.yaml > walk.json",
      "pktpath run --pcap out/ --html out/ scenarios/ipvs/walkthrough.yaml",
      "sudo pktpath run --kernel scenarios/core/",
    ]);
    cmd.action((paths: string[], o: RunOpts) => {
      ctx.code = run(paths, o, ctx);
    });
  },
};

function run(paths: string[], o: RunOpts, ctx: Ctx): number {
  const { io } = ctx;
  const view = traceView(o);
  if (o.kernel && (o.pcap || o.html)) {
    io.err(`pktpath: ${o.pcap ? "--pcap" : "--html"}: a real kernel leaves no trace of its own; use \`pktpath check --html DIR\` to see the kernel's outcomes beside the emulator's paths\n`);
    return 2;
  }
  const scenarios = loadAll(paths, io, ctx.progress(o.quiet));
  if (!scenarios) return 2;
  if (o.kernel) {
    if (view !== "none") io.err("pktpath: --trace: a real kernel leaves no trace of its own; running without it\n");
    return runKernel(scenarios, o, ctx);
  }
  const progress = ctx.progress(o.quiet);
  const w = new LineWriter(io.out);
  const artefacts = new Artefacts(o.pcap ?? null, o.html ?? null, "run");
  const needTrace = view !== "none" || artefacts.wanted;
  const reports: ScenarioReport[] = [];
  let passed = 0;
  let failed = 0;
  let badInput: string | null = null;
  for (const [i, s] of scenarios.entries()) {
    progress.update(`run [${i + 1}/${scenarios.length}] ${s.file}`);
    const cap = captureHost();
    let r: ScenarioReport;
    try {
      r = runScenario(s, { trace: needTrace, layers: [...defaultLayers(), cap.layer] });
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      badInput = e.message;
      break;
    }
    progress.clear();
    passed += r.passed;
    failed += r.failed;
    if (artefacts.wanted) artefacts.addRun(r, cap.host());
    if (o.json) reports.push(r);
    else {
      writeReport(r, view, (l) => w.line(l), ctx.colours);
      w.line("");
      w.flush();
    }
    if (r.error) {
      badInput = r.error;
      break;
    }
  }
  progress.clear();
  artefacts.finish();
  if (o.json) io.out(JSON.stringify(reports.map((r) => jsonReport(r, view)), null, 2) + "\n");
  if (badInput) {
    io.err(`${badInput}\n`);
    return 2;
  }
  if (!o.json) io.out(summaryLine(passed, failed) + "\n");
  return failed ? 1 : 0;
}

/** Real-kernel mode: the same report, the same output, the same exit status. */
function runKernel(scenarios: Scenario[], o: RunOpts, ctx: Ctx): number {
  const { io } = ctx;
  const progress = ctx.progress(o.quiet);
  const reports: KernelScenarioReport[] = [];
  let badInput: string | null = null;
  // Scenarios that need the VM run in as few boots as possible, ahead of the loop.
  progress.update(`kernel: preparing (booting the VM if a scenario needs it)`);
  prepareVmBatch(scenarios);
  for (const [i, s] of scenarios.entries()) {
    progress.update(`kernel [${i + 1}/${scenarios.length}] ${s.file}`);
    let r: KernelScenarioReport;
    try {
      r = runKernelScenario(s);
    } catch (e) {
      progress.clear();
      if (e instanceof KernelUnavailable) {
        io.err(`pktpath: ${e.message}\n`);
        return 2;
      }
      if (!(e instanceof ScenarioError)) throw e;
      badInput = e.message;
      break;
    }
    progress.clear();
    reports.push(r);
    if (!o.json) {
      const lines: string[] = [];
      writeReport(r, "none", (l) => lines.push(l), ctx.colours);
      io.out(lines.join("\n") + "\n\n");
    }
    if (r.error) {
      badInput = r.error;
      break;
    }
  }
  progress.clear();
  const passed = reports.reduce((n, r) => n + r.passed, 0);
  const failed = reports.reduce((n, r) => n + r.failed, 0);
  const skipped = reports.filter((r) => r.skipped).length;
  if (o.json) io.out(JSON.stringify(reports.map((r) => jsonReport(r)), null, 2) + "\n");
  if (badInput) {
    io.err(`${badInput}\n`);
    return 2;
  }
  if (!o.json) {
    if (skipped) io.out(`skipped: ${skipped} scenario${skipped === 1 ? "" : "s"} (not run on this kernel, never counted as passed)\n`);
    io.out(summaryLine(passed, failed) + "\n");
  }
  return failed ? 1 : 0;
}
