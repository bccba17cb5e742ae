// mh: vectors derived from Linux 6.12.117 net/netfilter/ipvs/ip_vs_mh.c and lib/siphash.c
// (identical in 6.1.192), for a 64-bit kernel and the default CONFIG_IP_VS_MH_TAB_INDEX 12
// (table of 4093). The hash keys are the fixed ones of generate_hash_secret(). The expected
// picks and slot counts come from an independent transcription of ip_vs_mh_permutate(),
// ip_vs_mh_populate() and hsiphash (Python integers), checked slot by slot against ours.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hsiphash1u32, type HsiphashKey } from "../../../src/ipvs/schedulers/hsiphash.ts";
import { IP_VS_MH_TAB_SIZE, mh } from "../../../src/ipvs/schedulers/mh.ts";
import { IP_VS_SVC_F_SCHED_MH_FALLBACK, IP_VS_SVC_F_SCHED_MH_PORT, type IpvsDest } from "../../../src/ipvs/types.ts";
import { World, ip, mkDest, nameOf, overload } from "./world.ts";

const CLIENTS = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"];

function picksOf(w: World, sport = 40000): (string | null)[] {
  return CLIENTS.map((c) => nameOf(w.pick({ saddr: ip(c), sport })));
}

/** How many lookup slots each dest holds, counted through a sweep that covers every slot. */
function slots(w: World): Record<string, number> {
  const table = (w.svc.schedData as { lookup: (IpvsDest | null)[] }).lookup;
  expect(table.length).toBe(IP_VS_MH_TAB_SIZE);
  const out: Record<string, number> = {};
  for (const d of table) if (d) out[nameOf(d)!] = (out[nameOf(d)!] ?? 0) + 1;
  return out;
}

// A straight BigInt SipHash-1-3 (64-bit words) for one u32, from lib/siphash.c.
function refHsiphash(data: number, k0: bigint, k1: bigint): number {
  const M = (1n << 64n) - 1n;
  const rol = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M;
  let v0 = 0x736f6d6570736575n ^ k0, v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0, v3 = 0x7465646279746573n ^ k1;
  const round = (): void => {
    v0 = (v0 + v1) & M; v1 = rol(v1, 13n); v1 ^= v0; v0 = rol(v0, 32n);
    v2 = (v2 + v3) & M; v3 = rol(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & M; v3 = rol(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & M; v1 = rol(v1, 17n); v1 ^= v2; v2 = rol(v2, 32n);
  };
  const b = (4n << 56n) | BigInt(data >>> 0);
  v3 ^= b; round(); v0 ^= b; v2 ^= 0xffn; round(); round(); round();
  return Number((v0 ^ v1 ^ v2 ^ v3) & 0xffffffffn);
}

describe("hsiphash (64-bit kernel)", () => {
  it("matches lib/siphash_kunit.c: test_vectors_hsiphash[4] for bytes 00 01 02 03", () => {
    const key: HsiphashKey = { k0h: 0x07060504, k0l: 0x03020100, k1h: 0x0f0e0d0c, k1l: 0x0b0a0908 };
    expect(hsiphash1u32(0x03020100, key)).toBe(0x88d38328);
  });

  it("matches a BigInt SipHash-1-3 for any u32 and key", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (x, k0, k1) => {
        const key: HsiphashKey = { k0h: Number(k0 >> 32n), k0l: Number(k0 & 0xffffffffn), k1h: Number(k1 >> 32n), k1l: Number(k1 & 0xffffffffn) };
        return hsiphash1u32(x, key) === refHsiphash(x, k0, k1);
      }),
      { seed: 5, numRuns: 300 },
    );
  });
});

describe("mh", () => {
  it("equal weights: the 4093 slots split 1365/1364/1364, and these picks", () => {
    const w = new World(mh).add(mkDest("A", 1, "10.1.0.1"), mkDest("B", 1, "10.1.0.2"), mkDest("C", 1, "10.1.0.3")); // C B A
    expect(slots(w)).toEqual({ C: 1365, B: 1364, A: 1364 });
    expect(picksOf(w)).toEqual(["A", "B", "C", "B", "B", "C", "C", "B"]);
  });

  it("weights 3:1 take turns 3:1 in the fill", () => {
    const w = new World(mh).add(mkDest("A", 3, "10.1.0.1", 8080), mkDest("B", 1, "10.1.0.2", 8080)); // B A
    expect(slots(w)).toEqual({ A: 3069, B: 1024 });
    expect(picksOf(w)).toEqual(["A", "B", "B", "A", "A", "A", "A", "A"]);
  });

  it("weights reduced by the gcd; a dest added with weight 0 gets no slot", () => {
    const w = new World(mh).add(
      mkDest("A", 0, "192.168.7.1", 443),
      mkDest("B", 250, "192.168.7.2", 443),
      mkDest("C", 1000, "192.168.7.3", 443),
    );
    expect(slots(w)).toEqual({ C: 3275, B: 818 });
  });

  it("mh-port hashes the source port too", () => {
    const w = new World(mh, IP_VS_SVC_F_SCHED_MH_PORT).add(mkDest("A", 3, "10.1.0.1", 8080), mkDest("B", 1, "10.1.0.2", 8080));
    expect(picksOf(w, 40000)).toEqual(["B", "A", "A", "A", "B", "B", "A", "A"]);
  });

  it("a quiesced dest keeps its slots (last_weight) and answers none, or falls back with mh-fallback", () => {
    const a = mkDest("A", 1, "10.1.0.1");
    const w = new World(mh).add(a, mkDest("B", 1, "10.1.0.2"), mkDest("C", 1, "10.1.0.3"));
    w.edit(a, 0);
    expect(slots(w)).toEqual({ C: 1365, B: 1364, A: 1364 });
    expect(picksOf(w)).toEqual([null, "B", "C", "B", "B", "C", "C", "B"]);
    const f = new World(mh, IP_VS_SVC_F_SCHED_MH_FALLBACK);
    const a2 = mkDest("A", 1, "10.1.0.1"), b2 = mkDest("B", 1, "10.1.0.2");
    f.add(a2, b2, mkDest("C", 1, "10.1.0.3"));
    overload(a2);
    expect(picksOf(f)).toEqual(["C", "B", "C", "B", "B", "C", "C", "B"]);
    overload(b2);
    expect(picksOf(f)).toEqual(["C", "C", "C", "C", "C", "C", "C", "C"]);
  });

  it("deleting a dest refills the table from the remaining ones", () => {
    const a = mkDest("A", 1, "10.1.0.1");
    const w = new World(mh).add(a, mkDest("B", 1, "10.1.0.2"), mkDest("C", 1, "10.1.0.3"));
    w.del(a);
    const s = slots(w);
    expect(s.A).toBeUndefined();
    expect(s.B! + s.C!).toBe(IP_VS_MH_TAB_SIZE);
    expect(picksOf(w).filter((x) => x === null)).toEqual([]);
  });

  it("no dests: no destination", () => {
    expect(new World(mh).pick()).toBeNull();
  });
});
