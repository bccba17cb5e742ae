// Text views of scenario reports: one line per probe, the trace under it, and the
// closing "N passed, N failed" line.
import Table from "cli-table3";
import { formatTraceEvent } from "../dataplane/trace.ts";
import type { ScenarioReport } from "../scenario/run.ts";
import type { ScenarioComparison } from "../kernel/compare.ts";

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
  const skipped = "skipped" in r && typeof r.skipped === "string" ? r.skipped : null;
  if (skipped) out.push(`  skipped: ${skipped}`);
  for (const n of r.notes) out.push(`  note: ${n}`);
  // A new table after each break: cli-table3 keeps the column widths of its first
  // render, so a reused one would cut longer cells ("netns_…").
  const newTable = () => new Table({ chars: PLAIN, style: { head: [], border: [], "padding-left": 1, "padding-right": 0 }, head: ["line", "netns", "command", "outcome", "expected", "result", "why"] });
  let table = newTable();
  let rows = 0;
  const flush = () => {
    if (rows) out.push(table.toString());
    table = newTable();
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

function pair(e: string | null | undefined, k: string | null | undefined, kernelRan: boolean): string {
  const a = e ?? "-";
  if (!kernelRan) return a;
  const b = k ?? "-";
  return a === b ? a : `${a} | ${b}`;
}

/** `pktpath check`: one row per probe, emulator and kernel side by side, then the listings. */
export function formatCheck(c: ScenarioComparison): string {
  const out: string[] = [`== ${c.name} (${c.file}) [check: emulator | kernel]`];
  if (c.skipped) out.push(`  kernel: skipped: ${c.skipped}`);
  const ran = !c.skipped;
  const table = new Table({
    chars: PLAIN,
    style: { head: [], border: [], "padding-left": 1, "padding-right": 0 },
    head: ["line", "command", "emulator", "kernel", "server", "client address", "agree?"],
  });
  for (const p of c.probes) {
    const e = p.emulator;
    const k = p.kernel;
    table.push([
      String(p.line),
      p.command,
      e?.outcome ?? "-",
      ran ? (k?.outcome ?? "-") : "skipped",
      pair(e?.server, k?.server, ran),
      pair(e?.client_ip, k?.client_ip, ran),
      ran ? (p.agree ? (p.expectation === false ? `yes, both FAIL expect ${e?.expected ?? ""}` : "yes") : "NO") : "-",
    ]);
  }
  if (c.probes.length) out.push(table.toString());
  for (const l of c.listings) {
    out.push(`  $ ${l.command}   # line ${l.line}   ${l.agree ? "agree" : "DIFFERS (normalised; - emulator only, + kernel only)"}`);
    if (!l.agree) out.push(...l.diff.map((d) => `      ${d}`));
  }
  if (c.emulatorError) out.push(`  emulator stopped: ${c.emulatorError}`);
  if (c.kernelError) out.push(`  kernel stopped: ${c.kernelError}`);
  if (!c.errorsAgree) {
    out.push(`  the two stopped at different lines: DIFFERS${c.uncompared ? ` (${c.uncompared} probe and listing results after that line not compared)` : ""}`);
  }
  return out.join("\n");
}
