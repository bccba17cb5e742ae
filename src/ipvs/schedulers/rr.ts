// Round-robin, after net/netfilter/ipvs/ip_vs_rr.c. svc->sched_data points at the list node
// of the last chosen destination, or at the list head; here: that dest, or null for the head.
import type { IpvsDest, IpvsService, Scheduler } from "../types.ts";
import { indexOfDest, isOverloaded } from "./common.ts";

class RrState {
  /** The last chosen destination; null = the list head. */
  cursor: IpvsDest | null = null;
  cursorIdx = -1;
  /** svc.dests as of the last hook: where a deleted cursor's predecessor was. */
  order: IpvsDest[] = [];
}

function stateOf(svc: IpvsService): RrState {
  if (svc.schedData instanceof RrState) return svc.schedData;
  const s = new RrState();
  s.order = svc.dests.slice();
  svc.schedData = s;
  return s;
}

// ip_vs_rr_init_svc(): start at the list head
function initService(svc: IpvsService): void {
  svc.schedData = null;
  stateOf(svc);
}

// The kernel's rr has no add_dest/upd_dest: the cursor stays; we only remember the order.
function remember(svc: IpvsService): void {
  stateOf(svc).order = svc.dests.slice();
}

// ip_vs_rr_del_dest(): a deleted cursor moves back to its predecessor (p->next->prev)
function delDest(svc: IpvsService, dest: IpvsDest): void {
  const s = stateOf(svc);
  if (s.cursor === dest) {
    const i = s.order.indexOf(dest);
    s.cursor = i > 0 ? s.order[i - 1]! : null;
    s.cursorIdx = -1;
  }
  s.order = svc.dests.slice();
}

// ip_vs_rr_schedule(): the first dest after the cursor with weight > 0 and not overloaded,
// wrapping round to the cursor itself; from the head, one pass only
function schedule(svc: IpvsService): IpvsDest | null {
  const s = stateOf(svc);
  const dests = svc.dests;
  const n = dests.length;
  // A cursor no longer listed (deleted without delDest) counts as the head.
  const k = s.cursor === null ? -1 : indexOfDest(dests, s.cursor, s.cursorIdx);
  for (let j = 1; j <= n; j++) {
    const i = k < 0 ? j - 1 : (k + j) % n;
    const d = dests[i]!;
    if (!isOverloaded(d) && d.weight > 0) {
      s.cursor = d;
      s.cursorIdx = i;
      return d;
    }
  }
  return null;
}

export const rr: Scheduler = {
  name: "rr",
  initService,
  addDest: remember,
  updDest: remember,
  delDest,
  schedule,
};
