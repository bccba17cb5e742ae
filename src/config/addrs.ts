// Addresses and the routes the kernel derives from them (fib_add_ifaddr / fib_del_ifaddr),
// plus what link state changes do to routes (fib_netdev_event, fib_sync_down_dev).
import type { AddressConfig, Config, LinkConfig, NetnsConfig, RouteConfig, Scope } from "./types.ts";
import { RT_TABLE_LOCAL, RT_TABLE_MAIN } from "./types.ts";
import { PList } from "./plist.ts";
import { plain } from "./plain.ts";
import { KernelError } from "./errors.ts";
import { broadcastOf, INADDR_BROADCAST, isZeronet, networkOf, parseIPv4 } from "../wire/ipv4.ts";

function kernelRoute(table: number, type: RouteConfig["type"], dst: number, plen: number, link: LinkConfig, src: number, scope: Scope): RouteConfig {
  return Object.freeze<RouteConfig>({ table, type, dst, plen, dev: link.id, via: null, src, scope, proto: "kernel", metric: 0 });
}

function sameRoute(a: RouteConfig, b: RouteConfig): boolean {
  return a.table === b.table && a.type === b.type && a.dst === b.dst && a.plen === b.plen && a.dev === b.dev && a.metric === b.metric;
}

/*
 * Indexes over a namespace's route list and a link's address list, so that adding many
 * addresses one after another (a node's 20k ClusterIPs on kube-ipvs0) does not scan both
 * lists on every add (fib_table_insert() is a trie walk, not a list walk).
 *
 * The lists are persistent (plist.ts): every change makes a new list. An index describes
 * one list, its owner, and moves on to the list a change makes from it (changed in place
 * alongside); the list it left is then not described by it any more. A list met without
 * its index (made elsewhere: a filter, a rebuilt list, the list a failed change left
 * behind after its index moved on) gets one built from it.
 */
interface RouteIndex {
  owner: PList<RouteConfig>;
  /** dst * 64 + plen → the routes with that prefix, in list order. */
  byPrefix: Map<number, RouteConfig[]>;
}
const routeIndexes = new WeakMap<PList<RouteConfig>, RouteIndex>();

const prefixKey = (dst: number, plen: number) => dst * 64 + plen;

/** The index that describes `list`: the one that moved on to it, else one built from it. */
function indexOf<T, I extends { owner: PList<T> }>(list: PList<T>, indexes: WeakMap<PList<T>, I>, build: (list: PList<T>) => I): I {
  let ix = indexes.get(list);
  if (!ix || ix.owner !== list) {
    ix = build(list);
    indexes.set(list, ix);
  }
  return ix;
}

/** The index moves on to `list`, which a change made from its owner. */
function moveIndex<T, I extends { owner: PList<T> }>(ix: I, indexes: WeakMap<PList<T>, I>, list: PList<T>): void {
  // The list it leaves is not described by it any more: its entry goes (a batch of 20k
  // changes would otherwise leave 20k dead entries for the collector to sweep).
  indexes.delete(ix.owner);
  ix.owner = list;
  indexes.set(list, ix);
}

function buildRouteIndex(list: PList<RouteConfig>): RouteIndex {
  const byPrefix = new Map<number, RouteConfig[]>();
  list.forEach((r) => {
    const k = prefixKey(r.dst, r.plen);
    const b = byPrefix.get(k);
    if (b) b.push(r);
    else byPrefix.set(k, [r]);
  });
  return { owner: list, byPrefix };
}

function routeIndex(nsc: NetnsConfig): RouteIndex {
  return indexOf(nsc.routes, routeIndexes, buildRouteIndex);
}

/** The namespace's routes with this prefix (dst, plen), in list order. */
export function routesAt(nsc: NetnsConfig, dst: number, plen: number): readonly RouteConfig[] {
  return routeIndex(nsc).byPrefix.get(prefixKey(dst, plen)) ?? [];
}

/**
 * Changes one route of the namespace's list, index alongside: `old` null appends
 * `route`; `route` null removes `old`; both: `route` takes `old`'s place.
 */
