// Maglev hashing, after net/netfilter/ipvs/ip_vs_mh.c: each dest gets a permutation of the
// lookup table (offset and skip from two hsiphash keys) and the dests take turns, in list
// order and in proportion to last_weight / gcd, claiming their next free slot.
// The hash keys are not random: generate_hash_secret() sets fixed constants, used as is.
import {
  IP_VS_SVC_F_SCHED_MH_FALLBACK,
  IP_VS_SVC_F_SCHED_MH_PORT,
  type IpvsDest,
  type IpvsService,
  type Scheduler,
  type SchedPacket,
} from "../types.ts";
import { gcd, isOverloaded, schedPort } from "./common.ts";
import { hsiphash1u32, type HsiphashKey } from "./hsiphash.ts";

/** primes[CONFIG_IP_VS_MH_TAB_INDEX - 8] with the default index 12. */
export const IP_VS_MH_TAB_SIZE = 4093;
/** CONFIG_IP_VS_MH_TAB_INDEX / 2. */
const IP_VS_MH_TAB_BITS = 6;

// generate_hash_secret(): key[0] = key[1] = 2654435761UL (hash1), 2654446892UL (hash2)
export const MH_HASH1: HsiphashKey = { k0h: 0, k0l: 2654435761, k1h: 0, k1l: 2654435761 };
export const MH_HASH2: HsiphashKey = { k0h: 0, k0l: 2654446892, k1h: 0, k1l: 2654446892 };

class MhState {
  lookup: (IpvsDest | null)[] = new Array<IpvsDest | null>(IP_VS_MH_TAB_SIZE).fill(null);
  gcd = 0;
  rshift = 0;
  /** dest->last_weight (the latest non-zero weight) by addr:port, as the hooks saw it. */
  lastWeight = new Map<number, number>();
}

function destKey(d: IpvsDest): number {
  return d.addr * 65536 + d.port;
}

// dest->last_weight, as the hooks saw it
function lastWeightOf(s: MhState, d: IpvsDest): number {
  return s.lastWeight.get(destKey(d)) ?? d.weight;
}

// ip_vs_mh_hashkey(): hsiphash of the u32 offset + port + addr
export function mhHashKey(addr: number, port: number, key: HsiphashKey, offset: number): number {
  return hsiphash1u32((offset + port + addr) >>> 0, key);
}

// ip_vs_mh_gcd_weight(): gcd of the positive last weights, 0 if none
function gcdWeight(s: MhState, svc: IpvsService): number {
  let g = 0;
  for (const d of svc.dests) {
    const w = lastWeightOf(s, d);
    if (w > 0) g = g > 0 ? gcd(w, g) : w;
  }
  return g;
}

// ip_vs_mh_shift_weight(): shift weights right so max/gcd fits in IP_VS_MH_TAB_BITS bits
function shiftWeight(s: MhState, svc: IpvsService, g: number): number {
  if (g < 1) return 0;
  let w = 0;
  for (const d of svc.dests) {
    const lw = lastWeightOf(s, d);
    if (lw > w) w = lw;
  }
  const mw = Math.trunc(w / g);
  const shift = 32 - Math.clz32(mw) - IP_VS_MH_TAB_BITS;
  return shift >= 0 ? shift : 0;
}

// ip_vs_mh_permutate() + ip_vs_mh_populate(): the Maglev table fill
function populate(s: MhState, svc: IpvsService): void {
  const dests = svc.dests;
  const n = dests.length;
  if (s.gcd < 1) {
    s.lookup.fill(null);
    return;
  }
  const perm = new Array<number>(n);
  const skip = new Array<number>(n);
  const turns = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const d = dests[i]!;
    perm[i] = mhHashKey(d.addr, d.port, MH_HASH1, 0) % IP_VS_MH_TAB_SIZE;
    skip[i] = (mhHashKey(d.addr, d.port, MH_HASH2, 0) % (IP_VS_MH_TAB_SIZE - 1)) + 1;
    const lw = lastWeightOf(s, d);
    turns[i] = Math.trunc(lw / s.gcd) >> s.rshift || (lw !== 0 ? 1 : 0);
  }
  const taken = new Uint8Array(IP_VS_MH_TAB_SIZE);
  let filled = 0;
  let dtCount = 0;
  for (;;) {
    for (let i = 0; i < n; ) {
      // Ignore added server with zero weight.
      if (turns[i]! < 1) {
        i++;
        continue;
      }
      let c = perm[i]!;
      while (taken[c]) {
        c += skip[i]!;
        if (c >= IP_VS_MH_TAB_SIZE) c -= IP_VS_MH_TAB_SIZE;
      }
      perm[i] = c;
      taken[c] = 1;
      s.lookup[c] = dests[i]!;
      if (++filled === IP_VS_MH_TAB_SIZE) return;
      if (++dtCount >= turns[i]!) {
        dtCount = 0;
        i++;
      }
    }
  }
}

