// What the schedulers share: include/net/ip_vs.h (ip_vs_dest_conn_overhead), include/linux/hash.h
// (hash_32), lib/math/gcd.c.
import { IPPROTO_TCP, IPPROTO_UDP } from "../../wire/packet.ts";
import { IP_VS_DEST_F_OVERLOAD, type IpvsDest, type IpvsService, type SchedPacket } from "../types.ts";

export const IPPROTO_SCTP = 132;

export const GOLDEN_RATIO_32 = 0x61c88647;

// include/linux/hash.h hash_32(): the top `bits` bits of val * GOLDEN_RATIO_32 (mod 2^32)
export function hash32(val: number, bits: number): number {
  return Math.imul(val, GOLDEN_RATIO_32) >>> (32 - bits);
}

// include/net/ip_vs.h ip_vs_dest_conn_overhead(): (activeconns << 8) + totalconns, an int.
// totalconns counts every non-template connection (ip_vs_bind_dest), so it is
// activeConns + inactConns here. Kernels before the "ipvs: add totalconns for dest" change
// (stable 6.1.19x / 6.12.10x) added inactconns instead: (activeconns << 8) + inactconns.
export function destConnOverhead(d: IpvsDest): number {
  return ((d.activeConns << 8) + d.activeConns + d.inactConns) | 0;
}

export function isOverloaded(d: IpvsDest): boolean {
  return (d.flags & IP_VS_DEST_F_OVERLOAD) !== 0;
}

// (__s64)a * b > (__s64)c * d, exact for any int32 operands (doubles lose bits past 2^53)
export function mulGt(a: number, b: number, c: number, d: number): boolean {
  const x = a * b;
  const y = c * d;
  if (Math.abs(x) < 2 ** 53 && Math.abs(y) < 2 ** 53) return x > y;
  return BigInt(a) * BigInt(b) > BigInt(c) * BigInt(d);
}

// lib/math/gcd.c gcd()
export function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Where `dest` sits in svc.dests, trying the remembered index first (O(1) when unchanged). */
export function indexOfDest(dests: readonly IpvsDest[], dest: IpvsDest, hint: number): number {
  if (hint >= 0 && hint < dests.length && dests[hint] === dest) return hint;
  return dests.indexOf(dest);
}

// ip_vs_sh_get_port() / ip_vs_mh_get_port(): the client's port for TCP, UDP and SCTP, else 0
export function schedPort(p: SchedPacket): number {
  return p.proto === IPPROTO_TCP || p.proto === IPPROTO_UDP || p.proto === IPPROTO_SCTP ? p.sport : 0;
}

// lblc/lblcr GC timing (ip_vs_lblc.c, ip_vs_lblcr.c), in ms of virtual time
export const CHECK_EXPIRE_INTERVAL = 60 * 1000;
export const ENTRY_TIMEOUT = 6 * 60 * 1000;
export const DEFAULT_EXPIRATION = 24 * 60 * 60 * 1000;
export const COUNT_FOR_FULL_EXPIRATION = 30;

// ip_vs_lblc.c / ip_vs_lblcr.c is_overloaded(): more active connections than weight while
// some dest of the service is below half its weight
export function localityOverloaded(dest: IpvsDest, svc: IpvsService): boolean {
  if (dest.activeConns > dest.weight) {
    for (const d of svc.dests) if (d.activeConns * 2 < d.weight) return true;
  }
  return false;
}
