// IPv4 output (net/ipv4/ip_output.c): OUTPUT for local packets, POSTROUTING, then the
// neighbour layer; ip_route_me_harder when OUTPUT NAT changed the destination.
import type { Packet } from "../wire/packet.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import { describePacket } from "./trace.ts";
import type { Dataplane } from "./dataplane.ts";
import type { LinkView, NetnsView } from "./view.ts";
import { Hook } from "./hooks.ts";
import { routeOutput, type RouteError } from "./route.ts";
import { neighOutput } from "./neigh.ts";
import { devXmit } from "./dev.ts";

/** Routes a locally generated packet; null with the error when there is no route. */
export function routeLocal(dp: Dataplane, ns: NetnsView, pkt: Packet): RouteError | null {
  const r = routeOutput(ns, pkt.daddr, pkt.saddr);
  if (!r.dst) return r.error;
  pkt.dst = r.dst;
  if (!pkt.saddr) pkt.saddr = r.dst.src;
  if (dp.tracer) {
    dp.trace(pkt, ns, null, "route", `output route for ${formatIPv4(pkt.daddr)}: dev ${ns.byId.get(r.dst.dev)?.name} nexthop ${formatIPv4(r.dst.gw)} src ${formatIPv4(r.dst.src)}`);
  }
  return null;
}

// __ip_local_out(): OUTPUT hook, then dst_output.
export function ipLocalOut(dp: Dataplane, ns: NetnsView, pkt: Packet): void {
  const out = ns.byId.get(pkt.dst!.dev) ?? null;
  if (dp.tracer) dp.trace(pkt, ns, out, "note", `send ${describePacket(pkt)}`);
  dp.nfHook(Hook.LocalOut, ns, pkt, null, out, dstOutput);
}

function dstOutput(dp: Dataplane, ns: NetnsView, pkt: Packet, _in: LinkView | null, out: LinkView | null): void {
  const dev = ns.byId.get(pkt.dst!.dev) ?? out;
  if (!dev) return dp.drop(pkt, ns, null, "output device vanished");
  ipOutput(dp, ns, pkt, dev);
}

/** ip_route_me_harder(): re-route a local packet whose destination OUTPUT NAT changed. */
export function routeMeHarder(dp: Dataplane, ns: NetnsView, pkt: Packet): boolean {
  const r = routeOutput(ns, pkt.daddr, ns.local.has(pkt.saddr) ? pkt.saddr : 0);
  if (!r.dst) return false;
  pkt.dst = r.dst;
  return true;
}

// ip_output(): POSTROUTING, then ip_finish_output2 -> neighbour output.
export function ipOutput(dp: Dataplane, ns: NetnsView, pkt: Packet, dev: LinkView): void {
  dp.nfHook(Hook.PostRouting, ns, pkt, null, dev, ipFinishOutput);
}

function ipFinishOutput(dp: Dataplane, _ns: NetnsView, pkt: Packet, _in: LinkView | null, dev: LinkView | null): void {
  const out = dev!;
  if (out.cfg.kind === "loopback") return devXmit(dp, out, pkt);
  neighOutput(dp, out, pkt.dst!.gw, pkt);
}
