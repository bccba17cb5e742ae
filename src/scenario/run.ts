// Running a scenario in the emulator: every command through the host's tools, every
// probe checked against its expectation, results as data for the views in cli/.
import { Host, type ExecutedCommand, type Layer } from "../host.ts";
import { splitLine, ShellNotModelled, ShellSyntaxError } from "../tool/shell.ts";
import { shortenMessage } from "../config/errors.ts";
import { commandKind, isProbe, unwrap } from "../commands/vocabulary.ts";
import { ToolError, type ProbeRecord } from "../tool/tool.ts";
import type { ProbeResult } from "../dataplane/probe.ts";
import type { TraceEvent } from "../dataplane/trace.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import { ScenarioError, type CommandLine, type ExpectOutcome, type RunStep, type Scenario } from "./types.ts";

export interface ProbeReport {
  line: number;
  command: string;
  netns: string;
  outcome: string;
  server: string | null;
  client_ip: string | null;
  expected: string | null;
  pass: boolean | null;
  why: string | null;
  /** The client's own words for a failure. */
  error: string;
  trace?: TraceEvent[];
}

export interface ListingReport {
  line: number;
  command: string;
  output: string;
}

export interface ScenarioReport {
  file: string;
  name: string;
  mode: "emulator" | "kernel";
  probes: ProbeReport[];
  passed: number;
  failed: number;
  /** Commands accepted but not modelled, and other plain notes. */
  notes: string[];
  listings: ListingReport[];
  /** The first bad command, when the scenario stopped on one. */
  error: string | null;
}

/** Checks what can be checked before running: shell syntax and where expect may stand. */
export function validateScenario(s: Scenario, host: Host): void {
  for (const step of s.steps) {
    if (step.kind !== "run") continue;
    let probes = 0;
    let commands = 0;
    for (const cl of step.commands) {
      let cmds;
      try {
        cmds = splitLine(cl.text);
      } catch (e) {
        if (e instanceof ShellSyntaxError) throw new ScenarioError(s.file, cl.line, e instanceof ShellNotModelled ? e.message : `syntax error: ${e.message}`);
        throw e;
      }
      for (const c of cmds) {
        commands++;
        if (!c.piped && commandKind(c.argv, (n) => host.tool(n) !== undefined) === null) {
          throw new ScenarioError(s.file, cl.line, `${unwrap(c.argv).inner[0] ?? ""}: command not found`);
        }
        if (isProbe(c.argv)) probes++;
      }
    }
    if ((step.expect || step.repeat > 1) && (commands !== 1 || probes !== 1)) {
      throw new ScenarioError(s.file, step.line, `${step.expect ? "expect:" : "repeat:"} needs a run: of exactly one probe command (curl, wget, nc, ping)`);
    }
  }
}

function outcomeOf(r: ProbeResult): string {
  return r.outcome === "answered" ? (r.server ?? "answered") : r.outcome;
}

export function describeExpect(e: ExpectOutcome): string {
  if (e.server === null && e.clientIp === null) return e.outcome ?? "";
  const parts: string[] = [];
  if (e.server !== null) parts.push(`server: ${e.server}`);
  if (e.clientIp !== null) parts.push(`client_ip: ${e.clientIp}`);
  return `{${parts.join(", ")}}`;
}

export function checkExpect(e: ExpectOutcome, outcome: string, server: string | null, clientIp: string | null): boolean {
  if (e.outcome !== null && e.outcome !== outcome) return false;
  if (e.server !== null && e.server !== server) return false;
  if (e.clientIp !== null && e.clientIp !== clientIp) return false;
  return true;
}

/** A command of the scenario that the emulator ran and accepted, where it stands. */
export interface AcceptedCommand extends ExecutedCommand {
  line: number;
  /** Repetition index (repeat: N). */
  rep: number;
  /** The command line as written. */
  text: string;
  /** The step is a single command line (its output is a listing). */
  alone: boolean;
}

