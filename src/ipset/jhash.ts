// Bob Jenkins' lookup3 as include/linux/jhash.h jhash2(): the hash the kernel's ipset
// hash types use over the element struct (HKEY() in ip_set_hash_gen.h). Words are the
// element's memory read as host-endian (x86: little-endian) u32.

const JHASH_INITVAL = 0xdeadbeef;

function rol(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** __jhash_final(a, b, c) returning c. */
function final(a: number, b: number, c: number): number {
  c ^= b; c = (c - rol(b, 14)) | 0;
  a ^= c; a = (a - rol(c, 11)) | 0;
  b ^= a; b = (b - rol(a, 25)) | 0;
  c ^= b; c = (c - rol(b, 16)) | 0;
  a ^= c; a = (a - rol(c, 4)) | 0;
  b ^= a; b = (b - rol(a, 14)) | 0;
  c ^= b; c = (c - rol(b, 24)) | 0;
  return c >>> 0;
}

/** jhash2() over one u32 word. */
export function jhash1(k0: number, initval: number): number {
  const a = (JHASH_INITVAL + 4 + initval + k0) | 0;
  const b = (JHASH_INITVAL + 4 + initval) | 0;
  return final(a, b, b);
}

/** jhash2() over two u32 words. */
export function jhash2(k0: number, k1: number, initval: number): number {
  const i = (JHASH_INITVAL + 8 + initval) | 0;
  return final((i + k0) | 0, (i + k1) | 0, i);
}

/** jhash2() over three u32 words. */
export function jhash3(k0: number, k1: number, k2: number, initval: number): number {
  const i = (JHASH_INITVAL + 12 + initval) | 0;
  return final((i + k0) | 0, (i + k1) | 0, (i + k2) | 0);
}

/** The bytes of a host-order IPv4 address as the u32 the kernel hashes (__be32 read on x86). */
export function be32(ip: number): number {
  return ((ip & 0xff) << 24) | ((ip & 0xff00) << 8) | ((ip >>> 8) & 0xff00) | (ip >>> 24);
}

/** The low half-word a __be16 port occupies when read as part of a little-endian u32. */
export function be16(port: number): number {
  return ((port & 0xff) << 8) | (port >>> 8);
}
