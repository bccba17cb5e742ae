// Route decisions (net/ipv4/route.c): ip_route_output_key for local senders,
// ip_route_input_slow for received packets with its martian and source checks, and
// inet_select_addr for source address selection.
import type { RouteConfig, Scope } from "../config/types.ts";
import type { Dst, Packet } from "../wire/packet.ts";
import { DST_ERROR, DST_FORWARD, DST_LOCAL, DST_OUTPUT, RTN_BROADCAST, RTN_LOCAL, RTN_UNICAST } from "../wire/packet.ts";
import { formatIPv4, inPrefix, INADDR_BROADCAST, isLoopback, isMulticast, isZeronet, networkOf } from "../wire/ipv4.ts";
import type { LinkView, NetnsView } from "./view.ts";

const SCOPE_RANK: Record<Scope, number> = { global: 0, link: 253, host: 254 };

// inet_select_addr(): a primary address of dev in dst's subnet, else the first of
// suitable scope on dev, else one on any other device of the namespace.
export function inetSelectAddr(ns: NetnsView, dev: LinkView | null, dst: number, scope: Scope = "link"): number {
  const maxRank = SCOPE_RANK[scope];
  if (dev) {
    let first = 0;
    for (const a of dev.cfg.addrs) {
      if (a.secondary || SCOPE_RANK[a.scope] > maxRank) continue;
      if (dst !== 0 && inPrefix(dst, networkOf(a.addr, a.plen), a.plen)) return a.addr;
      if (!first) first = a.addr;
    }
    if (first) return first;
  }
  for (const l of ns.links) {
    if (l === dev) continue;
    for (const a of l.cfg.addrs) if (!a.secondary && a.scope === "global") return a.addr;
  }
  return 0;
}

export type RouteError = "ENETUNREACH" | "EHOSTUNREACH" | "EACCES" | "EINVAL";

export interface OutputRoute {
  dst: Dst | null;
  error: RouteError | null;
  route: RouteConfig | null;
}

function typeCode(r: RouteConfig): number {
  return r.type === "local" ? RTN_LOCAL : r.type === "broadcast" ? RTN_BROADCAST : RTN_UNICAST;
}

// ip_route_output_key_hash_rcu(): local destinations leave through lo.
export function routeOutput(ns: NetnsView, daddr: number, saddr: number): OutputRoute {
  if (saddr !== 0 && !ns.local.has(saddr)) return { dst: null, error: "EINVAL", route: null };
  const r = ns.fib.lookup(daddr);
  if (!r) return { dst: null, error: "ENETUNREACH", route: null };
  if (r.type === "unreachable" || r.type === "blackhole") return { dst: null, error: r.type === "unreachable" ? "EHOSTUNREACH" : "EINVAL", route: r };
  if (r.type === "prohibit") return { dst: null, error: "EACCES", route: r };
  if (r.type === "local") {
    return { dst: { type: RTN_LOCAL, dev: ns.lo.id, gw: daddr, src: saddr || daddr, input: DST_OUTPUT }, error: null, route: r };
  }
  const dev = ns.byId.get(r.dev!) ?? null;
  if (!dev) return { dst: null, error: "ENETUNREACH", route: r };
  const gw = r.via ?? daddr;
  const src = saddr || r.src || inetSelectAddr(ns, dev, gw, r.scope === "host" ? "host" : "link");
  return { dst: { type: typeCode(r), dev: dev.id, gw, src, input: DST_OUTPUT }, error: null, route: r };
}

export interface InputVerdict {
  ok: boolean;
  /** Why the packet is dropped (martian, rp_filter), or the no-route error. */
  reason: string;
  /** For no route: the ICMP code to send when forwarding (-1: silent). */
  icmpCode: number;
}

const OK: InputVerdict = { ok: true, reason: "", icmpCode: -1 };
function martian(reason: string): InputVerdict {
  return { ok: false, reason, icmpCode: -1 };
}

