// Destination hashing, after net/netfilter/ipvs/ip_vs_dh.c: a 256-bucket table filled from
// the dest list one bucket per dest in turn (weights play no part in the filling).
import { IP_VS_DEST_F_AVAILABLE, type IpvsDest, type IpvsService, type Scheduler, type SchedPacket } from "../types.ts";
import { hash32, isOverloaded } from "./common.ts";

/** CONFIG_IP_VS_DH_TAB_BITS (default 8). */
export const IP_VS_DH_TAB_BITS = 8;
export const IP_VS_DH_TAB_SIZE = 1 << IP_VS_DH_TAB_BITS;

class DhState {
  buckets: (IpvsDest | null)[] = new Array<IpvsDest | null>(IP_VS_DH_TAB_SIZE).fill(null);
}

function stateOf(svc: IpvsService): DhState {
  if (svc.schedData instanceof DhState) return svc.schedData;
  const s = new DhState();
  svc.schedData = s;
  reassign(s, svc);
  return s;
}

// ip_vs_dh_hashkey(): hash_32(addr, 8)
export function dhHashKey(addr: number): number {
  return hash32(addr, IP_VS_DH_TAB_BITS);
}

// ip_vs_dh_reassign(): bucket i gets the (i mod n)-th dest in list order
function reassign(s: DhState, svc: IpvsService): void {
  const dests = svc.dests;
  const n = dests.length;
  for (let i = 0; i < IP_VS_DH_TAB_SIZE; i++) s.buckets[i] = n === 0 ? null : dests[i % n]!;
}

function initService(svc: IpvsService): void {
  svc.schedData = null;
  stateOf(svc);
}

// ip_vs_dh_dest_changed(): every add, delete and update refills the whole table
function destChanged(svc: IpvsService): void {
  reassign(stateOf(svc), svc);
}

// ip_vs_dh_schedule(): the bucket of the destination address; none if that dest is not
// available, has weight 0 or is overloaded
function schedule(svc: IpvsService, p: SchedPacket): IpvsDest | null {
  const d = stateOf(svc).buckets[dhHashKey(p.daddr)]!;
  if (d === null || !(d.flags & IP_VS_DEST_F_AVAILABLE) || d.weight <= 0 || isOverloaded(d)) return null;
  return d;
}

export const dh: Scheduler = {
  name: "dh",
  initService,
  addDest: destChanged,
  delDest: destChanged,
  updDest: destChanged,
  schedule,
};