export function putRoute(nsc: NetnsConfig, old: RouteConfig | null, route: RouteConfig | null): void {
  const ix = routeIndex(nsc);
  const list = nsc.routes;
  let next = list;
  if (old === null) next = list.push(route!);
  else {
    const i = list.lastIndexOf(old);
    if (i < 0) return;
    next = route === null ? list.removeAt(i) : list.set(i, route);
  }
  if (old !== null) {
    const k = prefixKey(old.dst, old.plen);
    const b = ix.byPrefix.get(k)!;
    const at = b.indexOf(old);
    if (route !== null && route.dst === old.dst && route.plen === old.plen) b[at] = route;
    else if (b.length === 1) ix.byPrefix.delete(k);
    else b.splice(at, 1);
  }
  if (route !== null && (old === null || route.dst !== old.dst || route.plen !== old.plen)) {
    const k = prefixKey(route.dst, route.plen);
    const b = ix.byPrefix.get(k);
    // (A replaced route lands at old's place in the list: its new bucket is rebuilt in list order.)
    if (!b) ix.byPrefix.set(k, [route]);
    else if (old === null) b.push(route);
    else ix.byPrefix.set(k, next.filter((r) => r.dst === route.dst && r.plen === route.plen));
  }
  nsc.routes = next;
  moveIndex(ix, routeIndexes, next);
}

// fib_table_insert() of a kernel route: nothing when the same route is there already.
function insertRoute(nsc: NetnsConfig, route: RouteConfig): void {
  if (routesAt(nsc, route.dst, route.plen).some((r) => sameRoute(r, route))) return;
  putRoute(nsc, null, route);
}

function primaryFor(link: LinkConfig, ifa: AddressConfig): AddressConfig {
  if (!ifa.secondary) return ifa;
  const ix = addrIndexes.get(link.addrs);
  if (ix && ix.owner === link.addrs) {
    const p = ix.primaryOf.get(prefixKey(networkOf(ifa.addr, ifa.plen), ifa.plen));
    if (p) return p;
  }
  return link.addrs.find((a) => !a.secondary && a.plen === ifa.plen && networkOf(a.addr, a.plen) === networkOf(ifa.addr, ifa.plen)) ?? ifa;
}