// fib_validate_source(): a source that is one of our addresses is a martian (unless
// accept_local); rp_filter asks that the reverse route leave through the input device.
function validateSource(ns: NetnsView, pkt: Packet, inDev: LinkView, oif: number): InputVerdict {
  const full = inDev.rpFilter !== 0 || (inDev.id === oif && inDev.sendRedirects);
  if (!full) {
    if (inDev.acceptLocal) return OK;
    return ns.local.has(pkt.saddr) ? martian(`martian source ${formatIPv4(pkt.saddr)}: it is a local address`) : OK;
  }
  const back = ns.fib.lookup(pkt.saddr);
  if (back && back.type === "local" && !inDev.acceptLocal) return martian(`martian source ${formatIPv4(pkt.saddr)}: it is a local address`);
  if (inDev.rpFilter === 0) return OK;
  if (!back) return martian(`rp_filter: no route back to ${formatIPv4(pkt.saddr)}`);
  if (inDev.rpFilter === 1 && back.dev !== inDev.id) {
    return martian(`rp_filter=1: the route back to ${formatIPv4(pkt.saddr)} leaves through another device`);
  }
  return OK;
}

// ip_route_input_slow(): sets pkt.dst, or says why the packet cannot be routed.
export function routeInput(ns: NetnsView, pkt: Packet, inDev: LinkView): InputVerdict {
  const { saddr, daddr } = pkt;
  if (isMulticast(saddr) || saddr === INADDR_BROADCAST) return martian(`martian source ${formatIPv4(saddr)}`);
  if (daddr === INADDR_BROADCAST || (saddr === 0 && daddr === 0)) {
    pkt.dst = { type: RTN_BROADCAST, dev: inDev.id, gw: 0, src: 0, input: DST_LOCAL };
    return OK;
  }
  if (isZeronet(saddr)) return martian(`martian source ${formatIPv4(saddr)}`);
  if (isZeronet(daddr)) return martian(`martian destination ${formatIPv4(daddr)}`);
  if (isLoopback(daddr) && !inDev.routeLocalnet) return martian(`martian destination ${formatIPv4(daddr)}`);
  if (isLoopback(saddr) && !inDev.routeLocalnet) return martian(`martian source ${formatIPv4(saddr)}`);
  const r = ns.fib.lookup(daddr);
  if (!r) return noRoute(inDev, "ENETUNREACH");
  if (r.type === "broadcast") {
    pkt.dst = { type: RTN_BROADCAST, dev: inDev.id, gw: 0, src: 0, input: DST_LOCAL };
    return OK;
  }
  if (r.type === "local") {
    const v = validateSource(ns, pkt, inDev, 0);
    if (!v.ok) return v;
    pkt.dst = { type: RTN_LOCAL, dev: inDev.id, gw: daddr, src: daddr, input: DST_LOCAL };
    return OK;
  }
  if (!inDev.forwarding) return noRoute(inDev, "EHOSTUNREACH");
  if (r.type !== "unicast" || r.dev === null) return noRoute(inDev, r.type === "prohibit" ? "EACCES" : "EHOSTUNREACH");
  const v = validateSource(ns, pkt, inDev, r.dev);
  if (!v.ok) return v;
  pkt.dst = { type: RTN_UNICAST, dev: r.dev, gw: r.via ?? daddr, src: r.src ?? 0, input: DST_FORWARD };
  return OK;
}

// ip_error(): with forwarding off the packet is dropped silently; else an ICMP error.
function noRoute(inDev: LinkView, err: "ENETUNREACH" | "EHOSTUNREACH" | "EACCES"): InputVerdict {
  if (!inDev.forwarding) {
    return { ok: false, reason: `not a local address and forwarding is off on ${inDev.name}`, icmpCode: -1 };
  }
  const code = err === "ENETUNREACH" ? 0 : err === "EHOSTUNREACH" ? 1 : 13;
  return { ok: false, reason: err === "ENETUNREACH" ? "no route to destination" : "destination unreachable", icmpCode: code };
}

export { DST_ERROR };
