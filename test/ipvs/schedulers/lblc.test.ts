// lblc: vectors derived by hand from Linux 6.12.117 net/netfilter/ipvs/ip_vs_lblc.c (identical
// in 6.1.192, including the 1.5 * max_size cap on entries): the cache by destination address,
// is_overloaded(), __ip_vs_lblc_schedule() (wlc over the service) and the GC timer
// (every 60 s; every 30th run a full check dropping entries unused for lblc_expiration).
// Virtual time in ms stands in for jiffies.
import { describe, expect, it } from "vitest";
import { lblc } from "../../../src/ipvs/schedulers/lblc.ts";
import { World, conns, ip, mkDest, nameOf } from "./world.ts";

const X = ip("10.0.0.1");
const Y = ip("10.0.0.2");

function twoDests(weight = 1, svcNow?: number): { w: World; a: ReturnType<typeof mkDest>; b: ReturnType<typeof mkDest> } {
  const a = mkDest("A", weight), b = mkDest("B", weight);
  return { w: new World(lblc, 0, svcNow).add(a, b), a, b }; // list B A
}

describe("lblc", () => {
  it("keeps a destination address on its dest while that dest is not overloaded", () => {
    const { w, b } = twoDests();
    expect(nameOf(w.pick({ daddr: X }))).toBe("B"); // all idle: the first
    conns(b, 1, 0); // B busier, but 1 active <= weight 1
    expect(nameOf(w.pick({ daddr: X }))).toBe("B");
    expect(nameOf(w.pick({ daddr: Y }))).toBe("A"); // a new address: least loaded
  });

  it("moves the address when its dest has more active connections than weight and another is below half", () => {
    const { w, a, b } = twoDests();
    expect(nameOf(w.pick({ daddr: X }))).toBe("B");
    conns(b, 2, 0); // 2 > 1, and A: 0 * 2 < 1
    expect(nameOf(w.pick({ daddr: X }))).toBe("A");
    conns(a, 2, 0);
    conns(b, 0, 0);
    expect(nameOf(w.pick({ daddr: X }))).toBe("B");
    conns(b, 2, 0); // both over weight, none below half: B stays
    expect(nameOf(w.pick({ daddr: X }))).toBe("B");
  });

  it("moves the address when its dest is quiesced or deleted", () => {
    const { w, a, b } = twoDests();
    expect(nameOf(w.pick({ daddr: X }))).toBe("B");
    w.edit(b, 0);
    expect(nameOf(w.pick({ daddr: X }))).toBe("A");
    w.edit(b, 1);
    conns(b, 0, 0);
    conns(a, 1, 0);
    expect(nameOf(w.pick({ daddr: X }))).toBe("A"); // cached again
    w.del(a);
    expect(nameOf(w.pick({ daddr: X }))).toBe("B");
  });

  it("forgets an address unused for 24 h at the next full check (every 30 min from init)", () => {
    // Entry made at t = 1 s; full checks at multiples of 1800 s; 86400 s after 1 s falls
    // between the 48th (86400 s) and the 49th (88200 s).
    const at = (t: number): string | null => {
      const { w, b } = twoDests(10, 0);
      expect(nameOf(w.pick({ daddr: X, now: 1000 }))).toBe("B");
      conns(b, 5, 0); // busier than A but not overloaded: only the cache keeps X on B
      return nameOf(w.pick({ daddr: X, now: t }));
    };
    expect(at(88_199_999)).toBe("B");
    expect(at(88_200_000)).toBe("A");
  });

  it("takes lblc_expiration from the namespace, and never expires without a clock", () => {
    const { w, b } = twoDests(10, 0);
    w.svc.lblcExpiration = 60_000;
    expect(nameOf(w.pick({ daddr: X, now: 1000 }))).toBe("B");
    conns(b, 5, 0);
    expect(nameOf(w.pick({ daddr: X, now: 1_799_999 }))).toBe("B"); // refreshed: lastuse 1 799 999
    expect(nameOf(w.pick({ daddr: X, now: 3_599_999 }))).toBe("B"); // full check at 1800 s: 1 799 999 + 60 s > 1800 s
    expect(nameOf(w.pick({ daddr: X, now: 5_400_000 }))).toBe("A"); // kept at 3600 s, dropped at 5400 s
    // Without `now` the clock stands still: no timer runs, nothing expires.
    const frozen = twoDests(10);
    expect(nameOf(frozen.w.pick({ daddr: X }))).toBe("B");
    conns(frozen.b, 5, 0);
    expect(nameOf(frozen.w.pick({ daddr: X }))).toBe("B");
  });

  it("caches at most 1.5 * max_size (24576) addresses", () => {
    const { w, b } = twoDests();
    const base = ip("10.2.0.0");
    for (let i = 0; i < 24576; i++) w.pick({ daddr: base + i });
    const z = base + 24576;
    expect(nameOf(w.pick({ daddr: z }))).toBe("B"); // scheduled, not cached
    conns(b, 1, 0);
    expect(nameOf(w.pick({ daddr: z }))).toBe("A");
    expect(nameOf(w.pick({ daddr: base }))).toBe("B"); // cached
  });

  it("no destination when every dest is quiesced or overloaded", () => {
    const { w, a, b } = twoDests();
    w.edit(a, 0).edit(b, 0);
    expect(w.pick({ daddr: X })).toBeNull();
  });
});
