// No function in src/ is over 60 lines. Those over it when the rule came in are listed
// with their length then: a listed function may only shrink (lower its figure when it
// does, drop it once it is 60 or under); one that grows or a new long one fails.
import { describe, expect, it } from "vitest";
import { measureFunctions, type FunctionLength } from "./function-length.ts";

const MAX_LINES = 60;

/** file:function -> lines, as measured by ./function-length.ts. */
const ALLOWED: Record<string, number> = {
  "src/cli/commands/check.ts:check": 80,
  "src/dataplane/br_netfilter.ts:brNetfilterProvider": 76,
  "src/dataplane/tcp.ts:tcpStateProcess": 91,
  "src/netfilter/iptables/apply.ts:applyCommand": 74,
  "src/netfilter/iptables/index.ts:iptablesTool": 65,
  "src/netfilter/iptables/index.ts:iptablesTool/<anonymous>": 63,
  "src/netfilter/iptables/index.ts:iptablesTool/<anonymous>/<anonymous>": 62,
  "src/netfilter/walker.ts:doTable": 86,
  "src/nftables/apply.ts:applyCmd": 128,
  "src/nftables/runtime.ts:compileStmt": 204,
  "src/nftables/runtime.ts:getter": 139,
};

/** What is wrong with the measured lengths against the list (empty: nothing). */
export function lengthProblems(all: FunctionLength[], allowed: Record<string, number>, max = MAX_LINES): string[] {
  const problems: string[] = [];
  const long = new Map(all.filter((f) => f.lines > max).map((f) => [f.key, f.lines]));
  for (const [key, lines] of long) {
    const limit = allowed[key];
    if (limit === undefined) problems.push(`${key} is ${lines} lines (over ${max}): split it`);
    else if (lines > limit) problems.push(`${key} grew to ${lines} lines (listed at ${limit}): split it`);
    else if (lines < limit) problems.push(`${key} shrank to ${lines} lines: lower its figure in ALLOWED to ${lines}`);
  }
  for (const key of Object.keys(allowed)) if (!long.has(key)) problems.push(`${key} is no longer over ${max} lines (or was renamed): drop it from ALLOWED`);
  return problems;
}

describe("function length", () => {
  it("flags a new long function, one that grew, one that shrank and a stale entry", () => {
    const all = [
      { key: "a:new", lines: 61 },
      { key: "a:grew", lines: 80 },
      { key: "a:shrank", lines: 70 },
      { key: "a:same", lines: 90 },
      { key: "a:short", lines: 60 },
    ];
    const problems = lengthProblems(all, { "a:grew": 79, "a:shrank": 75, "a:same": 90, "a:short": 61, "a:gone": 100 });
    expect(problems).toEqual([
      "a:new is 61 lines (over 60): split it",
      "a:grew grew to 80 lines (listed at 79): split it",
      "a:shrank shrank to 70 lines: lower its figure in ALLOWED to 70",
      "a:short is no longer over 60 lines (or was renamed): drop it from ALLOWED",
      "a:gone is no longer over 60 lines (or was renamed): drop it from ALLOWED",
    ]);
  });

  it(`no function in src/ is over ${MAX_LINES} lines, but the listed ones, which may only shrink`, () => {
    const all = measureFunctions(process.cwd());
    // The measurer found the project's functions (a broken measurer must not pass as "none long").
    expect(all.length).toBeGreaterThan(1000);
    expect(all.find((f) => f.key === "src/netfilter/iptables/parse.ts:parseIptables")?.lines).toBeLessThanOrEqual(MAX_LINES);
    expect(lengthProblems(all, ALLOWED)).toEqual([]);
  }, 120_000);
});
