// hsiphash() of one u32, as lib/siphash.c computes it on a 64-bit kernel: there
// "HalfSipHash-1-3" is SipHash-1-3 on 64-bit words, truncated to 32 bits (BITS_PER_LONG == 64,
// hsiphash_key_t is two unsigned longs). 64-bit words are kept as (hi, lo) uint32 halves in
// one scratch array, so hashing allocates nothing.

// SIPHASH_CONST_0..3 as hi, lo
const C0H = 0x736f6d65, C0L = 0x70736575;
const C1H = 0x646f7261, C1L = 0x6e646f6d;
const C2H = 0x6c796765, C2L = 0x6e657261;
const C3H = 0x74656462, C3L = 0x79746573;

// v0..v3 as [v0h, v0l, v1h, v1l, v2h, v2l, v3h, v3l]
const v = new Uint32Array(8);

// v[a] += v[b] (mod 2^64)
function add(a: number, b: number): void {
  const lo = v[a + 1]! + v[b + 1]!;
  v[a + 1] = lo;
  v[a] = v[a]! + v[b]! + (lo > 0xffffffff ? 1 : 0);
}

// v[a] = rol64(v[a], r) for 0 < r <= 32
function rol(a: number, r: number): void {
  const hi = v[a]!;
  const lo = v[a + 1]!;
  if (r === 32) {
    v[a] = lo;
    v[a + 1] = hi;
    return;
  }
  v[a] = (hi << r) | (lo >>> (32 - r));
  v[a + 1] = (lo << r) | (hi >>> (32 - r));
}

function xor(a: number, b: number): void {
  v[a] = v[a]! ^ v[b]!;
  v[a + 1] = v[a + 1]! ^ v[b + 1]!;
}

const V0 = 0, V1 = 2, V2 = 4, V3 = 6;

// include/linux/siphash.h SIPHASH_PERMUTATION()
function sipround(): void {
  add(V0, V1); rol(V1, 13); xor(V1, V0); rol(V0, 32);
  add(V2, V3); rol(V3, 16); xor(V3, V2);
  add(V0, V3); rol(V3, 21); xor(V3, V0);
  add(V2, V1); rol(V1, 17); xor(V1, V2); rol(V2, 32);
}

/** A hsiphash_key_t on a 64-bit kernel: key[0], key[1] as (hi, lo) halves. */
export interface HsiphashKey {
  k0h: number;
  k0l: number;
  k1h: number;
  k1l: number;
}

// lib/siphash.c hsiphash_1u32() / hsiphash(&u32, 4, key): PREAMBLE(4), b |= data, HPOSTAMBLE
export function hsiphash1u32(data: number, key: HsiphashKey): number {
  v[0] = C0H ^ key.k0h; v[1] = C0L ^ key.k0l;
  v[2] = C1H ^ key.k1h; v[3] = C1L ^ key.k1l;
  v[4] = C2H ^ key.k0h; v[5] = C2L ^ key.k0l;
  v[6] = C3H ^ key.k1h; v[7] = C3L ^ key.k1l;
  // b = (len << 56) | data
  const bh = 4 << 24;
  const bl = data >>> 0;
  v[6] = v[6]! ^ bh; v[7] = v[7]! ^ bl;
  sipround();
  v[0] = v[0]! ^ bh; v[1] = v[1]! ^ bl;
  v[5] = v[5]! ^ 0xff;
  sipround();
  sipround();
  sipround();
  // (u32)((v0 ^ v1) ^ (v2 ^ v3))
  return (v[1]! ^ v[3]! ^ v[5]! ^ v[7]!) >>> 0;
}
