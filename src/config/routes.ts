// User routes: ip route add/del, with the checks of fib_create_info() / fib_check_nh().
import type { Config, LinkConfig, RouteConfig, RouteProto, RouteType, Scope } from "./types.ts";
import { RT_TABLE_MAIN } from "./types.ts";
import { KernelError } from "./errors.ts";
import { linkHasAddr, putRoute, routesAt } from "./addrs.ts";
import { plain } from "./plain.ts";
import { networkOf } from "../wire/ipv4.ts";

export interface RouteSpec {
  table: number;
  type: RouteType;
  dst: number;
  plen: number;
  dev: LinkConfig | null;
  via: number | null;
  src: number | null;
  scope: Scope | null;
  proto: RouteProto;
  metric: number;
  onlink?: boolean;
}

function isLocalAddr(config: Config, ns: string, addr: number): boolean {
  const links = plain(config.links);
  for (const key in links) {
    const l = links[key]!;
    if (l.netns === ns && linkHasAddr(l, addr)) return true;
  }
  return false;
}

// fib_check_nh_v4_gw(): a gateway must be on-link: a route of scope link reaches it (the
// longest prefix holding gw, the first in list order of that length).
function gatewayLink(config: Config, ns: string, gw: number, dev: LinkConfig | null): LinkConfig | null {
  const nsc = config.netns[ns]!;
  for (let plen = 32; plen >= 0; plen--) {
    for (const r of routesAt(nsc, networkOf(gw, plen), plen)) {
      if (r.table !== RT_TABLE_MAIN || r.type !== "unicast" || r.via !== null || r.dev === null) continue;
      if (dev && r.dev !== dev.id) continue;
      return config.links[r.dev]!;
    }
  }
  return null;
}

export function addRoute(config: Config, ns: string, spec: RouteSpec, replace: boolean): void {
  const nsc = config.netns[ns]!;
  const dst = networkOf(spec.dst, spec.plen);
  if (dst !== spec.dst) throw new KernelError("EINVAL", "Invalid prefix for given prefix length.");
  let dev = spec.dev;
  const viaType = spec.type === "unicast" || spec.type === "local" || spec.type === "broadcast";
  const scope: Scope = spec.scope ?? (spec.type === "local" ? "host" : spec.via === null && viaType ? "link" : "global");
  if (viaType && scope === "host") {
    // fib_create_info(): a host-scope route has no gateway and its device is not checked (it may be down).
    if (spec.via !== null) throw new KernelError("EINVAL", "Route with host scope can not have a gateway.");
    if (!dev) throw new KernelError("ENODEV");
  } else if (viaType) {
    if (spec.via !== null && spec.onlink) {
      // fib_check_nh_v4_gw() with RTNH_F_ONLINK: the device is given, up, and the gateway
      // is a unicast address; no connected route is needed.
      if (!dev) throw new KernelError("ENODEV", "Nexthop device required for onlink.");
      if (!dev.up) throw new KernelError("ENETDOWN", "Nexthop device is not up.");
      if (isLocalAddr(config, ns, spec.via) || (spec.via >>> 28) >= 14 || spec.via === 0) throw new KernelError("EINVAL", "Nexthop has invalid gateway.");
    } else if (spec.via !== null) {
      const gwDev = gatewayLink(config, ns, spec.via, dev);
      if (!gwDev) throw new KernelError("ENETUNREACH", "Nexthop has invalid gateway.");
      dev = gwDev;
    }
    if (!dev) throw new KernelError("ENODEV", "Device for nexthop is not up.");
    // fib_check_nh_v4_gw() and fib_check_nh_nongw() word a down device differently.
    if (!dev.up) throw new KernelError("ENETDOWN", spec.via !== null ? "Nexthop device is not up." : "Device for nexthop is not up.");
  }
  if (spec.src !== null && !isLocalAddr(config, ns, spec.src)) throw new KernelError("EINVAL", "Invalid prefsrc address.");
  const route: RouteConfig = {
    table: spec.table,
    type: spec.type,
    dst,
    plen: spec.plen,
    dev: viaType ? dev!.id : null,
    via: spec.via,
    src: spec.src,
    scope,
    proto: spec.proto,
    metric: spec.metric,
    ...(spec.onlink && spec.via !== null ? { onlink: true } : {}),
  };
  const same = routesAt(nsc, dst, spec.plen).find((r) => r.table === route.table && r.metric === spec.metric);
  if (same && !replace) throw new KernelError("EEXIST");
  putRoute(nsc, same ?? null, route);
}

export interface RouteMatch {
  table: number;
  dst: number;
  plen: number;
  dev: LinkConfig | null;
  via: number | null;
  metric: number | null;
}

// fib_table_delete(): the first route matching every key the user gave.
export function delRoute(config: Config, ns: string, m: RouteMatch): void {
  const nsc = config.netns[ns]!;
  const r = routesAt(nsc, m.dst, m.plen).find(
    (r) => r.table === m.table && (m.dev === null || r.dev === m.dev.id) && (m.via === null || r.via === m.via) && (m.metric === null || r.metric === m.metric),
  );
  if (!r) throw new KernelError("ESRCH");
  putRoute(nsc, r, null);
}
