// Text views of scenario reports: one line per probe, the trace under it, and the
// closing "N passed, N failed" line.
import Table from "cli-table3";
import { formatTraceEvent } from "../dataplane/trace.ts";
import type { ScenarioReport } from "../scenario/run.ts";

const PLAIN = {
  top: "", "top-mid": "", "top-left": "", "top-right": "",
  bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
  left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  ",
};

function verdict(pass: boolean | null): string {
  return pass === null ? "-" : pass ? "pass" : "FAIL";
}

export function formatReport(r: ScenarioReport, trace: boolean): string {
  const out: string[] = [`== ${r.name} (${r.file}) [${r.mode}]`];
  for (const n of r.notes) out.push(`  note: ${n}`);
  const table = new Table({ chars: PLAIN, style: { head: [], border: [], "padding-left": 1, "padding-right": 0 }, head: ["line", "netns", "command", "outcome", "expected", "result", "why"] });
  let rows = 0;
  const flush = () => {
    if (rows) out.push(table.toString());
    table.length = 0;
    rows = 0;
  };
  const listings = [...r.listings];
  for (const p of r.probes) {
    while (listings.length && listings[0]!.line < p.line) {
      flush();
      const l = listings.shift()!;
      out.push(`  $ ${l.command}   # line ${l.line}`, ...l.output.replace(/\n$/, "").split("\n").map((x) => `    ${x}`));
    }
    const outcome = p.client_ip && p.server ? `${p.outcome} (client ${p.client_ip})` : p.outcome;
    table.push([String(p.line), p.netns, p.command, outcome, p.expected ?? "-", verdict(p.pass), p.why ?? ""]);
    rows++;
    if (trace && p.trace) {
      flush();
      out.push(...p.trace.map((e) => `      ${formatTraceEvent(e)}`));
    }
  }
  flush();
  for (const l of listings) out.push(`  $ ${l.command}   # line ${l.line}`, ...l.output.replace(/\n$/, "").split("\n").map((x) => `    ${x}`));
  if (r.error) out.push(`  error: ${r.error}`);
  return out.join("\n");
}

export function summaryLine(passed: number, failed: number): string {
  return `${passed} passed, ${failed} failed`;
}
