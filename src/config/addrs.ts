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

/*
 * Indexes over a namespace's route list and a link's address list, so that adding many
 * addresses one after another (a node's 20k ClusterIPs on kube-ipvs0) does not scan both
 * lists on every add (fib_table_insert() is a trie lookup, not a list walk). An index is
 * kept beside the array it describes (the plain array, or the draft a change works on)
 * and is valid while that array's length and last element are the ones it saw; any
 * other change to the array is made here and drops it. It is built on the second query
 * against the same array: one command adding one address scans the list once, as before.
 */
interface RouteIndex {
  len: number;
  tail: RouteConfig | undefined;
  /** dst * 64 + plen → the routes with that prefix. */
  byPrefix: Map<number, RouteConfig[]>;
}
const routeIndexes = new WeakMap<RouteConfig[], RouteIndex | "scanned">();

const prefixKey = (dst: number, plen: number) => dst * 64 + plen;

/** The list's last element without drafting it. */
function tailOf<T>(xs: T[]): T | undefined {
  return xs.length ? plain(xs[xs.length - 1]) : undefined;
}

function routeIndex(routes: RouteConfig[]): RouteIndex | null {
  const ix = routeIndexes.get(routes);
  if (ix === undefined) {
    routeIndexes.set(routes, "scanned");
    return null;
  }
  if (ix !== "scanned" && ix.len === routes.length && ix.tail === tailOf(routes)) return ix;
  const byPrefix = new Map<number, RouteConfig[]>();
  const all = plain(routes);
  for (const r of all) {
    const k = prefixKey(r.dst, r.plen);
    const b = byPrefix.get(k);
    if (b) b.push(r);
    else byPrefix.set(k, [r]);
  }
  const built: RouteIndex = { len: all.length, tail: all[all.length - 1], byPrefix };
  routeIndexes.set(routes, built);
  return built;
}

/** Drops the index of a route list changed other than by insertRoute. */
export function routesChanged(routes: RouteConfig[]): void {
  routeIndexes.delete(routes);
}

// fib_table_insert() of a kernel route: nothing when the same route is there already.
function insertRoute(routes: RouteConfig[], route: RouteConfig): void {
  const ix = routeIndex(routes);
  if (ix) {
    const k = prefixKey(route.dst, route.plen);
    const b = ix.byPrefix.get(k);
    if (b?.some((r) => sameRoute(r, route))) return;
    routes.push(route);
    if (b) b.push(route);
    else ix.byPrefix.set(k, [route]);
    ix.len = routes.length;
    ix.tail = route;
    return;
  }
  if (!plain(routes).some((r) => sameRoute(r, route))) routes.push(route);
}

