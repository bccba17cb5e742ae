// wrr: vectors derived by hand from Linux 6.12.117 net/netfilter/ipvs/ip_vs_wrr.c
// (ip_vs_wrr_init_svc, ip_vs_wrr_dest_changed, ip_vs_wrr_schedule; identical in 6.1.192),
// with dests added one by one at the list head as ip_vs_ctl.c __ip_vs_update_dest() does.
// The sequences were also checked against a literal linked-list transcription of the C code
// over random add/delete/edit/overload runs.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { gcd } from "../../../src/ipvs/schedulers/common.ts";
import { wrr } from "../../../src/ipvs/schedulers/wrr.ts";
import type { IpvsService } from "../../../src/ipvs/types.ts";
import { World, mkDest, nameOf, overload } from "./world.ts";

describe("wrr", () => {
  it("3:1 added one by one: cw starts at 1 (set when A alone had di = 3), then cycles from 3", () => {
    // init: di 1, mw 0, cw 0. add A(3): di 3, mw 1, cw 0 -> 1. add B(1): di 1, mw 3, cw stays 1.
    const w = new World(wrr).add(mkDest("A", 3), mkDest("B", 1));
    expect(w.order()).toEqual(["B", "A"]);
    expect(w.picks(10)).toEqual(["B", "A", "A", "A", "B", "A", "A", "A", "B", "A"]);
  });

  it("3:1 bound at once (scheduler edited onto an existing list): cw starts at mw = 3", () => {
    const svc: IpvsService = new World(wrr).svc;
    svc.dests = [mkDest("B", 1), mkDest("A", 3)];
    wrr.initService!(svc, 0);
    const out: (string | null)[] = [];
    for (let i = 0; i < 8; i++) out.push(nameOf(wrr.schedule(svc, { saddr: 1, daddr: 2, sport: 3, dport: 80, proto: 6, pkt: null, now: 0 })));
    expect(out).toEqual(["A", "A", "B", "A", "A", "A", "B", "A"]);
  });

  it("4:2 steps cw by the gcd", () => {
    // add A(4): di 4, mw 1, cw 1. add B(2): di 2, mw 3, cw (1/2)*2+1 = 1.
    const w = new World(wrr).add(mkDest("A", 4), mkDest("B", 2));
    expect(w.picks(9)).toEqual(["B", "A", "A", "B", "A", "A", "B", "A", "A"]);
  });

  it("an edit restarts from the head with cw realigned", () => {
    const b = mkDest("B", 1);
    const w = new World(wrr).add(mkDest("A", 3), b);
    expect(w.picks(3)).toEqual(["B", "A", "A"]); // cw now 3
    // B -> 3: di 3, mw 1, cw 3 > mw -> 1; from the head
    w.edit(b, 3);
    expect(w.picks(4)).toEqual(["B", "A", "B", "A"]);
  });

  it("a third dest added mid-cycle", () => {
    const w = new World(wrr).add(mkDest("A", 2), mkDest("B", 1));
    // add A(2): di 2, mw 1, cw 1. add B(1): di 1, mw 2, cw 1.
    expect(w.picks(3)).toEqual(["B", "A", "A"]); // the last at cw 2
    w.add(mkDest("C", 2)); // list C B A; di 1, mw 2, cw 2 kept; from the head
    expect(w.picks(10)).toEqual(["C", "A", "C", "B", "A", "C", "A", "C", "B", "A"]);
  });

  it("never picks a quiesced dest; skips an overloaded one; null when all are", () => {
    const a = mkDest("A", 2), b = mkDest("B", 0), c = mkDest("C", 1);
    const w = new World(wrr).add(a, b, c); // C B A
    const seq = w.picks(12);
    expect(seq).not.toContain("B");
    expect(seq.filter((x) => x === "A").length).toBe(8);
    overload(a);
    expect(w.picks(3)).toEqual(["C", "C", "C"]);
    overload(c);
    expect(w.pick()).toBeNull();
    overload(a, false);
    expect(w.picks(2)).toEqual(["A", "A"]);
  });

  it("gives nothing when every weight is 0", () => {
    const w = new World(wrr).add(mkDest("A", 0), mkDest("B", 0));
    expect(w.pick()).toBeNull();
  });

  it("wrr-cycle: over sum(weights) consecutive picks each dest gets exactly its weight", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 40 }),
        (weights, warm) => {
          fc.pre(weights.some((x) => x > 0));
          const ds = weights.map((x, i) => mkDest(`d${i}`, x));
          const w = new World(wrr).add(...ds);
          w.picks(warm);
          const g = weights.filter((x) => x > 0).reduce((a, b) => gcd(a, b));
          const cycle = weights.reduce((a, b) => a + b, 0) / g;
          // One cw cycle gives weight / gcd each; sum(weights) picks are gcd cycles.
          for (const len of [cycle, cycle * g]) {
            const got = w.picks(len);
            for (let i = 0; i < ds.length; i++) {
              const n = got.filter((x) => x === nameOf(ds[i]!)).length;
              if (n !== (weights[i]! * len) / (cycle * g)) return false;
            }
          }
          return true;
        },
      ),
      { seed: 424242, numRuns: 300 },
    );
  });
});
