// sed and nq: vectors derived by hand from Linux 6.12.117 net/netfilter/ipvs/ip_vs_sed.c and
// ip_vs_nq.c (identical in 6.1.192): overhead = activeconns + 1, compared against weights by
// cross-multiplying; nq first takes any idle dest.
import { describe, expect, it } from "vitest";
import { nq } from "../../../src/ipvs/schedulers/nq.ts";
import { sed } from "../../../src/ipvs/schedulers/sed.ts";
import { World, conns, mkDest, nameOf, overload } from "./world.ts";

describe("sed", () => {
  it("minimises (active + 1) / weight, ignoring inactive connections", () => {
    const a = mkDest("A", 1), b = mkDest("B", 3);
    const w = new World(sed).add(b, a); // list A B
    // (0+1)/1 vs (0+1)/3: B
    expect(nameOf(w.pick())).toBe("B");
    conns(b, 2, 1000); // 3/3 vs 1/1: tie keeps A
    expect(nameOf(w.pick())).toBe("A");
    conns(a, 1, 0); // 2/1 vs 3/3: B
    expect(nameOf(w.pick())).toBe("B");
  });

  it("skips weight 0 and overloaded", () => {
    const a = mkDest("A", 1), b = mkDest("B", 0);
    const w = new World(sed).add(a, b);
    conns(a, 50, 0);
    expect(nameOf(w.pick())).toBe("A");
    overload(a);
    expect(w.pick()).toBeNull();
  });
});

describe("nq", () => {
  it("takes the first idle dest in list order, whatever the weights", () => {
    const a = mkDest("A", 1), b = mkDest("B", 10), c = mkDest("C", 5);
    const w = new World(nq).add(a, b, c); // C B A
    conns(c, 1, 0);
    conns(b, 2, 0);
    expect(nameOf(w.pick())).toBe("A"); // idle
    conns(a, 1, 0);
    // (1+1)/5 = 0.4, (2+1)/10 = 0.3, (1+1)/1 = 2: B
    expect(nameOf(w.pick())).toBe("B");
  });

  it("skips weight 0 even when idle, and overloaded", () => {
    const a = mkDest("A", 1), b = mkDest("B", 0);
    const w = new World(nq).add(a, b); // B A
    conns(a, 4, 0);
    expect(nameOf(w.pick())).toBe("A");
    overload(a);
    expect(w.pick()).toBeNull();
  });
});
