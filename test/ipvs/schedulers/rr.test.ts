// rr: vectors derived by hand from Linux 6.12.117 net/netfilter/ipvs/ip_vs_rr.c
// (ip_vs_rr_init_svc, ip_vs_rr_del_dest, ip_vs_rr_schedule; identical in 6.1.192) with the list
// order of ip_vs_ctl.c __ip_vs_update_dest() (list_add_rcu: newest first).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rr } from "../../../src/ipvs/schedulers/rr.ts";
import { World, mkDest, nameOf, overload } from "./world.ts";

describe("rr", () => {
  it("walks the list newest first, starting from the head", () => {
    const w = new World(rr).add(mkDest("A", 1), mkDest("B", 1), mkDest("C", 1));
    expect(w.order()).toEqual(["C", "B", "A"]);
    expect(w.picks(7)).toEqual(["C", "B", "A", "C", "B", "A", "C"]);
  });

  it("keeps its cursor when a third dest is added (no add_dest hook)", () => {
    const w = new World(rr).add(mkDest("A", 1), mkDest("B", 1));
    expect(w.picks(3)).toEqual(["B", "A", "B"]);
    w.add(mkDest("C", 1)); // list: C B A, cursor still on B
    expect(w.picks(4)).toEqual(["A", "C", "B", "A"]);
  });

  it("moves a deleted cursor back to its predecessor", () => {
    const a = mkDest("A", 1), b = mkDest("B", 1), c = mkDest("C", 1);
    const w = new World(rr).add(a, b, c); // C B A
    expect(w.picks(2)).toEqual(["C", "B"]);
    w.del(b); // cursor -> C
    expect(w.picks(3)).toEqual(["A", "C", "A"]);
  });

  it("moves a deleted first-in-list cursor back to the head", () => {
    const d = mkDest("D", 1);
    const w = new World(rr).add(mkDest("A", 1), mkDest("B", 1), mkDest("C", 1), d); // D C B A
    expect(w.picks(1)).toEqual(["D"]);
    w.del(d); // cursor -> head
    expect(w.picks(4)).toEqual(["C", "B", "A", "C"]);
  });

  it("skips quiesced (weight 0) and overloaded dests, and tries the cursor itself last", () => {
    const a = mkDest("A", 1), b = mkDest("B", 0), c = mkDest("C", 1);
    const w = new World(rr).add(a, b, c); // C B A
    expect(w.picks(4)).toEqual(["C", "A", "C", "A"]);
    overload(c);
    expect(w.picks(2)).toEqual(["A", "A"]);
    overload(a);
    expect(w.pick()).toBeNull();
    overload(c, false);
    expect(w.picks(2)).toEqual(["C", "C"]);
  });

  it("gives nothing with no dests or only weight 0", () => {
    const w = new World(rr);
    expect(w.pick()).toBeNull();
    w.add(mkDest("A", 0));
    expect(w.pick()).toBeNull();
  });

  it("rr-cycle: any k consecutive picks are the k available dests", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ weight: fc.integer({ min: 0, max: 3 }), over: fc.boolean() }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 20 }),
        (specs, warm) => {
          const ds = specs.map((s, i) => mkDest(`d${i}`, s.weight));
          const w = new World(rr).add(...ds);
          specs.forEach((s, i) => overload(ds[i]!, s.over));
          const avail = ds.filter((d, i) => d.weight > 0 && !specs[i]!.over).map((d) => nameOf(d)!);
          w.picks(warm);
          const got = w.picks(avail.length * 2);
          if (avail.length === 0) return got.length === 0 && w.pick() === null;
          const first = got.slice(0, avail.length);
          return [...first].sort().join() === [...avail].sort().join() && got.slice(avail.length).join() === first.join();
        },
      ),
      { seed: 20240601, numRuns: 300 },
    );
  });
});
