// The FIB kept in step with a namespace's routes (Fib.update) finds what a FIB built
// from scratch finds: longest prefix, local table first, lowest metric, and among equal
// metrics the route listed first.
import { describe, expect, it } from "vitest";
import { Fib } from "../../src/dataplane/fib.ts";
import { RT_TABLE_LOCAL, RT_TABLE_MAIN, type RouteConfig } from "../../src/config/types.ts";
import { parseIPv4 } from "../../src/wire/ipv4.ts";

function r(table: number, dst: string, plen: number, metric: number, dev: number): RouteConfig {
  return { table, type: table === RT_TABLE_LOCAL ? "local" : "unicast", dst: parseIPv4(dst)!, plen, dev, via: null, src: null, scope: "link", proto: "static", metric };
}

const probes = ["10.0.0.1", "10.0.1.7", "10.1.2.3", "192.168.0.1", "8.8.8.8"].map((a) => parseIPv4(a)!);
const answers = (f: Fib) => probes.map((a) => f.lookup(a));

describe("Fib.update", () => {
  const a = r(RT_TABLE_MAIN, "10.0.0.0", 16, 0, 1);
  const b = r(RT_TABLE_MAIN, "10.0.0.0", 16, 0, 2); // same prefix and metric: a, listed first, wins
  const c = r(RT_TABLE_MAIN, "10.0.0.0", 16, 5, 3);
  const d = r(RT_TABLE_MAIN, "10.0.1.0", 24, 0, 4);
  const e = r(RT_TABLE_MAIN, "0.0.0.0", 0, 0, 5);
  const l = r(RT_TABLE_LOCAL, "10.0.0.1", 32, 0, 6);

  it("ties of prefix and metric go to the route listed first, before and after the winner goes", () => {
    const f = new Fib([a, b, c]);
    expect(f.lookup(parseIPv4("10.0.5.5")!)).toBe(a);
    f.update([a, b, c], [b, c]);
    expect(f.lookup(parseIPv4("10.0.5.5")!)).toBe(b);
    f.update([b, c], [c]);
    expect(f.lookup(parseIPv4("10.0.5.5")!)).toBe(c);
    f.update([c], []);
    expect(f.lookup(parseIPv4("10.0.5.5")!)).toBe(null);
  });

  it("any sequence of pushes, removals and replacements answers as a fresh build", () => {
    const steps: RouteConfig[][] = [[], [e], [e, d], [e, d, b], [e, d, b, a], [l, e, d, b, a], [l, e, c, b, a], [l, c, b], [a, c, b, d], [d], []];
    const f = new Fib([]);
    let prev: RouteConfig[] = [];
    for (const next of steps) {
      f.update(prev, next);
      expect(answers(f)).toEqual(answers(new Fib(next)));
      expect(f.main.entries().length).toBe(new Fib(next).main.entries().length);
      prev = next;
    }
  });
});
