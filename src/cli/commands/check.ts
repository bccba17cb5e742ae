// `pktpath check`: each scenario on the emulator and on a real kernel, side by side.
import type { Command } from "commander";
import { runScenario, type ScenarioReport } from "../../scenario/run.ts";
import { ScenarioError, type Scenario } from "../../scenario/types.ts";
import { defaultLayers } from "../../layers.ts";
import { KernelUnavailable, prepareVmBatch, runKernelScenario } from "../../realkernel/runner.ts";
import { compareReports, type ScenarioComparison } from "../../realkernel/compare.ts";
import type { KernelScenarioReport } from "../../realkernel/types.ts";
import { summaryLine, writeCheck } from "../format.ts";
import { examples, loadAll, type CliCommand, type Ctx } from "../context.ts";
import { Artefacts } from "../artefacts.ts";
import { captureHost } from "../../report/topology.ts";

interface CheckOpts {
  json?: boolean;
  html?: string;
  quiet?: boolean;
}

/** A side that refused the scenario before running it, as a report that stopped on line 1. */
function refused<T extends ScenarioReport>(base: T, message: string): T {
  return { ...base, error: message };
}

export const checkCommand: CliCommand = {
  name: "check",
  register(program: Command, ctx: Ctx) {
    const cmd = program
      .command("check")
      .summary("run scenarios on the emulator and on a real kernel, and compare every verdict")
      .description(
        "Runs each scenario in the emulator and on a real kernel (fresh namespaces on this machine, " +
          "or a QEMU VM for IPVS and dummy links: `npm run kernel:setup` builds it) and prints, per " +
          "probe, both outcomes, the server, the client address, and whether they agree; listings are " +
          "compared after normalising what legitimately differs. Needs root. " +
          "Exit status: 0 all agree and every expect: holds, 1 a disagreement or a failed expect:, 2 bad input or no kernel backend.",
      )
      .argument("<path...>", "a scenario file (*.yaml) or a folder of them (searched recursively)")
      .option("--json", "print the comparisons as JSON (docs/json.md)")
      .option("--html <dir>", "write one HTML report per scenario (emulator paths, kernel outcomes beside them) plus index.html")
      .option("-q, --quiet", "no progress on stderr")
      // Accepted as before (the old parser took them for every command), without effect.
      .option("--kernel", "(implied)")
      .option("--trace", "(ignored: a real kernel leaves no trace)");
    for (const o of cmd.options) if (o.long === "--kernel" || o.long === "--trace") o.hideHelp();
    examples(cmd, ["sudo pktpath check scenarios/", "sudo pktpath check --html report/ scenarios/core/two-pod-bridge.yaml"]);
    cmd.action((paths: string[], o: CheckOpts) => {
      const scenarios = loadAll(paths, ctx.io, ctx.progress(o.quiet));
      ctx.code = scenarios ? check(scenarios, o, ctx) : 2;
    });
  },
};

function check(scenarios: Scenario[], o: CheckOpts, ctx: Ctx): number {
  const { io } = ctx;
  const progress = ctx.progress(o.quiet);
  const started = Date.now();
  const comparisons: ScenarioComparison[] = [];
  const artefacts = new Artefacts(null, o.html ?? null, "check");
  let badInput: string | null = null;
  progress.update(`check: preparing the kernel side (booting the VM if a scenario needs it; minutes under TCG)`);
  prepareVmBatch(scenarios);
  for (const [i, s] of scenarios.entries()) {
    const blank = { file: s.file, name: s.name, probes: [], passed: 0, failed: 0, notes: [], listings: [], error: null };
    let emu: ScenarioReport;
    let ker: KernelScenarioReport;
    let emuBad: string | null = null;
    let kerBad: string | null = null;
    progress.update(`check [${i + 1}/${scenarios.length}] ${s.file}: emulator`);
    const cap = captureHost();
    try {
      emu = runScenario(s, { trace: artefacts.wanted, layers: [...defaultLayers(), cap.layer] });
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      emuBad = e.message;
      emu = refused({ ...blank, mode: "emulator" }, e.message);
    }
    progress.update(`check [${i + 1}/${scenarios.length}] ${s.file}: kernel`);
    try {
      ker = runKernelScenario(s);
    } catch (e) {
      progress.clear();
      if (e instanceof KernelUnavailable) {
        io.err(`pktpath: ${e.message}\n`);
        return 2;
      }
      if (!(e instanceof ScenarioError)) throw e;
      kerBad = e.message;
      ker = refused({ ...blank, mode: "kernel", skipped: null, elapsedMs: 0 }, e.message);
    }
    progress.clear();
    // Real-kernel mode refused the scenario before running any of it (the emulator
    // refused a line, or the line is one it never runs): bad input, exit 2.
    if (kerBad) {
      badInput = kerBad;
      break;
    }
    const c = compareReports(emu, ker, { emulatorRefused: emuBad !== null, kernelRefused: kerBad !== null });
    comparisons.push(c);
    if (artefacts.wanted) artefacts.addCheck(c, emu, cap.host());
    if (!o.json) {
      const lines: string[] = [];
      writeCheck(c, (l) => lines.push(l), ctx.colours);
      io.out(lines.join("\n") + "\n\n");
    }
    // Both sides refuse the same line: the scenario itself is bad (exit 2, stop).
    if ((emuBad || emu.error) && c.errorsAgree && !c.skipped) {
      badInput = emuBad ?? kerBad ?? emu.error;
      break;
    }
  }
  progress.clear();
  artefacts.finish();
  const agree = comparisons.reduce((n, c) => n + c.agreements, 0);
  const disagree = comparisons.reduce((n, c) => n + c.disagreements, 0);
  const passed = comparisons.reduce((n, c) => n + c.passed, 0);
  const failed = comparisons.reduce((n, c) => n + c.failed, 0);
  const failedExpect = comparisons.reduce((n, c) => n + c.failedExpectations, 0);
  const skipped = comparisons.filter((c) => c.skipped).length;
  // The emulator's trace (kept for --html) stays out of the JSON, as without --html.
  if (o.json) io.out(JSON.stringify(comparisons, (k, v: unknown) => (k === "trace" ? undefined : v), 2) + "\n");
  if (badInput) {
    io.err(`${badInput}\n`);
    return 2;
  }
  if (!o.json) {
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const expectNote = failedExpect ? `, ${failedExpect} agree but fail their expect:` : "";
    io.out(`check: ${agree} agree${expectNote}, ${disagree} disagree, ${skipped} scenario${skipped === 1 ? "" : "s"} skipped on the kernel side, ${secs} s\n`);
    io.out(summaryLine(passed, failed) + "\n");
  }
  return failed ? 1 : 0;
}