function primaryFor(link: LinkConfig, ifa: AddressConfig): AddressConfig {
  if (!ifa.secondary) return ifa;
  const ix = addrIndexes.get(link.addrs);
  if (ix && ix !== "scanned" && ix.len === link.addrs.length && ix.tail === tailOf(link.addrs)) {
    const p = ix.primaryOf.get(prefixKey(networkOf(ifa.addr, ifa.plen), ifa.plen));
    if (p) return p;
  }
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

interface AddrIndex {
  len: number;
  tail: AddressConfig | undefined;
  /** addr * 64 + plen of every address. */
  keys: Set<number>;
  /** network * 64 + plen → the scope of the addresses in that subnet and how many there are. */
  subnets: Map<number, { scope: Scope; n: number }>;
  /** network * 64 + plen → the subnet's primary. */
  primaryOf: Map<number, AddressConfig>;
  /** Primaries by scope (SCOPE_ORDER), when they are the list's head in scope order (as __inet_insert_ifa() keeps them); null otherwise. */
  primaries: Record<Scope, number> | null;
}
const addrIndexes = new WeakMap<AddressConfig[], AddrIndex | "scanned">();

function addrIndex(addrs: AddressConfig[]): AddrIndex | null {
  const ix = addrIndexes.get(addrs);
  if (ix === undefined) {
    addrIndexes.set(addrs, "scanned");
    return null;
  }
  if (ix !== "scanned" && ix.len === addrs.length && ix.tail === tailOf(addrs)) return ix;
  const all = plain(addrs);
  const built: AddrIndex = { len: all.length, tail: all[all.length - 1], keys: new Set(), subnets: new Map(), primaryOf: new Map(), primaries: { global: 0, link: 0, host: 0 } };
  let prev = Infinity;
  let inHead = true;
  for (const a of all) {
    built.keys.add(prefixKey(a.addr, a.plen));
    const sk = prefixKey(networkOf(a.addr, a.plen), a.plen);
    const sub = built.subnets.get(sk);
    if (sub) sub.n++;
    else built.subnets.set(sk, { scope: a.scope, n: 1 });
    if (a.secondary) inHead = false;
    else {
      if (!built.primaryOf.has(sk)) built.primaryOf.set(sk, a);
      if (!inHead || SCOPE_ORDER[a.scope] > prev) built.primaries = null;
      prev = SCOPE_ORDER[a.scope];
      if (built.primaries) built.primaries[a.scope]++;
    }
  }
  addrIndexes.set(addrs, built);
  return built;
}

// __inet_insert_ifa(): an address in the subnet of an existing one becomes secondary and
// must have its scope; a primary goes after the last primary of a wider or equal scope.
export function addAddress(config: Config, link: LinkConfig, spec: AddrSpec): void {
  const ix = addrIndex(link.addrs);
  const prefix = networkOf(spec.addr, spec.plen);
  let secondary = false;
  let lastPrimary = 0;
  if (ix) {
    if (ix.keys.has(prefixKey(spec.addr, spec.plen))) throw new KernelError("EEXIST", "ipv4: Address already assigned.");
    const sub = ix.subnets.get(prefixKey(prefix, spec.plen));
    if (sub) {
      if (sub.scope !== spec.scope) throw new KernelError("EINVAL", "ipv4: Invalid scope value.");
      secondary = true;
    }
    if (ix.primaries) {
      const p = ix.primaries;
      const s = SCOPE_ORDER[spec.scope];
      // Primaries are the head of the list, host before link before global.
      lastPrimary = p.host + (s <= SCOPE_ORDER.link ? p.link : 0) + (s <= SCOPE_ORDER.global ? p.global : 0);
    } else lastPrimary = scanLastPrimary(plain(link.addrs), spec.scope);
  } else {
    const addrs = plain(link.addrs);
    if (addrs.some((a) => a.addr === spec.addr && a.plen === spec.plen)) throw new KernelError("EEXIST", "ipv4: Address already assigned.");
    for (const a of addrs) {
      if (a.plen === spec.plen && networkOf(a.addr, a.plen) === prefix) {
        if (a.scope !== spec.scope) throw new KernelError("EINVAL", "ipv4: Invalid scope value.");
        secondary = true;
      }
    }
    lastPrimary = scanLastPrimary(addrs, spec.scope);
  }
  const ifa: AddressConfig = { ...spec, secondary };
  const len = link.addrs.length;
  const at = secondary ? len : lastPrimary;
  if (at === len) link.addrs.push(ifa);
  else link.addrs.splice(at, 0, ifa);
  if (ix) {
    ix.keys.add(prefixKey(spec.addr, spec.plen));
    const sk = prefixKey(prefix, spec.plen);
    const sub = ix.subnets.get(sk);
    if (sub) sub.n++;
    else ix.subnets.set(sk, { scope: spec.scope, n: 1 });
    if (!secondary) {
      ix.primaryOf.set(sk, ifa);
      if (ix.primaries) ix.primaries[spec.scope]++;
    }
    ix.len = link.addrs.length;
    ix.tail = tailOf(link.addrs);
  }
  fibAddIfaddr(config, link, ifa);
}

function scanLastPrimary(addrs: readonly AddressConfig[], scope: Scope): number {
  let lastPrimary = 0;
  const s = SCOPE_ORDER[scope];
  for (let i = 0; i < addrs.length; i++) {
    const a = addrs[i]!;
    if (!a.secondary && s <= SCOPE_ORDER[a.scope]) lastPrimary = i + 1;
  }
  return lastPrimary;
}

export function delAddress(config: Config, link: LinkConfig, addr: number, plen: number | null): void {
  const addrs = plain(link.addrs);
  const idx = addrs.findIndex((a) => a.addr === addr && (plen === null || a.plen === plen));
  if (idx < 0) throw new KernelError("EADDRNOTAVAIL", "ipv4: Address not found.");
  const ifa = addrs[idx]!;
  fibDelIfaddr(config, link, ifa);
  addrIndexes.delete(link.addrs);
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
    addrIndexes.delete(link.addrs);
    link.addrs.unshift({ addr: LOOPBACK_ADDR, plen: 8, broadcast: 0, scope: "host", secondary: false });
  }
  for (const ifa of link.addrs) fibAddIfaddr(config, link, ifa);
}

// NETDEV_DOWN: fib_disable_ip() flushes every route through the device, kernel or user.
export function linkDown(config: Config, link: LinkConfig): void {
  if (!link.up) return;
  link.up = false;
  flushRoutesVia(config, link);
  // The local routes of its addresses come back at once (the address is still local).
  for (const ifa of link.addrs) fibAddIfaddr(config, link, ifa);
}

export function flushRoutesVia(config: Config, link: LinkConfig): void {
  const nsc = config.netns[link.netns];
  if (nsc) nsc.routes = plain(nsc.routes).filter((r) => r.dev !== link.id);
}
