// Source hashing, after net/netfilter/ipvs/ip_vs_sh.c: a 256-bucket table filled from the
// dest list, each dest taking as many consecutive buckets as its weight.
import {
  IP_VS_SVC_F_SCHED_SH_FALLBACK,
  IP_VS_SVC_F_SCHED_SH_PORT,
  type IpvsDest,
  type IpvsService,
  type Scheduler,
  type SchedPacket,
} from "../types.ts";
import { hash32, isOverloaded, schedPort } from "./common.ts";

/** CONFIG_IP_VS_SH_TAB_BITS (default 8). */
export const IP_VS_SH_TAB_BITS = 8;
export const IP_VS_SH_TAB_SIZE = 1 << IP_VS_SH_TAB_BITS;
const IP_VS_SH_TAB_MASK = IP_VS_SH_TAB_SIZE - 1;

class ShState {
  buckets: (IpvsDest | null)[] = new Array<IpvsDest | null>(IP_VS_SH_TAB_SIZE).fill(null);
}

function stateOf(svc: IpvsService): ShState {
  if (svc.schedData instanceof ShState) return svc.schedData;
  const s = new ShState();
  svc.schedData = s;
  reassign(s, svc);
  return s;
}

// ip_vs_sh.c is_unavailable(): weight <= 0 or overloaded
function isUnavailable(d: IpvsDest): boolean {
  return d.weight <= 0 || isOverloaded(d);
}

// ip_vs_sh_hashkey(): (offset + hash_32(port + addr, 8)) & 255, port 0 unless sh-port
export function shHashKey(addr: number, port: number, offset: number): number {
  return (offset + hash32((port + addr) | 0, IP_VS_SH_TAB_BITS)) & IP_VS_SH_TAB_MASK;
}

// ip_vs_sh_reassign(): walk the list round, a dest staying for `weight` buckets (at least one)
function reassign(s: ShState, svc: IpvsService): void {
  const dests = svc.dests;
  const n = dests.length;
  let p = 0;
  let count = 0;
  for (let i = 0; i < IP_VS_SH_TAB_SIZE; i++) {
    if (n === 0) {
      s.buckets[i] = null;
      continue;
    }
    const d = dests[p]!;
    s.buckets[i] = d;
    if (++count >= d.weight) {
      p = (p + 1) % n;
      count = 0;
    }
  }
}

function initService(svc: IpvsService): void {
  svc.schedData = null;
  stateOf(svc);
}

// ip_vs_sh_dest_changed(): every add, delete and update refills the whole table
function destChanged(svc: IpvsService): void {
  reassign(stateOf(svc), svc);
}

// ip_vs_sh_get()
function get(s: ShState, addr: number, port: number): IpvsDest | null {
  const d = s.buckets[shHashKey(addr, port, 0)]!;
  return d === null || isUnavailable(d) ? null : d;
}

// ip_vs_sh_get_fallback(): when the hashed dest is unavailable, rehash with offsets
// ihash, ihash + 1, ... until an available dest (or an empty bucket)
function getFallback(s: ShState, addr: number, port: number): IpvsDest | null {
  const ihash = shHashKey(addr, port, 0);
  let d = s.buckets[ihash]!;
  if (d === null) return null;
  if (!isUnavailable(d)) return d;
  for (let offset = 0; offset < IP_VS_SH_TAB_SIZE; offset++) {
    const roffset = (offset + ihash) % IP_VS_SH_TAB_SIZE;
    d = s.buckets[shHashKey(addr, port, roffset)]!;
    if (d === null) break;
    if (!isUnavailable(d)) return d;
  }
  return null;
}

// ip_vs_sh_schedule(): hash the client address (and port with sh-port)
function schedule(svc: IpvsService, p: SchedPacket): IpvsDest | null {
  const s = stateOf(svc);
  const port = svc.flags & IP_VS_SVC_F_SCHED_SH_PORT ? schedPort(p) : 0;
  return svc.flags & IP_VS_SVC_F_SCHED_SH_FALLBACK ? getFallback(s, p.saddr, port) : get(s, p.saddr, port);
}

export const sh: Scheduler = {
  name: "sh",
  initService,
  addDest: destChanged,
  delDest: destChanged,
  updDest: destChanged,
  schedule,
};
