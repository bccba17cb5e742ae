// Text views of scenario reports: one line per probe, the trace under it, and the
// closing "N passed, N failed" line. Rows are aligned per run of rows between
// listings and traces (as the cli-table3 tables did), in one linear pass: 100k probes
// cost what their JSON costs.
import { formatTraceEvent, type TraceEvent } from "../dataplane/trace.ts";
import type { ScenarioReport } from "../scenario/run.ts";
import type { ScenarioComparison } from "../realkernel/compare.ts";
import { briefEvents } from "../report/paths.ts";
import type { Colours } from "./io.ts";

export type TraceView = "none" | "full" | "brief";

const NO_COLOURS: Colours = { pass: (s) => s, fail: (s) => s, dim: (s) => s, bold: (s) => s };

function verdict(pass: boolean | null): string {
  return pass === null ? "-" : pass ? "pass" : "FAIL";
}

/**
 * Rows of one aligned block: each cell is " " + text padded to its column's widest
 * text, cells joined by two spaces (cli-table3 with the plain border set); a cell with
 * newlines makes a row of several lines. `paint` colours a padded cell (never its width).
 */
export class Block {
  private rows: string[][] = [];
  private widths: number[];
  constructor(
    private readonly head: string[],
    private readonly paint: (col: number, text: string, padded: string) => string = (_c, _t, p) => p,
  ) {
    this.widths = head.map((h) => h.length);
  }

  get size(): number {
    return this.rows.length;
  }

  push(cells: string[]): void {
    this.rows.push(cells);
    for (let i = 0; i < cells.length; i++) {
      for (const part of cells[i]!.split("\n")) if (part.length > this.widths[i]!) this.widths[i] = part.length;
    }
  }

  /** Writes the header and the rows, then starts empty (widths from the next rows only). */
  flush(line: (s: string) => void): void {
    if (!this.rows.length) return;
    this.emit(this.head, line, true);
    for (const r of this.rows) this.emit(r, line, false);
    this.rows = [];
    this.widths = this.head.map((h) => h.length);
  }

  private emit(cells: string[], line: (s: string) => void, head: boolean): void {
    const parts = cells.map((c) => c.split("\n"));
    const height = Math.max(...parts.map((p) => p.length));
    for (let k = 0; k < height; k++) {
      const out: string[] = [];
      for (let i = 0; i < cells.length; i++) {
        const text = parts[i]![k] ?? "";
        const padded = " " + text.padEnd(this.widths[i]!);
        out.push(head ? padded : this.paint(i, text, padded));
      }
      line(out.join("  "));
    }
  }
}

function traceLines(events: TraceEvent[], view: TraceView): TraceEvent[] {
  return view === "brief" ? briefEvents(events) : events;
}

/** The text report of one scenario, line by line into `line`. */
export function writeReport(r: ScenarioReport, view: TraceView, line: (s: string) => void, c: Colours = NO_COLOURS): void {
  line(c.bold(`== ${r.name} (${r.file}) [${r.mode}]`));
  const skipped = "skipped" in r && typeof r.skipped === "string" ? r.skipped : null;
  if (skipped) line(`  skipped: ${skipped}`);
  for (const n of r.notes) line(`  note: ${n}`);
  const block = new Block(["line", "netns", "command", "outcome", "expected", "result", "why"], (col, text, padded) =>
    col !== 5 ? padded : text === "pass" ? c.pass(padded) : text === "FAIL" ? c.fail(padded) : padded,
  );
  const flush = () => block.flush(line);
  const listing = (l: { line: number; command: string; output: string }) => {
    line(`  $ ${l.command}   # line ${l.line}`);
    for (const x of l.output.replace(/\n$/, "").split("\n")) line(`    ${x}`);
  };
  const listings = r.listings;
  let li = 0;
  for (const p of r.probes) {
    while (li < listings.length && listings[li]!.line < p.line) {
      flush();
      listing(listings[li++]!);
    }
    const outcome = p.client_ip && p.server ? `${p.outcome} (client ${p.client_ip})` : p.outcome;
    block.push([String(p.line), p.netns, p.command, outcome, p.expected ?? "-", verdict(p.pass), p.why ?? ""]);
    if (view !== "none" && p.trace) {
      flush();
      for (const e of traceLines(p.trace, view)) line(c.dim(`      ${formatTraceEvent(e)}`));
    }
  }
  flush();
  for (; li < listings.length; li++) listing(listings[li]!);
  if (r.error) line(`  error: ${r.error}`);
}

export function formatReport(r: ScenarioReport, trace: boolean | TraceView): string {
  const out: string[] = [];
  writeReport(r, trace === true ? "full" : trace === false ? "none" : trace, (s) => out.push(s));
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
export function writeCheck(cmp: ScenarioComparison, line: (s: string) => void, c: Colours = NO_COLOURS): void {
  line(c.bold(`== ${cmp.name} (${cmp.file}) [check: emulator | kernel]`));
  if (cmp.skipped) line(`  kernel: skipped: ${cmp.skipped}`);
  const ran = !cmp.skipped;
  const block = new Block(["line", "command", "emulator", "kernel", "server", "client address", "agree?"], (col, text, padded) =>
    col !== 6 ? padded : text === "yes" ? c.pass(padded) : text === "NO" ? c.fail(padded) : padded,
  );
  for (const p of cmp.probes) {
    const e = p.emulator;
    const k = p.kernel;
    block.push([
      String(p.line),
      p.command,
      e?.outcome ?? "-",
      ran ? (k?.outcome ?? "-") : "skipped",
      pair(e?.server, k?.server, ran),
      pair(e?.client_ip, k?.client_ip, ran),
      ran ? (p.agree ? (p.expectation === false ? `yes, both FAIL expect ${e?.expected ?? ""}` : "yes") : "NO") : "-",
    ]);
  }
  block.flush(line);
  for (const l of cmp.listings) {
    line(`  $ ${l.command}   # line ${l.line}   ${l.agree ? "agree" : "DIFFERS (normalised; - emulator only, + kernel only)"}`);
    if (!l.agree) for (const d of l.diff) line(`      ${d}`);
  }
  if (cmp.emulatorError) line(`  emulator stopped: ${cmp.emulatorError}`);
  if (cmp.kernelError) line(`  kernel stopped: ${cmp.kernelError}`);
  if (!cmp.errorsAgree) {
    line(`  the two stopped at different lines: DIFFERS${cmp.uncompared ? ` (${cmp.uncompared} probe and listing results after that line not compared)` : ""}`);
  }
}

export function formatCheck(cmp: ScenarioComparison): string {
  const out: string[] = [];
  writeCheck(cmp, (s) => out.push(s));
  return out.join("\n");
}
