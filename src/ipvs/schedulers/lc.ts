// Least-connection, after net/netfilter/ipvs/ip_vs_lc.c.
import type { IpvsDest, IpvsService, Scheduler } from "../types.ts";
import { destConnOverhead, isOverloaded } from "./common.ts";

// ip_vs_lc_schedule(): least (unsigned) overhead among dests neither overloaded nor of
// weight 0; the first in list order wins a tie
function schedule(svc: IpvsService): IpvsDest | null {
  let least: IpvsDest | null = null;
  let loh = 0;
  for (const d of svc.dests) {
    if (isOverloaded(d) || d.weight === 0) continue;
    const doh = destConnOverhead(d) >>> 0;
    if (least === null || doh < loh) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

export const lc: Scheduler = { name: "lc", schedule };
