// lblcr: vectors derived by hand from Linux 6.12.117 net/netfilter/ipvs/ip_vs_lblcr.c (identical
// in 6.1.192): per destination address a set of dests (ip_vs_dest_set_min/max/insert/erase),
// a new member when the least loaded one is overloaded, the most loaded member dropped once
// the set has not changed for lblcr_expiration. Virtual time in ms stands in for jiffies.
import { describe, expect, it } from "vitest";
import { lblcr } from "../../../src/ipvs/schedulers/lblcr.ts";
import { World, conns, ip, mkDest, nameOf } from "./world.ts";

const X = ip("10.0.0.1");

describe("lblcr", () => {
  it("grows the set when its least loaded member is overloaded, then serves the set's least loaded", () => {
    const a = mkDest("A", 1), b = mkDest("B", 1);
    const w = new World(lblcr, 0, 0).add(a, b); // list B A
    w.svc.lblcrExpiration = 60_000;
    expect(nameOf(w.pick({ daddr: X, now: 0 }))).toBe("B"); // set {B}
    conns(b, 2, 0); // overloaded: 2 > 1 and A below half
    expect(nameOf(w.pick({ daddr: X, now: 1000 }))).toBe("A"); // set {A, B}, lastmod 1 s
    expect(nameOf(w.pick({ daddr: X, now: 2000 }))).toBe("A");
    conns(a, 1, 0);
    conns(b, 0, 0);
    expect(nameOf(w.pick({ daddr: X, now: 3000 }))).toBe("B"); // 257 vs 0 within the set
    // Not yet strictly after lastmod + expiration: both stay.
    expect(nameOf(w.pick({ daddr: X, now: 61_000 }))).toBe("B");
    conns(a, 0, 0);
    conns(b, 1, 0);
    expect(nameOf(w.pick({ daddr: X, now: 61_000 }))).toBe("A");
    // Past it: the most loaded member (B, 257) leaves; the least (A) is still returned.
    expect(nameOf(w.pick({ daddr: X, now: 61_001 }))).toBe("A");
    conns(a, 1, 0);
    conns(b, 0, 0);
    expect(nameOf(w.pick({ daddr: X, now: 62_000 }))).toBe("A"); // set {A} only: A, though B is idle
  });

  it("skips members that are quiesced, overloaded (flag) or deleted", () => {
    const a = mkDest("A", 1), b = mkDest("B", 1), c = mkDest("C", 1);
    const w = new World(lblcr).add(a, b, c); // list C B A
    expect(nameOf(w.pick({ daddr: X }))).toBe("C");
    w.edit(c, 0); // no usable member: the service's least loaded joins
    expect(nameOf(w.pick({ daddr: X }))).toBe("B"); // set {B, C}
    w.edit(c, 1);
    conns(b, 1, 0);
    expect(nameOf(w.pick({ daddr: X }))).toBe("C");
    w.del(c);
    expect(nameOf(w.pick({ daddr: X }))).toBe("B"); // C not available
  });

  it("no destination when the service has none to give", () => {
    const a = mkDest("A", 0);
    const w = new World(lblcr).add(a);
    expect(w.pick({ daddr: X })).toBeNull();
  });
});
