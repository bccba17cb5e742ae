// IPv4 receive (net/ipv4/ip_input.c, ip_forward.c): PREROUTING, the input route,
// local delivery through INPUT, forwarding through FORWARD.
import type { Packet } from "../wire/packet.ts";
import { DST_FORWARD, DST_LOCAL, ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from "../wire/packet.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import { isMulticastMac } from "../wire/mac.ts";
import type { Dataplane } from "./dataplane.ts";
import type { LinkView, NetnsView } from "./view.ts";
import { Hook } from "./hooks.ts";
import { routeInput } from "./route.ts";
import { icmpRcv, icmpSend, peerTokens } from "./icmp.ts";
import { ipOutput } from "./ip_output.ts";
import { tcpRcv } from "./tcp.ts";
import { udpRcv } from "./udp.ts";

export function ipRcv(dp: Dataplane, dev: LinkView, pkt: Packet): void {
  // ip_sabotage_in(): br_netfilter already ran PRE_ROUTING for this bridged frame.
  if (pkt.brnfDone) return ipRcvFinish(dp, dev.ns, pkt, dev);
  dp.nfHook(Hook.PreRouting, dev.ns, pkt, dev, null, ipRcvFinish);
}

// ip_rcv_finish(): route unless a route is already attached (loopback, br_netfilter).
export function ipRcvFinish(dp: Dataplane, ns: NetnsView, pkt: Packet, inDev: LinkView | null): void {
  const dev = inDev!;
  if (!pkt.dst) {
    const v = routeInput(ns, pkt, dev);
    if (!v.ok) {
      if (v.icmpCode >= 0 && peerTokens(dp, ns, pkt.saddr, 5000)) icmpSend(dp, ns, pkt, ICMP_DEST_UNREACH, v.icmpCode, dev);
      return dp.drop(pkt, ns, dev, v.reason);
    }
    if (dp.tracer) {
      const d = pkt.dst!;
      const what = d.input === DST_LOCAL ? "local" : `forward via ${ns.byId.get(d.dev)?.name} nexthop ${formatIPv4(d.gw)}`;
      dp.trace(pkt, ns, dev, "route", `input route for ${formatIPv4(pkt.daddr)}: ${what}`);
    }
  }
  const dst = pkt.dst!;
  if (dst.input === DST_FORWARD) return ipForward(dp, ns, pkt, dev);
  ipLocalDeliver(dp, ns, pkt, dev);
}

export function ipLocalDeliver(dp: Dataplane, ns: NetnsView, pkt: Packet, inDev: LinkView): void {
  dp.nfHook(Hook.LocalIn, ns, pkt, inDev, null, ipLocalDeliverFinish);
}

// ip_local_deliver_finish(): hand to the transport protocol.
function ipLocalDeliverFinish(dp: Dataplane, ns: NetnsView, pkt: Packet, inDev: LinkView | null): void {
  switch (pkt.proto) {
    case IPPROTO_TCP:
      return tcpRcv(dp, ns, pkt, inDev!);
    case IPPROTO_UDP:
      return udpRcv(dp, ns, pkt, inDev!);
    case IPPROTO_ICMP:
      return icmpRcv(dp, ns, pkt, inDev!);
    default:
      icmpSend(dp, ns, pkt, ICMP_DEST_UNREACH, 2, inDev);
      return dp.drop(pkt, ns, inDev, `no handler for protocol ${pkt.proto}`);
  }
}

// ip_forward(): only PACKET_HOST frames, TTL check, FORWARD hook, then out with the TTL decremented.
export function ipForward(dp: Dataplane, ns: NetnsView, pkt: Packet, inDev: LinkView): void {
  // A link-layer broadcast or multicast frame (PACKET_BROADCAST/MULTICAST) is never forwarded.
  if (isMulticastMac(pkt.ethDst)) return dp.drop(pkt, ns, inDev, "not forwarded: the frame was link-layer broadcast or multicast (pkt_type is not PACKET_HOST)");
  if (pkt.ttl <= 1) {
    icmpSend(dp, ns, pkt, ICMP_TIME_EXCEEDED, 0, inDev);
    return dp.drop(pkt, ns, inDev, "TTL exceeded in transit");
  }
  const out = ns.byId.get(pkt.dst!.dev) ?? null;
  if (!out) return dp.drop(pkt, ns, inDev, "output device vanished");
  dp.nfHook(Hook.Forward, ns, pkt, inDev, out, ipForwardFinish);
}

function ipForwardFinish(dp: Dataplane, ns: NetnsView, pkt: Packet, _in: LinkView | null, out: LinkView | null): void {
  pkt.ttl--;
  ipOutput(dp, ns, pkt, out!);
}