// fib_add_ifaddr(): local route always; broadcast and prefix routes only when the device is up.
function fibAddIfaddr(config: Config, link: LinkConfig, ifa: AddressConfig): void {
  const routes = config.netns[link.netns]!;
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

/** Does the link hold addr? From its list's index when it has one. */
export function linkHasAddr(link: LinkConfig, addr: number): boolean {
  const addrs = link.addrs;
  const ix = addrIndexes.get(addrs);
  return ix && ix.owner === addrs ? ix.addrCount.has(addr) : addrs.some((a) => a.addr === addr);
}

/**
 * Does another link of link's namespace hold addr? The links are read as plain objects
 * (their lists are frozen: a copy of the record is all that costs), not through the
 * draft, which would draft every link it reads.
 */
function otherLinkHas(config: Config, link: LinkConfig, addr: number): boolean {
  const links = plain(config.links);
  for (const key in links) {
    const l = links[key]!;
    if (l.netns !== link.netns || l.id === link.id) continue;
    if (linkHasAddr(l, addr)) return true;
  }
  return false;
}

// fib_del_ifaddr(): drop the kernel routes this address created.
function fibDelIfaddr(config: Config, link: LinkConfig, ifa: AddressConfig, lix: AddrIndex): void {
  const nsc = config.netns[link.netns]!;
  const prefix = networkOf(ifa.addr, ifa.plen);
  const bcast = broadcastOf(ifa.addr, ifa.plen);
  const me = ifa;
  // Another entry than this one (the same address and length on this link): on this
  // link, from its index; on the namespace's other links, from theirs or their lists.
  const stillLocal = (lix.addrCount.get(me.addr) ?? 0) > 1 || otherLinkHas(config, link, me.addr);
  const samePrefix = (lix.subnets.get(prefixKey(prefix, me.plen))?.n ?? 0) > 1;
  const keep = (r: RouteConfig): boolean => {
    if (r.proto !== "kernel" || r.dev !== link.id) return true;
    if (r.table === RT_TABLE_LOCAL && r.type === "local" && r.dst === ifa.addr && r.plen === 32) return stillLocal;
    if (samePrefix) return true;
    if (r.type === "broadcast" && (r.dst === bcast || r.dst === ifa.broadcast)) return false;
    if (r.dst === prefix && r.plen === ifa.plen) return false;
    return true;
  };
  // The routes that can go are found from the prefix index (the address's /32, the
  // broadcast addresses at any length, the subnet), not by walking the whole list.
  const byPrefix = routeIndex(nsc).byPrefix;
  const gone = new Set<RouteConfig>();
  const consider = (dst: number, plen: number) => {
    const b = byPrefix.get(prefixKey(dst, plen));
    if (b) for (const r of b) if (!keep(r)) gone.add(r);
  };
  consider(ifa.addr, 32);
  consider(prefix, ifa.plen);
  for (let plen = 0; plen <= 32; plen++) {
    consider(bcast, plen);
    if (ifa.broadcast !== bcast) consider(ifa.broadcast, plen);
  }
  for (const r of gone) putRoute(nsc, r, null);
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
  owner: PList<AddressConfig>;
  /** addr * 64 + plen → the address. */
  byKey: Map<number, AddressConfig>;
  /** addr → how many entries have it (with different lengths). */
  addrCount: Map<number, number>;
  /** network * 64 + plen → the scope of the addresses in that subnet and how many there are. */
  subnets: Map<number, { scope: Scope; n: number }>;
  /** network * 64 + plen → the subnet's primary. */
  primaryOf: Map<number, AddressConfig>;
  /** Primaries by scope, when they are the list's head in scope order (as __inet_insert_ifa() keeps them); null otherwise. */
  primaries: Record<Scope, number> | null;
}
const addrIndexes = new WeakMap<PList<AddressConfig>, AddrIndex>();

function indexAddr(ix: AddrIndex, a: AddressConfig): void {
  ix.byKey.set(prefixKey(a.addr, a.plen), a);
  ix.addrCount.set(a.addr, (ix.addrCount.get(a.addr) ?? 0) + 1);
  const sk = prefixKey(networkOf(a.addr, a.plen), a.plen);
  const sub = ix.subnets.get(sk);
  if (sub) sub.n++;
  else ix.subnets.set(sk, { scope: a.scope, n: 1 });
  if (!a.secondary) {
    if (!ix.primaryOf.has(sk)) ix.primaryOf.set(sk, a);
    if (ix.primaries) ix.primaries[a.scope]++;
  }
}

function unindexAddr(ix: AddrIndex, a: AddressConfig): void {
  ix.byKey.delete(prefixKey(a.addr, a.plen));
  const c = ix.addrCount.get(a.addr)! - 1;
  if (c) ix.addrCount.set(a.addr, c);
  else ix.addrCount.delete(a.addr);
  const sk = prefixKey(networkOf(a.addr, a.plen), a.plen);
  const sub = ix.subnets.get(sk)!;
  if (--sub.n === 0) ix.subnets.delete(sk);
  if (!a.secondary) {
    if (ix.primaryOf.get(sk) === a) ix.primaryOf.delete(sk);
    if (ix.primaries) ix.primaries[a.scope]--;
  }
}

function buildAddrIndex(all: PList<AddressConfig>): AddrIndex {
  const ix: AddrIndex = { owner: all, byKey: new Map(), addrCount: new Map(), subnets: new Map(), primaryOf: new Map(), primaries: { global: 0, link: 0, host: 0 } };
  let prev = Infinity;
  let inHead = true;
  all.forEach((a) => {
    if (a.secondary) inHead = false;
    else {
      if (!inHead || SCOPE_ORDER[a.scope] > prev) ix.primaries = null;
      prev = SCOPE_ORDER[a.scope];
    }
    indexAddr(ix, a);
  });
  return ix;
}

/** The index of the link's address list. */
function addrIndex(link: LinkConfig): AddrIndex {
  return indexOf(link.addrs, addrIndexes, buildAddrIndex);
}

/** The link's address list becomes `list`, which a change made from the one `ix` describes. */
function setAddrs(link: LinkConfig, ix: AddrIndex, list: PList<AddressConfig>): void {
  link.addrs = list;
  moveIndex(ix, addrIndexes, list);
}

// __inet_insert_ifa(): an address in the subnet of an existing one becomes secondary and
// must have its scope; a primary goes after the last primary of a wider or equal scope.
export function addAddress(config: Config, link: LinkConfig, spec: AddrSpec): void {
  const ix = addrIndex(link);
  const list = link.addrs;
  const prefix = networkOf(spec.addr, spec.plen);
  if (ix.byKey.has(prefixKey(spec.addr, spec.plen))) throw new KernelError("EEXIST", "ipv4: Address already assigned.");
  const sub = ix.subnets.get(prefixKey(prefix, spec.plen));
  if (sub && sub.scope !== spec.scope) throw new KernelError("EINVAL", "ipv4: Invalid scope value.");
  const secondary = sub !== undefined;
  let at = list.length;
  if (!secondary) {
    if (ix.primaries) {
      // Primaries are the head of the list, host before link before global.
      const p = ix.primaries;
      const s = SCOPE_ORDER[spec.scope];
      at = p.host + (s <= SCOPE_ORDER.link ? p.link : 0) + (s <= SCOPE_ORDER.global ? p.global : 0);
    } else at = scanLastPrimary(list, spec.scope);
  }
  const ifa: AddressConfig = Object.freeze({ ...spec, secondary });
  setAddrs(link, ix, list.insert(at, ifa));
  indexAddr(ix, ifa);
  fibAddIfaddr(config, link, ifa);
}

function scanLastPrimary(addrs: PList<AddressConfig>, scope: Scope): number {
  let lastPrimary = 0;
  const s = SCOPE_ORDER[scope];
  addrs.forEach((a, i) => {
    if (!a.secondary && s <= SCOPE_ORDER[a.scope]) lastPrimary = i + 1;
  });
  return lastPrimary;
}

export function delAddress(config: Config, link: LinkConfig, addr: number, plen: number | null): void {
  const ix = addrIndex(link);
  const list = link.addrs;
  // With a length, at most one entry matches: the index names it, found by identity
  // from the end (where the newest addresses are); without, the first match.
  const byKey = plen === null ? undefined : ix.byKey.get(prefixKey(addr, plen));
  let idx = -1;
  if (byKey) idx = list.lastIndexOf(byKey);
  else if (plen === null && ix.addrCount.has(addr)) idx = list.findIndex((a) => a.addr === addr);
  if (idx < 0) throw new KernelError("EADDRNOTAVAIL", "ipv4: Address not found.");
  const ifa = list.at(idx)!;
  fibDelIfaddr(config, link, ifa, ix);
  setAddrs(link, ix, list.removeAt(idx));
  unindexAddr(ix, ifa);
  // Deleting a primary deletes its secondaries too (promote_secondaries defaults to off).
  // (The subnet index says whether any address is left in the subnet: none, no walk.)
  const prefix = networkOf(ifa.addr, ifa.plen);
  if (!ifa.secondary && ix.subnets.has(prefixKey(prefix, ifa.plen))) {
    const secs = link.addrs.filter((a) => a.secondary && a.plen === ifa.plen && networkOf(a.addr, a.plen) === prefix);
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
    const ix = addrIndex(link);
    const lo: AddressConfig = Object.freeze<AddressConfig>({ addr: LOOPBACK_ADDR, plen: 8, broadcast: 0, scope: "host", secondary: false });
    setAddrs(link, ix, link.addrs.insert(0, lo));
    indexAddr(ix, lo);
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
  if (nsc) nsc.routes = nsc.routes.retain((r) => r.dev !== link.id || r.scope === "host");
}

export function flushRoutesVia(config: Config, link: LinkConfig): void {
  const nsc = config.netns[link.netns];
  if (nsc) nsc.routes = nsc.routes.retain((r) => r.dev !== link.id);
}
