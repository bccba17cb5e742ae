// Weighted fail-over, after net/netfilter/ipvs/ip_vs_fo.c.
import type { IpvsDest, IpvsService, Scheduler } from "../types.ts";
import { isOverloaded } from "./common.ts";

// ip_vs_fo_schedule(): the highest weight among dests not overloaded; the first in list
// order wins a tie, weight 0 never
function schedule(svc: IpvsService): IpvsDest | null {
  let best: IpvsDest | null = null;
  let hw = 0;
  for (const d of svc.dests) {
    if (!isOverloaded(d) && d.weight > hw) {
      best = d;
      hw = d.weight;
    }
  }
  return best;
}

export const fo: Scheduler = { name: "fo", schedule };
