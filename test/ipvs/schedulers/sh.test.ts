// sh: vectors derived from Linux 6.12.117 net/netfilter/ipvs/ip_vs_sh.c (identical in 6.1.192):
// ip_vs_sh_reassign() fills 256 buckets walking the list, a dest holding `weight` consecutive
// buckets; ip_vs_sh_hashkey() = (offset + hash_32(port + addr, 8)) & 255 with
// hash_32(v, 8) = (v * 0x61C88647 mod 2^32) >> 24. Bucket numbers were worked out with an
// independent transcription of those functions (10.0.0.1 -> 39, 10.0.0.2 -> 137, ...).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IP_VS_SH_TAB_SIZE, sh, shHashKey } from "../../../src/ipvs/schedulers/sh.ts";
import { IP_VS_SVC_F_SCHED_SH_FALLBACK, IP_VS_SVC_F_SCHED_SH_PORT, type IpvsDest } from "../../../src/ipvs/types.ts";
import { World, ip, mkDest, nameOf, overload } from "./world.ts";

const CLIENTS = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"];

function picksOf(w: World, clients = CLIENTS, sport = 40000): (string | null)[] {
  return clients.map((c) => nameOf(w.pick({ saddr: ip(c), sport })));
}

describe("sh", () => {
  it("hashes with hash_32 of the host-order address", () => {
    expect(CLIENTS.map((c) => shHashKey(ip(c), 0, 0))).toEqual([39, 137, 235, 77, 174, 16, 114, 212]);
    expect(shHashKey(ip("10.0.0.1"), 12345, 0)).toBe(134);
  });

  it("equal weights: bucket i goes to the (i mod 3)-th dest, newest first", () => {
    const w = new World(sh).add(mkDest("A", 1), mkDest("B", 1), mkDest("C", 1)); // C B A
    expect(picksOf(w)).toEqual(["C", "A", "B", "A", "C", "B", "C", "A"]);
  });

  it("weights 3:1: B holds every fourth bucket", () => {
    const w = new World(sh).add(mkDest("A", 3), mkDest("B", 1)); // B A: buckets B A A A B A A A ...
    expect(picksOf(w)).toEqual(["A", "A", "A", "A", "A", "B", "A", "B"]);
  });

  it("spreads a range of sources in proportion to the weights", () => {
    const w = new World(sh).add(mkDest("A", 3), mkDest("B", 1));
    const count = { A: 0, B: 0 } as Record<string, number>;
    const base = ip("10.0.0.0");
    for (let i = 0; i < 65536; i++) count[nameOf(w.pick({ saddr: base + i }))!]!++;
    expect(count).toEqual({ A: 49152, B: 16384 });
  });

  it("weights summing past 256 are not proportional: the table fills in list order", () => {
    const w = new World(sh).add(mkDest("A", 200), mkDest("B", 100)); // B takes buckets 0-99, A the rest
    const buckets = (w.svc.schedData as { buckets: (IpvsDest | null)[] }).buckets;
    expect(buckets.length).toBe(IP_VS_SH_TAB_SIZE);
    expect(buckets.slice(0, 100).every((d) => nameOf(d) === "B")).toBe(true);
    expect(buckets.slice(100).every((d) => nameOf(d) === "A")).toBe(true);
    expect(nameOf(w.pick({ saddr: ip("10.0.0.6") }))).toBe("B"); // bucket 16
    expect(nameOf(w.pick({ saddr: ip("10.0.0.2") }))).toBe("A"); // bucket 137
  });

  it("sh-port adds the source port to the hashed value", () => {
    const w = new World(sh, IP_VS_SVC_F_SCHED_SH_PORT).add(mkDest("A", 1), mkDest("B", 1), mkDest("C", 1));
    const got = [1000, 1001, 1002, 1003].map((p) => nameOf(w.pick({ saddr: ip("10.0.0.1"), sport: p })));
    expect(got).toEqual(["B", "A", "B", "A"]); // buckets 31, 128, 226, 68
    // Not for ICMP: port 0.
    expect(nameOf(w.pick({ saddr: ip("10.0.0.1"), sport: 1000, proto: 1 }))).toBe("C");
  });

  it("without sh-fallback an unavailable hashed dest means no destination", () => {
    const c = mkDest("C", 1);
    const w = new World(sh).add(mkDest("A", 1), mkDest("B", 1), c);
    overload(c);
    expect(w.pick({ saddr: ip("10.0.0.1") })).toBeNull();
    overload(c, false);
    w.edit(c, 0); // quiesced: keeps one bucket in every three, answers none
    expect(w.pick({ saddr: ip("10.0.0.1") })).toBeNull();
  });

  it("sh-fallback rehashes with offsets ihash, ihash + 1, ...", () => {
    const c = mkDest("C", 1);
    const w = new World(sh, IP_VS_SVC_F_SCHED_SH_FALLBACK).add(mkDest("A", 1), mkDest("B", 1), c);
    overload(c);
    // ihash 39 -> C; offset 39: (39 + 39) & 255 = 78 -> C again; offset 40: 79 -> B
    expect(nameOf(w.pick({ saddr: ip("10.0.0.1") }))).toBe("B");
  });

  it("sh-stable: equal sources map to equal destinations while the dests do not change", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 40 }),
        (weights, sources) => {
          const w = new World(sh).add(...weights.map((x, i) => mkDest(`d${i}`, x)));
          const first = sources.map((s) => w.pick({ saddr: s }));
          const again = [...sources].reverse().map((s) => w.pick({ saddr: s })).reverse();
          return first.every((d, i) => d !== null && d === again[i]);
        },
      ),
      { seed: 99, numRuns: 200 },
    );
  });
});
