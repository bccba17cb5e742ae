// lc and wlc: vectors derived by hand from Linux 6.12.117 net/netfilter/ipvs/ip_vs_lc.c,
// ip_vs_wlc.c and include/net/ip_vs.h ip_vs_dest_conn_overhead() (identical in 6.1.192):
// overhead = (activeconns << 8) + totalconns, totalconns = active + inactive connections.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { destConnOverhead } from "../../../src/ipvs/schedulers/common.ts";
import { lc } from "../../../src/ipvs/schedulers/lc.ts";
import { wlc } from "../../../src/ipvs/schedulers/wlc.ts";
import type { IpvsDest } from "../../../src/ipvs/types.ts";
import { World, conns, mkDest, nameOf, overload } from "./world.ts";

describe("ip_vs_dest_conn_overhead", () => {
  it("is activeconns * 257 + inactconns", () => {
    const d = mkDest("A", 1);
    conns(d, 3, 5);
    expect(destConnOverhead(d)).toBe((3 << 8) + 3 + 5);
  });
});

describe("lc", () => {
  it("picks the least overhead; an active connection costs 257 inactive ones", () => {
    const a = mkDest("A", 1), b = mkDest("B", 1);
    const w = new World(lc).add(b, a); // list A B
    conns(a, 1, 0); // 257
    conns(b, 0, 256); // 256
    expect(nameOf(w.pick())).toBe("B");
    conns(b, 0, 257); // tie at 257: the first in list order
    expect(nameOf(w.pick())).toBe("A");
    conns(b, 0, 258);
    expect(nameOf(w.pick())).toBe("A");
  });

  it("ignores weights except 0 (quiesced), and skips overloaded dests", () => {
    const a = mkDest("A", 1), b = mkDest("B", 100), c = mkDest("C", 0);
    const w = new World(lc).add(a, b, c); // C B A
    conns(a, 0, 1);
    conns(b, 0, 2);
    expect(nameOf(w.pick())).toBe("A");
    overload(a);
    expect(nameOf(w.pick())).toBe("B");
    overload(b);
    expect(w.pick()).toBeNull();
  });
});

describe("wlc", () => {
  it("compares overhead / weight by cross-multiplying", () => {
    const a = mkDest("A", 1), b = mkDest("B", 3);
    const w = new World(wlc).add(b, a); // list A B
    conns(a, 1, 0); // 257 / 1
    conns(b, 2, 0); // 514 / 3: 257 * 3 > 514 * 1
    expect(nameOf(w.pick())).toBe("B");
    conns(b, 3, 0); // 771 / 3: 257 * 3 > 771 * 1 is false (a tie keeps the first)
    expect(nameOf(w.pick())).toBe("A");
  });

  it("all idle: the first available dest in list order (newest)", () => {
    const w = new World(wlc).add(mkDest("A", 1), mkDest("B", 5), mkDest("C", 2));
    expect(nameOf(w.pick())).toBe("C");
  });

  it("never picks weight 0 or overloaded", () => {
    const a = mkDest("A", 2), b = mkDest("B", 0), c = mkDest("C", 1);
    const w = new World(wlc).add(a, b, c); // C B A
    conns(c, 10, 0);
    conns(a, 10, 0);
    expect(nameOf(w.pick())).toBe("A");
    overload(a);
    expect(nameOf(w.pick())).toBe("C");
    overload(c);
    expect(w.pick()).toBeNull();
  });
});

const loads = fc.array(
  fc.record({
    weight: fc.integer({ min: 0, max: 20 }),
    active: fc.integer({ min: 0, max: 2000 }),
    inact: fc.integer({ min: 0, max: 5000 }),
    over: fc.boolean(),
  }),
  { minLength: 1, maxLength: 8 },
);

function build(sched: typeof lc, specs: { weight: number; active: number; inact: number; over: boolean }[]): { w: World; ds: IpvsDest[] } {
  const ds = specs.map((s, i) => mkDest(`d${i}`, s.weight));
  const w = new World(sched).add(...ds);
  specs.forEach((s, i) => {
    conns(ds[i]!, s.active, s.inact);
    overload(ds[i]!, s.over);
  });
  return { w, ds };
}

describe("least-overhead properties", () => {
  it("lc-least: lc returns an eligible dest of least overhead, the first such in list order", () => {
    fc.assert(
      fc.property(loads, (specs) => {
        const { w } = build(lc, specs);
        const eligible = w.svc.dests.filter((d) => d.weight > 0 && !specs[Number(nameOf(d)!.slice(1))]!.over);
        const got = w.pick();
        if (eligible.length === 0) return got === null;
        const min = Math.min(...eligible.map(destConnOverhead));
        return got === eligible.find((d) => destConnOverhead(d) === min);
      }),
      { seed: 7, numRuns: 500 },
    );
  });

  it("wlc-least: wlc returns an eligible dest of least overhead / weight, the first such in list order", () => {
    fc.assert(
      fc.property(loads, (specs) => {
        const { w } = build(wlc, specs);
        const eligible = w.svc.dests.filter((d) => d.weight > 0 && !specs[Number(nameOf(d)!.slice(1))]!.over);
        const got = w.pick();
        if (eligible.length === 0) return got === null;
        if (got === null || !eligible.includes(got)) return false;
        const better = (x: IpvsDest, y: IpvsDest): boolean => destConnOverhead(x) * y.weight < destConnOverhead(y) * x.weight;
        return eligible.every((d) => !better(d, got)) && eligible.slice(0, eligible.indexOf(got)).every((d) => better(got, d));
      }),
      { seed: 8, numRuns: 500 },
    );
  });
});
