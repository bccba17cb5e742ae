// Weighted round-robin, after net/netfilter/ipvs/ip_vs_wrr.c (struct ip_vs_wrr_mark).
import type { IpvsDest, IpvsService, Scheduler } from "../types.ts";
import { gcd, indexOfDest, isOverloaded } from "./common.ts";

class WrrMark {
  /** mark->cl: the current dest; null = the list head. */
  cl: IpvsDest | null = null;
  clIdx = -1;
  /** Current weight, maximum weight (less di - 1) and decreasing interval (gcd). */
  cw = 0;
  mw = 0;
  di = 1;
}

// ip_vs_wrr_gcd_weight(): gcd of the positive weights, 1 if none
function gcdWeight(svc: IpvsService): number {
  let g = 0;
  for (const d of svc.dests) {
    if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
  }
  return g || 1;
}

function maxWeight(svc: IpvsService): number {
  let w = 0;
  for (const d of svc.dests) if (d.weight > w) w = d.weight;
  return w;
}

function markOf(svc: IpvsService): WrrMark {
  if (svc.schedData instanceof WrrMark) return svc.schedData;
  return initMark(svc);
}

// ip_vs_wrr_init_svc(): cl = head, cw = mw = max weight - (di - 1)
function initMark(svc: IpvsService): WrrMark {
  const m = new WrrMark();
  m.di = gcdWeight(svc);
  m.mw = maxWeight(svc) - (m.di - 1);
  m.cw = m.mw;
  svc.schedData = m;
  return m;
}

function initService(svc: IpvsService): void {
  initMark(svc);
}

// ip_vs_wrr_dest_changed() (add, del and upd): back to the head; cw kept when still in range,
// else reset to mw, and realigned to the new gcd steps
function destChanged(svc: IpvsService): void {
  const m = markOf(svc);
  m.cl = null;
  m.clIdx = -1;
  m.di = gcdWeight(svc);
  m.mw = maxWeight(svc) - (m.di - 1);
  if (m.cw > m.mw || m.cw === 0) m.cw = m.mw;
  else if (m.di > 1) m.cw = Math.trunc(m.cw / m.di) * m.di + 1;
}

// ip_vs_wrr_schedule(): the next dest after cl with weight >= cw; at the end of the list cw
// steps down by di and resets to mw below 1; gives up once every dest was tried at cw = 1
function schedule(svc: IpvsService): IpvsDest | null {
  const m = markOf(svc);
  const dests = svc.dests;
  const n = dests.length;
  if (m.mw === 0) return null;
  // A cl no longer listed (deleted without delDest) counts as the head.
  let i = m.cl === null ? -1 : indexOfDest(dests, m.cl, m.clIdx);
  const last = i;
  let stop = -2;
  let lastPass = false;
  let restarted = false;
  for (;;) {
    for (i = i + 1; i < n; i++) {
      const d = dests[i]!;
      if (!isOverloaded(d) && d.weight >= m.cw) {
        m.cl = d;
        m.clIdx = i;
        return d;
      }
      if (i === stop) {
        m.cl = d;
        m.clIdx = i;
        return null;
      }
    }
    // At the head again.
    i = -1;
    m.cw -= m.di;
    if (m.cw <= 0) {
      m.cw = m.mw;
      if (lastPass || last < 0) {
        m.cl = null;
        m.clIdx = -1;
        return null;
      }
      restarted = true;
    }
    lastPass = m.cw <= m.di;
    if (lastPass && restarted && last >= 0) stop = last;
  }
}

export const wrr: Scheduler = {
  name: "wrr",
  initService,
  addDest: destChanged,
  delDest: destChanged,
  updDest: destChanged,
  schedule,
};