export interface RunOptions {
  trace?: boolean;
  /** The host's layers (src/layers.ts defaultLayers()); absent: the core tools alone. */
  layers?: Layer[];
  /** Told of each command the emulator accepted, in order (real-kernel mode plans from these). */
  accepted?: (c: AcceptedCommand) => void;
}

const OUTCOMES = new Set(["timeout", "refused", "unreachable", "reply"]);

/** The namespace an expectation names that the host does not have when the probe runs, or null. */
function unknownNamespace(exp: ExpectOutcome, host: Host): string | null {
  for (const name of [exp.outcome, exp.server]) {
    if (name !== null && !OUTCOMES.has(name) && host.config.netns[name] === undefined) return name;
  }
  return null;
}

export function runScenario(s: Scenario, options: RunOptions = {}): ScenarioReport {
  const host = new Host({ trace: options.trace ?? false, layers: options.layers });
  const report: ScenarioReport = { file: s.file, name: s.name, mode: "emulator", probes: [], passed: 0, failed: 0, notes: [], listings: [], error: null };
  validateScenario(s, host);
  const ran: ExecutedCommand[] = [];
  if (options.accepted) host.onCommand = (c) => ran.push(c);
  for (const step of s.steps) {
    if (step.kind === "advance") {
      host.advance(step.ms);
      continue;
    }
    for (const cl of step.commands) {
      for (let rep = 0; rep < step.repeat; rep++) {
        let outputs;
        try {
          outputs = host.exec(cl.text, "host", cl.stdin ?? null);
        } catch (e) {
          if (!(e instanceof ToolError)) throw e;
          // The first bad command stops the scenario: nothing after it runs.
          report.error = new ScenarioError(s.file, cl.line, e.message).message;
          return report;
        }
        for (const c of ran.splice(0)) options.accepted?.({ ...c, line: cl.line, rep, text: cl.text, alone: step.commands.length === 1 });
        for (const o of outputs) {
          if (o.notModelled) report.notes.push(`${s.file}:${cl.line}: not modelled (touches only files): ${shortenMessage(cl.text)}`);
          if (o.probe) {
            const pr = probeReport(s, host, step, cl, rep, o.probe);
            if (typeof pr === "string") {
              report.error = pr;
              return report;
            }
            if (pr.pass === true) report.passed++;
            if (pr.pass === false) report.failed++;
            if (options.trace) pr.trace = host.takeTrace();
            report.probes.push(pr);
          } else if (o.stdout && step.commands.length === 1) {
            report.listings.push({ line: cl.line, command: cl.text, output: o.stdout });
          }
        }
      }
      if (options.trace) host.takeTrace();
    }
  }
  return report;
}

/** One probe's report, or the bad-input error when its expect: is neither an outcome nor a namespace. */
function probeReport(s: Scenario, host: Host, step: RunStep, cl: CommandLine, rep: number, probe: ProbeRecord): ProbeReport | string {
  const r = probe.result;
  const outcome = outcomeOf(r);
  const server = r.outcome === "answered" ? r.server : null;
  const clientIp = r.clientIp !== null ? formatIPv4(r.clientIp) : null;
  const exp = step.expect ? step.expect[rep]! : null;
  const unknown = exp ? unknownNamespace(exp, host) : null;
  if (unknown !== null) {
    // A misspelt outcome (`refsued`) is bad input, not a failed probe.
    return new ScenarioError(s.file, cl.line, `expect: "${shortenMessage(unknown)}" is neither an outcome (timeout, refused, unreachable, reply) nor a namespace of this scenario`).message;
  }
  const pass = exp ? checkExpect(exp, outcome, server, clientIp) : null;
  return {
    line: cl.line,
    command: cl.text,
    netns: probe.ns,
    outcome,
    server,
    client_ip: clientIp,
    expected: exp ? describeExpect(exp) : null,
    pass,
    why: step.why,
    error: r.error,
  };
}
