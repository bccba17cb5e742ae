// fo and ovf: vectors derived by hand from Linux 6.12.117 net/netfilter/ipvs/ip_vs_fo.c and
// ip_vs_ovf.c (identical in 6.1.192).
import { describe, expect, it } from "vitest";
import { fo } from "../../../src/ipvs/schedulers/fo.ts";
import { ovf } from "../../../src/ipvs/schedulers/ovf.ts";
import { World, conns, mkDest, nameOf, overload } from "./world.ts";

describe("fo", () => {
  it("sends everything to the highest weight; the newest wins a tie", () => {
    const a = mkDest("A", 5), b = mkDest("B", 3), c = mkDest("C", 5);
    const w = new World(fo).add(a, b, c); // C B A
    expect(w.picks(3)).toEqual(["C", "C", "C"]);
    conns(c, 1000, 1000); // load plays no part
    expect(nameOf(w.pick())).toBe("C");
    overload(c);
    expect(nameOf(w.pick())).toBe("A");
    w.edit(a, 0);
    expect(nameOf(w.pick())).toBe("B");
    overload(b);
    expect(w.pick()).toBeNull();
  });
});

describe("ovf", () => {
  it("fills the highest weight up to its weight in active connections, then overflows", () => {
    const a = mkDest("A", 2), b = mkDest("B", 1);
    const w = new World(ovf).add(b, a); // A B
    expect(nameOf(w.pick())).toBe("A");
    conns(a, 2, 0); // active == weight: still A
    expect(nameOf(w.pick())).toBe("A");
    conns(a, 3, 0); // active > weight: overflow to B
    expect(nameOf(w.pick())).toBe("B");
    conns(b, 2, 0);
    expect(w.pick()).toBeNull();
  });

  it("the first in list order wins a tie; weight 0 and overloaded never", () => {
    const a = mkDest("A", 1), b = mkDest("B", 1), c = mkDest("C", 0);
    const w = new World(ovf).add(a, b, c); // C B A
    expect(nameOf(w.pick())).toBe("B");
    overload(b);
    expect(nameOf(w.pick())).toBe("A");
  });
});
