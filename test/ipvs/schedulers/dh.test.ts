// dh: vectors derived from Linux 6.12.117 net/netfilter/ipvs/ip_vs_dh.c (identical in 6.1.192):
// ip_vs_dh_reassign() gives bucket i the (i mod n)-th dest in list order, weights aside;
// ip_vs_dh_hashkey() = hash_32(daddr, 8) (10.0.0.1 -> 39, 10.0.0.2 -> 137, ...).
import { describe, expect, it } from "vitest";
import { dh, dhHashKey } from "../../../src/ipvs/schedulers/dh.ts";
import { World, ip, mkDest, nameOf, overload } from "./world.ts";

const TARGETS = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"];

describe("dh", () => {
  it("hashes the destination address, one bucket per dest in turn", () => {
    expect(TARGETS.map((t) => dhHashKey(ip(t)))).toEqual([39, 137, 235, 77, 174, 16, 114, 212]);
    const w = new World(dh).add(mkDest("A", 1), mkDest("B", 5), mkDest("C", 1)); // C B A
    expect(TARGETS.map((t) => nameOf(w.pick({ daddr: ip(t) })))).toEqual(["C", "A", "B", "A", "C", "B", "C", "A"]);
    // The source plays no part.
    expect(nameOf(w.pick({ saddr: ip("1.2.3.4"), daddr: ip("10.0.0.3") }))).toBe("B");
  });

  it("no destination when the hashed dest is quiesced, overloaded or gone", () => {
    const a = mkDest("A", 1), b = mkDest("B", 1);
    const w = new World(dh).add(a, b); // B A
    expect(nameOf(w.pick({ daddr: ip("10.0.0.2") }))).toBe("A"); // bucket 137
    w.edit(a, 0);
    expect(w.pick({ daddr: ip("10.0.0.2") })).toBeNull();
    w.edit(a, 1);
    overload(a);
    expect(w.pick({ daddr: ip("10.0.0.2") })).toBeNull();
    overload(a, false);
    w.del(b); // one dest left: every bucket
    expect(nameOf(w.pick({ daddr: ip("10.0.0.1") }))).toBe("A");
    w.del(a);
    expect(w.pick({ daddr: ip("10.0.0.1") })).toBeNull();
  });
});