// ip_vs_mh_dest_changed() / the body of ip_vs_mh_init_svc(): recompute gcd and shift, refill
function reassign(s: MhState, svc: IpvsService): void {
  s.gcd = gcdWeight(s, svc);
  s.rshift = shiftWeight(s, svc, s.gcd);
  if (svc.dests.length > IP_VS_MH_TAB_SIZE) return; // -EINVAL: the table stays as it was
  populate(s, svc);
}

function stateOf(svc: IpvsService): MhState {
  if (svc.schedData instanceof MhState) return svc.schedData;
  const s = new MhState();
  for (const d of svc.dests) s.lastWeight.set(destKey(d), d.weight);
  svc.schedData = s;
  reassign(s, svc);
  return s;
}

function initService(svc: IpvsService): void {
  svc.schedData = null;
  stateOf(svc);
}

// __ip_vs_update_dest(): last_weight = weight on add
function addDest(svc: IpvsService, d: IpvsDest): void {
  const s = stateOf(svc);
  s.lastWeight.set(destKey(d), d.weight);
  reassign(s, svc);
}

// __ip_vs_update_dest(): last_weight keeps the latest non-zero weight
function updDest(svc: IpvsService, d: IpvsDest): void {
  const s = stateOf(svc);
  if (d.weight !== 0) s.lastWeight.set(destKey(d), d.weight);
  reassign(s, svc);
}

function delDest(svc: IpvsService, d: IpvsDest): void {
  const s = stateOf(svc);
  s.lastWeight.delete(destKey(d));
  reassign(s, svc);
}

// ip_vs_mh.c is_unavailable(): weight <= 0 or overloaded
function isUnavailable(d: IpvsDest): boolean {
  return d.weight <= 0 || isOverloaded(d);
}

// ip_vs_mh_get()
function get(s: MhState, addr: number, port: number): IpvsDest | null {
  const d = s.lookup[mhHashKey(addr, port, MH_HASH1, 0) % IP_VS_MH_TAB_SIZE]!;
  return d === null || isUnavailable(d) ? null : d;
}

// ip_vs_mh_get_fallback(): when the hashed dest is unavailable, rehash with offsets
// ihash, ihash + 1, ... until an available dest (or an empty slot)
function getFallback(s: MhState, addr: number, port: number): IpvsDest | null {
  const ihash = mhHashKey(addr, port, MH_HASH1, 0) % IP_VS_MH_TAB_SIZE;
  let d = s.lookup[ihash]!;
  if (d === null) return null;
  if (!isUnavailable(d)) return d;
  for (let offset = 0; offset < IP_VS_MH_TAB_SIZE; offset++) {
    const roffset = (offset + ihash) % IP_VS_MH_TAB_SIZE;
    d = s.lookup[mhHashKey(addr, port, MH_HASH1, roffset) % IP_VS_MH_TAB_SIZE]!;
    if (d === null) break;
    if (!isUnavailable(d)) return d;
  }
  return null;
}

// ip_vs_mh_schedule(): hash the client address (and port with mh-port)
function schedule(svc: IpvsService, p: SchedPacket): IpvsDest | null {
  const s = stateOf(svc);
  const port = svc.flags & IP_VS_SVC_F_SCHED_MH_PORT ? schedPort(p) : 0;
  return svc.flags & IP_VS_SVC_F_SCHED_MH_FALLBACK ? getFallback(s, p.saddr, port) : get(s, p.saddr, port);
}

export const mh: Scheduler = {
  name: "mh",
  initService,
  addDest,
  delDest,
  updDest,
  schedule,
};
