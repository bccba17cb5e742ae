// The JSON views (docs/json.md): one object per scenario, trace events when asked for.
import type { TraceEvent } from "../dataplane/trace.ts";
import type { ScenarioReport } from "../scenario/run.ts";
import { briefEvents } from "../report/paths.ts";
import type { TraceView } from "./format.ts";

/** A trace event as JSON (docs/trace.md): the frame copies stay out. */
export interface JsonTraceEvent {
  t: number;
  pkt: number;
  ns: string;
  dev: string | null;
  step: string;
  detail: string;
}

export function jsonTrace(events: TraceEvent[], view: TraceView): JsonTraceEvent[] {
  const chosen = view === "brief" ? briefEvents(events) : events;
  return chosen.map((e) => ({ t: e.t, pkt: e.pkt, ns: e.ns, dev: e.dev, step: e.step, detail: e.detail }));
}

export function jsonReport(r: ScenarioReport, view: TraceView = "none") {
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
      ...(view !== "none" && p.trace ? { trace: jsonTrace(p.trace, view) } : {}),
    })),
    passed: r.passed,
    failed: r.failed,
  };
}
