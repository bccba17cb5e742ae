// ICMP (net/ipv4/icmp.c): errors sent about a packet (icmp_send), echo replies, and
// errors received handed to the socket they quote (icmp_unreach -> err handlers).
import type { Packet } from "../wire/packet.ts";
import {
  blankPacket,
  ICMP_DEST_UNREACH,
  ICMP_ECHO,
  ICMP_ECHOREPLY,
  ICMP_TIME_EXCEEDED,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  RTN_BROADCAST,
} from "../wire/packet.ts";
import { formatIPv4, isMulticast, INADDR_BROADCAST } from "../wire/ipv4.ts";
import type { Dataplane } from "./dataplane.ts";
import type { LinkView, NetnsView } from "./view.ts";
import { ipLocalOut, routeLocal } from "./ip_output.ts";
import { tcpErr } from "./tcp.ts";
import { udpErr } from "./udp.ts";
import { pingRcv, pingErr } from "./ping.ts";

function isError(type: number): boolean {
  return type === ICMP_DEST_UNREACH || type === ICMP_TIME_EXCEEDED || type === 5 || type === 4 || type === 12;
}

/**
 * The inet_peer token bucket of a destination, shared by ip_error() (burst 5 s) and
 * icmpv4_xrlim_allow() (burst 6 x icmp_ratelimit): each takes 1 s of tokens per ICMP.
 */
export function peerTokens(dp: Dataplane, ns: NetnsView, addr: number, burstMs: number): boolean {
  const peers = dp.state(ns).icmpPeers;
  let peer = peers.get(addr);
  // inet_getpeer() backdates rate_last by 60 s so a new peer starts with a full bucket.
  if (!peer) peers.set(addr, (peer = { tokens: 0, last: dp.now - 60_000 }));
  let tokens = Math.min(burstMs, peer.tokens + dp.now - peer.last);
  peer.last = dp.now;
  const ok = tokens >= ICMP_RATELIMIT_MS;
  if (ok) tokens -= ICMP_RATELIMIT_MS;
  peer.tokens = tokens;
  return ok;
}

const ICMP_RATELIMIT_MS = 1000;
/** net.ipv4.icmp_ratemask 6168: dest unreachable, source quench, time exceeded, parameter problem. */
const RATEMASK = (1 << 3) | (1 << 4) | (1 << 11) | (1 << 12);

// icmp_send(): never about an ICMP error, a broadcast, or a non-first fragment.
export function icmpSend(dp: Dataplane, ns: NetnsView, orig: Packet, type: number, code: number, _inDev: LinkView | null): void {
  if (orig.proto === IPPROTO_ICMP && isError(orig.icmpType)) return;
  if (orig.dst && orig.dst.type === RTN_BROADCAST) return;
  if (isMulticast(orig.daddr) || orig.daddr === INADDR_BROADCAST || orig.saddr === 0) return;
  const p = blankPacket();
  p.proto = IPPROTO_ICMP;
  p.icmpType = type;
  p.icmpCode = code;
  p.daddr = orig.saddr;
  // The source is the original destination when that is ours, else the route's choice.
  p.saddr = ns.local.has(orig.daddr) ? orig.daddr : 0;
  p.ttl = ns.defaultTtl;
  p.len = 56;
  p.quoted = { saddr: orig.saddr, daddr: orig.daddr, proto: orig.proto, sport: orig.sport, dport: orig.dport };
  if (orig.proto === IPPROTO_ICMP) {
    p.quoted.sport = orig.icmpId;
    p.quoted.dport = orig.icmpId;
  }
  const err = routeLocal(dp, ns, p);
  if (err) return dp.drop(p, ns, null, `cannot route ICMP error to ${formatIPv4(p.daddr)}: ${err}`);
  // icmpv4_xrlim_allow(): no limit towards ourselves (loopback), else the peer's bucket.
  const toSelf = p.dst!.dev === ns.lo.id;
  if (!toSelf && RATEMASK & (1 << type) && !peerTokens(dp, ns, p.daddr, 6 * ICMP_RATELIMIT_MS)) {
    if (dp.tracer) dp.trace(p, ns, null, "icmp", `ICMP type ${type} to ${formatIPv4(p.daddr)} suppressed by icmp_ratelimit`);
    return;
  }
  if (dp.tracer) dp.trace(p, ns, null, "icmp", `send ICMP type ${type} code ${code} to ${formatIPv4(p.daddr)}`);
  ipLocalOut(dp, ns, p);
}

// icmp_rcv()
export function icmpRcv(dp: Dataplane, ns: NetnsView, pkt: Packet, inDev: LinkView): void {
  if (pkt.icmpType === ICMP_ECHO) {
    if (ns.echoIgnoreAll) return dp.drop(pkt, ns, inDev, "icmp_echo_ignore_all=1");
    if (pkt.dst && pkt.dst.type === RTN_BROADCAST) return dp.drop(pkt, ns, inDev, "echo to broadcast ignored");
    const r = blankPacket();
    r.proto = IPPROTO_ICMP;
    r.icmpType = ICMP_ECHOREPLY;
    r.icmpId = pkt.icmpId;
    r.icmpSeq = pkt.icmpSeq;
    r.saddr = pkt.daddr;
    r.daddr = pkt.saddr;
    r.ttl = ns.defaultTtl;
    r.len = pkt.len;
    const err = routeLocal(dp, ns, r);
    if (err) return dp.drop(r, ns, null, `cannot route echo reply: ${err}`);
    ipLocalOut(dp, ns, r);
    return;
  }
  if (pkt.icmpType === ICMP_ECHOREPLY) return pingRcv(dp, ns, pkt);
  if (!isError(pkt.icmpType) || !pkt.quoted) return;
  switch (pkt.quoted.proto) {
    case IPPROTO_TCP:
      return tcpErr(dp, ns, pkt);
    case IPPROTO_UDP:
      return udpErr(dp, ns, pkt);
    case IPPROTO_ICMP:
      return pingErr(dp, ns, pkt);
  }
}
