// Shortest expected delay, after net/netfilter/ipvs/ip_vs_sed.c.
import type { IpvsDest, IpvsService, Scheduler } from "../types.ts";
import { isOverloaded, mulGt } from "./common.ts";

// ip_vs_sed_dest_overhead(): active connections only, plus one
function sedOverhead(d: IpvsDest): number {
  return (d.activeConns + 1) | 0;
}

// ip_vs_sed_schedule(): as wlc, with (activeconns + 1) / weight
function schedule(svc: IpvsService): IpvsDest | null {
  const dests = svc.dests;
  const n = dests.length;
  let i = 0;
  while (i < n && (isOverloaded(dests[i]!) || !(dests[i]!.weight > 0))) i++;
  if (i === n) return null;
  let least = dests[i]!;
  let loh = sedOverhead(least);
  for (i++; i < n; i++) {
    const d = dests[i]!;
    if (isOverloaded(d)) continue;
    const doh = sedOverhead(d);
    if (mulGt(loh, d.weight, doh, least.weight)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

export const sed: Scheduler = { name: "sed", schedule };
