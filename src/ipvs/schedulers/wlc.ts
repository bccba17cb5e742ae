// Weighted least-connection, after net/netfilter/ipvs/ip_vs_wlc.c.
import type { IpvsDest, IpvsService, Scheduler } from "../types.ts";
import { destConnOverhead, isOverloaded, mulGt } from "./common.ts";

// ip_vs_wlc_schedule(): least overhead/weight, compared as loh * dw > doh * lw; the first
// available dest (weight > 0, not overloaded) seeds it, later ones replace it only when
// strictly better (a weight-0 dest never is)
function schedule(svc: IpvsService): IpvsDest | null {
  const dests = svc.dests;
  const n = dests.length;
  let i = 0;
  while (i < n && (isOverloaded(dests[i]!) || !(dests[i]!.weight > 0))) i++;
  if (i === n) return null;
  let least = dests[i]!;
  let loh = destConnOverhead(least);
  for (i++; i < n; i++) {
    const d = dests[i]!;
    if (isOverloaded(d)) continue;
    const doh = destConnOverhead(d);
    if (mulGt(loh, d.weight, doh, least.weight)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

export const wlc: Scheduler = { name: "wlc", schedule };
