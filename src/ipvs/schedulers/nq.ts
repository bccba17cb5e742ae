// Never queue, after net/netfilter/ipvs/ip_vs_nq.c.
import type { IpvsDest, IpvsService, Scheduler } from "../types.ts";
import { isOverloaded, mulGt } from "./common.ts";

// ip_vs_nq_dest_overhead(): active connections only, plus one
function nqOverhead(d: IpvsDest): number {
  return (d.activeConns + 1) | 0;
}

// ip_vs_nq_schedule(): the first idle (no active connection) dest in list order, else as sed
function schedule(svc: IpvsService): IpvsDest | null {
  let least: IpvsDest | null = null;
  let loh = 0;
  for (const d of svc.dests) {
    if (isOverloaded(d) || d.weight === 0) continue;
    const doh = nqOverhead(d);
    if (d.activeConns === 0) return d;
    if (least === null || mulGt(loh, d.weight, doh, least.weight)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

export const nq: Scheduler = { name: "nq", schedule };
