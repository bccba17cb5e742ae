// `pktpath check`: the emulator's report and the kernel's for one scenario, probe by
// probe (outcome, server, client address) and listing by listing (after normalise.ts).
import type { ProbeReport, ScenarioReport } from "../scenario/run.ts";
import { lineDiff, normaliseListing } from "./normalise.ts";
import type { KernelScenarioReport } from "./types.ts";

export interface ProbeComparison {
  line: number;
  command: string;
  emulator: ProbeReport | null;
  kernel: ProbeReport | null;
  agree: boolean;
  /** The step's expect: held on both sides (true), failed on either (false), or there is none (null). */
  expectation: boolean | null;
}

export interface ListingComparison {
  line: number;
  command: string;
  agree: boolean;
  /** Normalised line diff: "  both", "- emulator only", "+ kernel only". */
  diff: string[];
}

export interface ScenarioComparison {
  file: string;
  name: string;
  /** The kernel side did not run (needs the VM backend ...). */
  skipped: string | null;
  probes: ProbeComparison[];
  listings: ListingComparison[];
  /** Errors that stopped either side, as "FILE:LINE: message". */
  emulatorError: string | null;
  kernelError: string | null;
  /** Both sides stopped on the same line (or neither did). */
  errorsAgree: boolean;
  /** Probes and listings after one side stopped: shown by neither comparison. */
  uncompared: number;
  agreements: number;
  disagreements: number;
  /** Probes where the two agree but the expectation fails on both. */
  failedExpectations: number;
  /** What `check` counts: a probe passes when the two agree AND its expect: holds. */
  passed: number;
  failed: number;
}

export function probesAgree(e: ProbeReport, k: ProbeReport): boolean {
  // An expectation that leaves the server out ({client_ip: ...}) marks a random choice
  // (statistic, a scheduler's state): the two agree when both were answered, by anyone,
  // and saw the same client address.
  if (e.expected !== null && e.expected.startsWith("{") && !e.expected.includes("server:")) {
    const answered = (p: ProbeReport) => p.server !== null;
    return answered(e) === answered(k) && e.client_ip === k.client_ip && (answered(e) || e.outcome === k.outcome);
  }
  return e.outcome === k.outcome && e.server === k.server && e.client_ip === k.client_ip;
}

/** Pairs items by line and by their order among the items of that line (repeat: N). */
function pairByLine<T extends { line: number }>(a: T[], b: T[]): [number, T | null, T | null][] {
  const key = (xs: T[]) => {
    const seen = new Map<number, number>();
    return xs.map((x) => {
      const n = seen.get(x.line) ?? 0;
      seen.set(x.line, n + 1);
      return `${x.line}#${n}`;
    });
  };
  const ka = key(a);
  const kb = key(b);
  const out: [number, T | null, T | null][] = [];
  const inB = new Map(kb.map((k, i) => [k, b[i]!]));
  const used = new Set<string>();
  ka.forEach((k, i) => {
    out.push([a[i]!.line, a[i]!, inB.get(k) ?? null]);
    used.add(k);
  });
  kb.forEach((k, i) => {
    if (!used.has(k)) out.push([b[i]!.line, null, b[i]!]);
  });
  return out.sort((x, y) => x[0] - y[0]);
}

function errorLine(e: string | null): number | null {
  if (!e) return null;
  const m = /:(\d+): /.exec(e);
  return m ? Number(m[1]) : -1;
}

export interface CompareOptions {
  /** That side refused the scenario before running any of it (nothing to compare). */
  emulatorRefused?: boolean;
  kernelRefused?: boolean;
}

export function compareReports(emu: ScenarioReport, ker: KernelScenarioReport, options: CompareOptions = {}): ScenarioComparison {
  const c: ScenarioComparison = {
    file: emu.file,
    name: emu.name,
    skipped: ker.skipped,
    probes: [],
    listings: [],
    emulatorError: emu.error,
    kernelError: ker.error,
    errorsAgree: true,
    uncompared: 0,
    agreements: 0,
    disagreements: 0,
    failedExpectations: 0,
    passed: 0,
    failed: 0,
  };
  if (ker.skipped) {
    c.probes = emu.probes.map((p) => ({ line: p.line, command: p.command, emulator: p, kernel: null, agree: true, expectation: p.pass }));
    return c;
  }
  c.errorsAgree = errorLine(emu.error) === errorLine(ker.error) && !!options.emulatorRefused === !!options.kernelRefused;
  // Once one side stopped (at a bad command, or before running), what the other did
  // after that line has nothing to be compared with: the stop is the one disagreement.
  let cutoff = Infinity;
  if (!c.errorsAgree) {
    if (options.emulatorRefused || options.kernelRefused) cutoff = 0;
    else cutoff = Math.min(errorLine(emu.error) ?? Infinity, errorLine(ker.error) ?? Infinity);
  }
  const before = <T extends { line: number }>(xs: T[]) => xs.filter((x) => x.line < cutoff);
  c.uncompared = emu.probes.length + ker.probes.length + emu.listings.length + ker.listings.length;
  for (const [line, e, k] of pairByLine(before(emu.probes), before(ker.probes))) {
    const agree = e !== null && k !== null && probesAgree(e, k);
    const passes = [e?.pass, k?.pass].filter((x): x is boolean => typeof x === "boolean");
    const expectation = passes.length ? passes.every(Boolean) : null;
    c.probes.push({ line, command: (e ?? k)!.command, emulator: e, kernel: k, agree, expectation });
  }
  for (const [line, e, k] of pairByLine(before(emu.listings), before(ker.listings))) {
    const command = (e ?? k)!.command;
    const a = e ? normaliseListing(command, e.output) : [];
    const b = k ? normaliseListing(command, k.output) : [];
    const agree = e !== null && k !== null && a.join("\n") === b.join("\n");
    c.listings.push({ line, command, agree, diff: agree ? [] : lineDiff(a, b) });
  }
  c.uncompared -= before(emu.probes).length + before(ker.probes).length + before(emu.listings).length + before(ker.listings).length;
  for (const x of [...c.probes, ...c.listings]) {
    if (x.agree) c.agreements++;
    else c.disagreements++;
  }
  if (!c.errorsAgree) c.disagreements++;
  c.failedExpectations = c.probes.filter((p) => p.agree && p.expectation === false).length;
  c.passed = c.agreements - c.failedExpectations;
  c.failed = c.disagreements + c.failedExpectations;
  return c;
}
