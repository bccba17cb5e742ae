// Addresses and the routes the kernel derives from them (fib_add_ifaddr / fib_del_ifaddr),
// plus what link state changes do to routes (fib_netdev_event, fib_sync_down_dev).
import type { AddressConfig, Config, LinkConfig, RouteConfig, Scope } from "./types.ts";
import { RT_TABLE_LOCAL, RT_TABLE_MAIN } from "./types.ts";
import { plain } from "./plain.ts";
import { KernelError } from "./errors.ts";
import { broadcastOf, INADDR_BROADCAST, isZeronet, networkOf, parseIPv4 } from "../wire/ipv4.ts";

function kernelRoute(table: number, type: RouteConfig["type"], dst: number, plen: number, link: LinkConfig, src: number, scope: Scope): RouteConfig {
  return { table, type, dst, plen, dev: link.id, via: null, src, scope, proto: "kernel", metric: 0 };
}

function sameRoute(a: RouteConfig, b: RouteConfig): boolean {
  return a.table === b.table && a.type === b.type && a.dst === b.dst && a.plen === b.plen && a.dev === b.dev && a.metric === b.metric;
}

function insertRoute(routes: RouteConfig[], route: RouteConfig): void {
  if (!plain(routes).some((r) => sameRoute(r, route))) routes.push(route);
}

function primaryFor(link: LinkConfig, ifa: AddressConfig): AddressConfig {
  if (!ifa.secondary) return ifa;
  return plain(link.addrs).find((a) => !a.secondary && a.plen === ifa.plen && networkOf(a.addr, a.plen) === networkOf(ifa.addr, ifa.plen)) ?? ifa;
}

// fib_add_ifaddr(): local route always; broadcast and prefix routes only when the device is up.
function fibAddIfaddr(config: Config, link: LinkConfig, ifa: AddressConfig): void {
  const routes = config.netns[link.netns]!.routes;
  const prim = primaryFor(link, ifa).addr;
  insertRoute(routes, kernelRoute(RT_TABLE_LOCAL, "local", ifa.addr, 32, link, prim, "host"));
  if (!link.up) return;
  if (ifa.broadcast && ifa.broadcast !== INADDR_BROADCAST) {
    insertRoute(routes, kernelRoute(RT_TABLE_LOCAL, "broadcast", ifa.broadcast, 32, link, prim, "link"));
  }
  const prefix = networkOf(ifa.addr, ifa.plen);
  if (!isZeronet(prefix) && !ifa.secondary && (prefix !== ifa.addr || ifa.plen < 32)) {
    if (link.kind === "loopback") insertRoute(routes, kernelRoute(RT_TABLE_LOCAL, "local", prefix, ifa.plen, link, prim, "host"));
    else insertRoute(routes, kernelRoute(RT_TABLE_MAIN, "unicast", prefix, ifa.plen, link, prim, "link"));
    if (ifa.plen < 31) {
      insertRoute(routes, kernelRoute(RT_TABLE_LOCAL, "broadcast", broadcastOf(ifa.addr, ifa.plen), 32, link, prim, "link"));
    }
  }
}

// fib_del_ifaddr(): drop the kernel routes this address created.
function fibDelIfaddr(config: Config, link: LinkConfig, ifa: AddressConfig): void {
  const nsc = config.netns[link.netns]!;
  const prefix = networkOf(ifa.addr, ifa.plen);
  const bcast = broadcastOf(ifa.addr, ifa.plen);
  const me = plain(ifa);
  // Another entry than this one (the same address and length on this link).
  const other = (l: LinkConfig, a: AddressConfig) => l.id !== link.id || a.addr !== me.addr || a.plen !== me.plen;
  const stillLocal = Object.values(plain(config.links)).some((l) => l.netns === link.netns && plain(l.addrs).some((a) => a.addr === me.addr && other(l, a)));
  const samePrefix = plain(link.addrs).some((a) => other(link, a) && a.plen === me.plen && networkOf(a.addr, a.plen) === prefix);
  nsc.routes = plain(nsc.routes).filter((r) => {
    if (r.proto !== "kernel" || r.dev !== link.id) return true;
    if (r.table === RT_TABLE_LOCAL && r.type === "local" && r.dst === ifa.addr && r.plen === 32) return stillLocal;
    if (samePrefix) return true;
    if (r.type === "broadcast" && (r.dst === bcast || r.dst === ifa.broadcast)) return false;
    if (r.dst === prefix && r.plen === ifa.plen) return false;
    return true;
  });
}

