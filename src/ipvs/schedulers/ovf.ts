// Overflow-connection, after net/netfilter/ipvs/ip_vs_ovf.c.
import type { IpvsDest, IpvsService, Scheduler } from "../types.ts";
import { isOverloaded } from "./common.ts";

// ip_vs_ovf_schedule(): the highest weight among dests with weight > 0, not overloaded and
// with no more active connections than their weight; the first in list order wins a tie
function schedule(svc: IpvsService): IpvsDest | null {
  let best: IpvsDest | null = null;
  let hw = 0;
  for (const d of svc.dests) {
    const w = d.weight;
    if (isOverloaded(d) || d.activeConns > w || w === 0) continue;
    if (best === null || w > hw) {
      best = d;
      hw = w;
    }
  }
  return best;
}

export const ovf: Scheduler = { name: "ovf", schedule };
