// Addresses and the routes the kernel derives from them (fib_add_ifaddr / fib_del_ifaddr),
// plus what link state changes do to routes (fib_netdev_event, fib_sync_down_dev).
import type { AddressConfig, Config, LinkConfig, NetnsConfig, RouteConfig, Scope } from "./types.ts";
import { RT_TABLE_LOCAL, RT_TABLE_MAIN } from "./types.ts";
import { isDraft, isModified, original } from "immer";
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
 * An index describes one array, its owner. The first change to a list in a change (an
 * immer draft) replaces the draft's list by a plain copy that this module then changes
 * in place, index alongside; immer freezes that very array into the next snapshot, so
 * the next change finds the index by the array's identity. Any other change to a list
 * gives it a new identity (immer's copy, a filter) or drops the index (routesChanged),
 * and a change that fails leaves the old array, whose index has moved on: it is rebuilt.
 */
interface RouteIndex {
  owner: RouteConfig[] | null;
  /** dst * 64 + plen → the routes with that prefix. */
  byPrefix: Map<number, RouteConfig[]>;
}
const routeIndexes = new WeakMap<RouteConfig[], RouteIndex>();

const prefixKey = (dst: number, plen: number) => dst * 64 + plen;

/**
 * The array a list's next snapshot will hold, changeable in place: a draft's (or a
 * frozen list's) contents copied once. A copy is frozen again when the operation ends
 * (sealOwned), elements and all, so that immer takes it as it is instead of walking
 * every element to freeze it; a plain list handed in unfrozen (a batch building a
 * snapshot by hand) is changed in place and left to its owner.
 */
function ownedList<T>(list: T[]): T[] {
  if (!isDraft(list) && !Object.isFrozen(list)) return list;
  const copy = plain(list).slice();
  // Elements a change added before this one may not be frozen yet.
  if (isDraft(list) && isModified(list)) for (const x of copy) Object.freeze(x);
  toSeal.push(copy);
  return copy;
}
let toSeal: unknown[][] = [];

/** Runs one public operation, then freezes the lists it copied. */
function sealing<T>(fn: () => T): T {
  const outer = toSeal;
  toSeal = [];
  try {
    return fn();
  } finally {
    for (const l of toSeal) Object.freeze(l);
    toSeal = outer;
  }
}

function buildRouteIndex(list: readonly RouteConfig[]): Map<number, RouteConfig[]> {
  const byPrefix = new Map<number, RouteConfig[]>();
  for (const r of list) {
    const k = prefixKey(r.dst, r.plen);
    const b = byPrefix.get(k);
    if (b) b.push(r);
    else byPrefix.set(k, [r]);
  }
  return byPrefix;
}

/**
 * A list as an owned array (ownedList) with the index that follows it: the index of the
 * array it was copied from, when that index still describes it (no failed change moved
 * it on), else one built from the list. `put` stores the owned array in the snapshot.
 */
function ownedIndexed<T, I extends { owner: T[] | null }>(cur: T[], indexes: WeakMap<T[], I>, build: (list: T[]) => I, put: (list: T[]) => void): I & { owner: T[] } {
  const base = isDraft(cur) ? (original(cur as object) as T[]) : cur;
  let ix = indexes.get(base);
  const valid = ix && ix.owner === base && (!isDraft(cur) || !isModified(cur));
  const list = ownedList(cur);
  if (list !== cur) put(list);
  if (!valid || !ix) ix = build(list);
  ix.owner = list;
  indexes.set(list, ix);
  return ix as I & { owner: T[] };
}

/** The namespace's route list as an owned array, and its index. */
function ownedRoutes(nsc: NetnsConfig): RouteIndex & { owner: RouteConfig[] } {
  return ownedIndexed(nsc.routes, routeIndexes, (list) => ({ owner: list, byPrefix: buildRouteIndex(list) }), (list) => (nsc.routes = list));
}

/** Drops the index of a route list changed other than here. */
export function routesChanged(routes: RouteConfig[]): void {
  const ix = routeIndexes.get(routes);
  if (ix) ix.owner = null;
  routeIndexes.delete(routes);
}

// fib_table_insert() of a kernel route: nothing when the same route is there already.
function insertRoute(nsc: NetnsConfig, route: RouteConfig): void {
  const ix = ownedRoutes(nsc);
  const k = prefixKey(route.dst, route.plen);
  const b = ix.byPrefix.get(k);
  if (b?.some((r) => sameRoute(r, route))) return;
  ix.owner.push(route);
  if (b) b.push(route);
  else ix.byPrefix.set(k, [route]);
}

function primaryFor(link: LinkConfig, ifa: AddressConfig): AddressConfig {
  if (!ifa.secondary) return ifa;
  const ix = addrIndexes.get(link.addrs);
  if (ix && ix.owner === link.addrs) {
    const p = ix.primaryOf.get(prefixKey(networkOf(ifa.addr, ifa.plen), ifa.plen));
    if (p) return p;
  }
  return plain(link.addrs).find((a) => !a.secondary && a.plen === ifa.plen && networkOf(a.addr, a.plen) === networkOf(ifa.addr, ifa.plen)) ?? ifa;
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

/**
 * Does another link of link's namespace hold addr? The links are read one by one (not
 * plain(config.links): that would walk the list this change is editing in place, every
 * element of it), each link's list from its index when it has one.
 */
function otherLinkHas(config: Config, link: LinkConfig, addr: number): boolean {
  const links = config.links;
  for (const key of Object.keys(links)) {
    const l = links[Number(key)]!;
    if (l.netns !== link.netns || l.id === link.id) continue;
    const addrs = plain(l.addrs);
    const ix = addrIndexes.get(addrs);
    if (ix && ix.owner === addrs ? ix.addrCount.has(addr) : addrs.some((a) => a.addr === addr)) return true;
  }
  return false;
}

// fib_del_ifaddr(): drop the kernel routes this address created.
function fibDelIfaddr(config: Config, link: LinkConfig, ifa: AddressConfig, lix: AddrIndex & { owner: AddressConfig[] }): void {
  const nsc = config.netns[link.netns]!;
  const prefix = networkOf(ifa.addr, ifa.plen);
  const bcast = broadcastOf(ifa.addr, ifa.plen);
  const me = plain(ifa);
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
  const rix = ownedRoutes(nsc);
  const gone = new Set<RouteConfig>();
  const consider = (dst: number, plen: number) => {
    for (const r of rix.byPrefix.get(prefixKey(dst, plen)) ?? []) if (!keep(r)) gone.add(r);
  };
  consider(ifa.addr, 32);
  consider(prefix, ifa.plen);
  for (let plen = 0; plen <= 32; plen++) {
    consider(bcast, plen);
    if (ifa.broadcast !== bcast) consider(ifa.broadcast, plen);
  }
  if (!gone.size) return;
  const list = rix.owner;
  if (gone.size === 1) {
    const [r] = gone;
    list.splice(list.indexOf(r!), 1);
  } else {
    let w = 0;
    for (let i = 0; i < list.length; i++) if (!gone.has(list[i]!)) list[w++] = list[i]!;
    list.length = w;
  }
  for (const r of gone) {
    const k = prefixKey(r.dst, r.plen);
    const b = rix.byPrefix.get(k)!.filter((x) => x !== r);
    if (b.length) rix.byPrefix.set(k, b);
    else rix.byPrefix.delete(k);
  }
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
  owner: AddressConfig[] | null;
  /** addr * 64 + plen of every address. */
  keys: Set<number>;
  /** addr → how many entries have it (with different lengths). */
  addrCount: Map<number, number>;
  /** network * 64 + plen → the scope of the addresses in that subnet and how many there are. */
  subnets: Map<number, { scope: Scope; n: number }>;
  /** network * 64 + plen → the subnet's primary. */
  primaryOf: Map<number, AddressConfig>;
  /** Primaries by scope, when they are the list's head in scope order (as __inet_insert_ifa() keeps them); null otherwise. */
  primaries: Record<Scope, number> | null;
}
const addrIndexes = new WeakMap<AddressConfig[], AddrIndex>();

function indexAddr(ix: AddrIndex, a: AddressConfig): void {
  ix.keys.add(prefixKey(a.addr, a.plen));
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
  ix.keys.delete(prefixKey(a.addr, a.plen));
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

function buildAddrIndex(all: readonly AddressConfig[]): AddrIndex {
  const ix: AddrIndex = { owner: null, keys: new Set(), addrCount: new Map(), subnets: new Map(), primaryOf: new Map(), primaries: { global: 0, link: 0, host: 0 } };
  let prev = Infinity;
  let inHead = true;
  for (const a of all) {
    if (a.secondary) inHead = false;
    else {
      if (!inHead || SCOPE_ORDER[a.scope] > prev) ix.primaries = null;
      prev = SCOPE_ORDER[a.scope];
    }
    indexAddr(ix, a);
  }
  return ix;
}

/** The link's address list as an owned array, and its index. */
function ownedAddrs(link: LinkConfig): AddrIndex & { owner: AddressConfig[] } {
  return ownedIndexed(link.addrs, addrIndexes, buildAddrIndex, (list) => (link.addrs = list));
}

// __inet_insert_ifa(): an address in the subnet of an existing one becomes secondary and
// must have its scope; a primary goes after the last primary of a wider or equal scope.
export function addAddress(config: Config, link: LinkConfig, spec: AddrSpec): void {
  sealing(() => addAddressUnsealed(config, link, spec));
}

function addAddressUnsealed(config: Config, link: LinkConfig, spec: AddrSpec): void {
  const ix = ownedAddrs(link);
  const list = ix.owner;
  const prefix = networkOf(spec.addr, spec.plen);
  if (ix.keys.has(prefixKey(spec.addr, spec.plen))) throw new KernelError("EEXIST", "ipv4: Address already assigned.");
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
  if (at === list.length) list.push(ifa);
  else list.splice(at, 0, ifa);
  indexAddr(ix, ifa);
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
  sealing(() => delAddressUnsealed(config, link, addr, plen));
}

function delAddressUnsealed(config: Config, link: LinkConfig, addr: number, plen: number | null): void {
  const ix = ownedAddrs(link);
  const list = ix.owner;
  const matches = (a: AddressConfig) => a.addr === addr && (plen === null || a.plen === plen);
  const n = ix.addrCount.get(addr) ?? 0;
  let idx = -1;
  if (n === 1) {
    // One entry holds the address: the first match is the only one, looked for from the
    // end too (the addresses added last, such as a node's newest ClusterIPs, are there).
    for (let i = 0, j = list.length - 1; i <= j && idx < 0; i++, j--) {
      if (matches(list[i]!)) idx = i;
      else if (matches(list[j]!)) idx = j;
    }
  } else if (n > 1) idx = list.findIndex(matches);
  if (idx < 0) throw new KernelError("EADDRNOTAVAIL", "ipv4: Address not found.");
  const ifa = list[idx]!;
  fibDelIfaddr(config, link, ifa, ix);
  list.splice(idx, 1);
  unindexAddr(ix, ifa);
  // Deleting a primary deletes its secondaries too (promote_secondaries defaults to off).
  // (The subnet index says whether any address is left in the subnet: none, no walk.)
  const prefix = networkOf(ifa.addr, ifa.plen);
  if (!ifa.secondary && ix.subnets.has(prefixKey(prefix, ifa.plen))) {
    const secs = list.filter((a) => a.secondary && a.plen === ifa.plen && networkOf(a.addr, a.plen) === prefix);
    for (const sec of secs) delAddressUnsealed(config, link, sec.addr, sec.plen);
  }
}

const LOOPBACK_ADDR = parseIPv4("127.0.0.1")!;

// NETDEV_UP: inetdev_event() gives lo 127.0.0.1/8; fib_netdev_event() adds every address's routes.
export function linkUp(config: Config, link: LinkConfig): void {
  sealing(() => linkUpUnsealed(config, link));
}

function linkUpUnsealed(config: Config, link: LinkConfig): void {
  if (link.up) return;
  link.up = true;
  link.everUp = true;
  if (link.kind === "loopback" && !plain(link.addrs).some((a) => a.addr === LOOPBACK_ADDR)) {
    const ix = ownedAddrs(link);
    const lo: AddressConfig = Object.freeze<AddressConfig>({ addr: LOOPBACK_ADDR, plen: 8, broadcast: 0, scope: "host", secondary: false });
    ix.owner.unshift(lo);
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
  if (nsc) nsc.routes = plain(nsc.routes).filter((r) => r.dev !== link.id || r.scope === "host");
}

export function flushRoutesVia(config: Config, link: LinkConfig): void {
  const nsc = config.netns[link.netns];
  if (nsc) nsc.routes = plain(nsc.routes).filter((r) => r.dev !== link.id);
}