export interface AddrSpec {
  addr: number;
  plen: number;
  broadcast: number;
  scope: Scope;
  label?: string;
}

/** rt_scope_t: RT_SCOPE_UNIVERSE 0, RT_SCOPE_LINK 253, RT_SCOPE_HOST 254. */
const SCOPE_ORDER: Record<Scope, number> = { global: 0, link: 253, host: 254 };

export function addAddress(config: Config, link: LinkConfig, spec: AddrSpec): void {
  const addrs = plain(link.addrs);
  if (addrs.some((a) => a.addr === spec.addr && a.plen === spec.plen)) throw new KernelError("EEXIST", "ipv4: Address already assigned.");
  const prefix = networkOf(spec.addr, spec.plen);
  // __inet_insert_ifa(): an address in the subnet of an existing one becomes secondary and
  // must have its scope; a primary goes after the last primary of a wider or equal scope.
  let secondary = false;
  let lastPrimary = 0;
  addrs.forEach((a, i) => {
    if (!a.secondary && SCOPE_ORDER[spec.scope] <= SCOPE_ORDER[a.scope]) lastPrimary = i + 1;
    if (a.plen === spec.plen && networkOf(a.addr, a.plen) === prefix) {
      if (a.scope !== spec.scope) throw new KernelError("EINVAL", "ipv4: Invalid scope value.");
      secondary = true;
    }
  });
  const ifa: AddressConfig = { ...spec, secondary };
  const at = secondary ? link.addrs.length : lastPrimary;
  link.addrs.splice(at, 0, ifa);
  fibAddIfaddr(config, link, link.addrs[at]!);
}

export function delAddress(config: Config, link: LinkConfig, addr: number, plen: number | null): void {
  const addrs = plain(link.addrs);
  const idx = addrs.findIndex((a) => a.addr === addr && (plen === null || a.plen === plen));
  if (idx < 0) throw new KernelError("EADDRNOTAVAIL", "ipv4: Address not found.");
  const ifa = addrs[idx]!;
  fibDelIfaddr(config, link, ifa);
  link.addrs.splice(idx, 1);
  // Deleting a primary deletes its secondaries too (promote_secondaries defaults to off).
  if (!ifa.secondary) {
    const prefix = networkOf(ifa.addr, ifa.plen);
    const secs = plain(link.addrs).filter((a) => a.secondary && a.plen === ifa.plen && networkOf(a.addr, a.plen) === prefix);
    for (const sec of secs) delAddress(config, link, sec.addr, sec.plen);
  }
}

const LOOPBACK_ADDR = parseIPv4("127.0.0.1")!;

// NETDEV_UP: inetdev_event() gives lo 127.0.0.1/8; fib_netdev_event() adds every address's routes.
export function linkUp(config: Config, link: LinkConfig): void {
  if (link.up) return;
  link.up = true;
  link.everUp = true;
  if (link.kind === "loopback" && !link.addrs.some((a) => a.addr === LOOPBACK_ADDR)) {
    link.addrs.unshift({ addr: LOOPBACK_ADDR, plen: 8, broadcast: 0, scope: "host", secondary: false });
  }
  for (const ifa of link.addrs) fibAddIfaddr(config, link, ifa);
}

// NETDEV_DOWN: fib_disable_ip() -> fib_sync_down_dev(force=false) kills every route through
// the device, kernel or user, except host-scope ones (their nexthop scope is RT_SCOPE_NOWHERE):
// the local routes of its addresses and user routes of scope host stay.
export function linkDown(config: Config, link: LinkConfig): void {
  if (!link.up) return;
  link.up = false;
  const nsc = config.netns[link.netns];
  if (nsc) nsc.routes = plain(nsc.routes).filter((r) => r.dev !== link.id || r.scope === "host");
}

export function flushRoutesVia(config: Config, link: LinkConfig): void {
  const nsc = config.netns[link.netns];
  if (nsc) nsc.routes = plain(nsc.routes).filter((r) => r.dev !== link.id);
}
