// The dataplane's compiled view of the configuration snapshot: links wired to their
// peers and masters, local address index, FIBs, hook tables and the sysctls the packet
// path reads. Built from scratch once (buildView), then kept in step with each new
// snapshot by updateView, which recomputes only the pieces whose snapshot objects
// changed (immer keeps unchanged ones identical). Computing it changes nothing else:
// hook operations are read from the providers, never registered here. Never per packet.
import type { Config, LinkConfig, NetnsConfig } from "../config/types.ts";
import { deviceConf, sysctlNumber } from "../config/sysctl.ts";
import { Fib } from "./fib.ts";
import { buildHookTable, type HookProvider, type HookTable, type NfHookOps } from "./hooks.ts";
import { PList } from "../config/plist.ts";

export interface LinkView {
  cfg: LinkConfig;
  id: number;
  name: string;
  ns: NetnsView;
  up: boolean;
  /** netif_carrier_ok(): veth needs its peer up; a bridge needs a port with carrier. */
  carrier: boolean;
  peer: LinkView | null;
  master: LinkView | null;
  ports: LinkView[];
  arpIgnore: number;
  arpAnnounce: number;
  rpFilter: number;
  acceptLocal: boolean;
  routeLocalnet: boolean;
  forwarding: boolean;
  proxyArp: boolean;
  sendRedirects: boolean;
  /** For a bridge: its own MAC and its ports' MACs (the local FDB entries). */
  brLocalMacs: Set<number> | null;
}

export interface NetnsView {
  name: string;
  cfg: NetnsConfig;
  links: LinkView[];
  byIfindex: Map<number, LinkView>;
  byId: Map<number, LinkView>;
  byName: Map<string, LinkView>;
  lo: LinkView;
  /** Local addresses to the link holding them (inet_lookup_ifaddr). */
  local: Map<number, LinkView>;
  fib: Fib;
  hooks: HookTable;
  portLow: number;
  portHigh: number;
  defaultTtl: number;
  echoIgnoreAll: boolean;
  /** br_netfilter: net.bridge.bridge-nf-call-iptables when the module is loaded. */
  brnfCallIptables: boolean;
  /** The providers' operation arrays the hook table was built from, in provider order. */
  hookSrc: (readonly NfHookOps[])[];
  /** How many addresses of the namespace's links hold each local address. */
  localRefs: Map<number, number>;
}

export interface View {
  config: Config;
  netns: Map<string, NetnsView>;
  links: Map<number, LinkView>;
}

function linkView(cfg: LinkConfig, ns: NetnsView): LinkView {
  const lv: LinkView = {
    cfg,
    id: cfg.id,
    name: cfg.name,
    ns,
    up: cfg.up,
    carrier: false,
    peer: null,
    master: null,
    ports: [],
    arpIgnore: 0,
    arpAnnounce: 0,
    rpFilter: 0,
    acceptLocal: false,
    routeLocalnet: false,
    forwarding: false,
    proxyArp: false,
    sendRedirects: false,
    brLocalMacs: cfg.kind === "bridge" ? new Set([cfg.mac]) : null,
  };
  devConf(lv);
  return lv;
}

/** The per-device sysctls (net.ipv4.conf.DEV.* against conf.all), from the link's name and its namespace's sysctls. */
function devConf(lv: LinkView): void {
  const c = lv.ns.cfg;
  const name = lv.cfg.name;
  lv.arpIgnore = deviceConf(c, name, "arp_ignore");
  lv.arpAnnounce = deviceConf(c, name, "arp_announce");
  lv.rpFilter = deviceConf(c, name, "rp_filter");
  lv.acceptLocal = deviceConf(c, name, "accept_local") !== 0;
  lv.routeLocalnet = deviceConf(c, name, "route_localnet") !== 0;
  lv.forwarding = deviceConf(c, name, "forwarding") !== 0;
  lv.proxyArp = deviceConf(c, name, "proxy_arp") !== 0;
  lv.sendRedirects = deviceConf(c, name, "send_redirects") !== 0;
}

/** The namespace-wide sysctls the packet path reads, and br_netfilter's switch. */
function nsSysctls(nsv: NetnsView, config: Config): void {
  const nsc = nsv.cfg;
  const range = String(nsc.sysctl["net.ipv4.ip_local_port_range"] ?? "32768\t60999").split("\t").map(Number);
  nsv.portLow = range[0]!;
  nsv.portHigh = range[1]!;
  nsv.defaultTtl = sysctlNumber(nsc, "net.ipv4.ip_default_ttl");
  nsv.echoIgnoreAll = sysctlNumber(nsc, "net.ipv4.icmp_echo_ignore_all") !== 0;
  nsv.brnfCallIptables = !!config.modules["br_netfilter"] && (nsc.sysctl["net.bridge.bridge-nf-call-iptables"] ?? "1") === "1";
}

function netnsView(nsc: NetnsConfig, config: Config, providers: readonly HookProvider[]): NetnsView {
  const hookSrc = providers.map((p) => p.hookOps(nsc.name, config));
  const nsv: NetnsView = {
    name: nsc.name,
    cfg: nsc,
    links: [],
    byIfindex: new Map(),
    byId: new Map(),
    byName: new Map(),
    lo: null as unknown as LinkView,
    local: new Map(),
    fib: new Fib(nsc.routes),
    hooks: buildHookTable(hookSrc.flat()),
    portLow: 0,
    portHigh: 0,
    defaultTtl: 0,
    echoIgnoreAll: false,
    brnfCallIptables: false,
    hookSrc,
    localRefs: new Map(),
  };
  nsSysctls(nsv, config);
  return nsv;
}

/** The view of a snapshot, from scratch (the reference updateView must agree with). */
export function buildView(config: Config, providers: readonly HookProvider[]): View {
  const view: View = { config, netns: new Map(), links: new Map() };
  for (const nsc of Object.values(config.netns)) view.netns.set(nsc.name, netnsView(nsc, config, providers));
  for (const cfg of Object.values(config.links)) {
    const nsv = view.netns.get(cfg.netns)!;
    const lv = linkView(cfg, nsv);
    view.links.set(cfg.id, lv);
    nsv.links.push(lv);
    nsv.byIfindex.set(cfg.ifindex, lv);
    nsv.byId.set(cfg.id, lv);
    nsv.byName.set(cfg.name, lv);
    if (cfg.kind === "loopback") nsv.lo = lv;
    cfg.addrs.forEach((a) => {
      nsv.localRefs.set(a.addr, (nsv.localRefs.get(a.addr) ?? 0) + 1);
      if (!nsv.local.has(a.addr)) nsv.local.set(a.addr, lv);
    });
  }
  for (const lv of view.links.values()) {
    lv.peer = lv.cfg.peer !== null ? (view.links.get(lv.cfg.peer) ?? null) : null;
    lv.master = lv.cfg.master !== null ? (view.links.get(lv.cfg.master) ?? null) : null;
    if (lv.master) {
      lv.master.ports.push(lv);
      lv.master.brLocalMacs!.add(lv.cfg.mac);
    }
  }
  for (const nsv of view.netns.values()) nsv.links.sort((a, b) => a.cfg.ifindex - b.cfg.ifindex);
  for (const lv of view.links.values()) if (lv.cfg.kind !== "bridge") lv.carrier = ownCarrier(lv);
  for (const lv of view.links.values()) if (lv.cfg.kind === "bridge") lv.carrier = bridgeCarrier(lv);
  return view;
}

function ownCarrier(lv: LinkView): boolean {
  return lv.cfg.kind === "veth" ? lv.up && !!lv.peer && lv.peer.up : lv.up;
}

// br_port_carrier_check(): a bridge with ports has carrier while one of them does; without ports it keeps it.
function bridgeCarrier(lv: LinkView): boolean {
  return lv.up && (lv.ports.length === 0 || lv.ports.some((p) => p.up && p.carrier));
}

/** What one updateView pass must finish once every link is in place. */
interface Pending {
  /** Links whose peer and master must be read again. */
  rewire: Set<LinkView>;
  /** Links whose carrier may have changed. */
  carrier: Set<LinkView>;
  /** Bridges whose local MACs must be read again. */
  macs: Set<LinkView>;
  /** Namespaces whose link list must be sorted again. */
  resort: Set<NetnsView>;
  /** Local addresses whose holder must be looked up again (one holder left, maybe another). */
  local: Map<NetnsView, Set<number>>;
}

function addLocal(nsv: NetnsView, addr: number, lv: LinkView): void {
  nsv.localRefs.set(addr, (nsv.localRefs.get(addr) ?? 0) + 1);
  const cur = nsv.local.get(addr);
  // inet_lookup_ifaddr() in the order buildView meets them: the lowest link id first.
  if (!cur || lv.id < cur.id) nsv.local.set(addr, lv);
}

function dropLocal(nsv: NetnsView, addr: number, lv: LinkView, p: Pending): void {
  const n = (nsv.localRefs.get(addr) ?? 0) - 1;
  if (n <= 0) {
    nsv.localRefs.delete(addr);
    nsv.local.delete(addr);
    return;
  }
  nsv.localRefs.set(addr, n);
  if (nsv.local.get(addr) !== lv) return;
  let s = p.local.get(nsv);
  if (!s) p.local.set(nsv, (s = new Set()));
  s.add(addr);
}

function attach(nsv: NetnsView, lv: LinkView, p: Pending): void {
  const cfg = lv.cfg;
  lv.ns = nsv;
  nsv.links.push(lv);
  nsv.byIfindex.set(cfg.ifindex, lv);
  nsv.byId.set(cfg.id, lv);
  nsv.byName.set(cfg.name, lv);
  if (cfg.kind === "loopback") nsv.lo = lv;
  cfg.addrs.forEach((a) => addLocal(nsv, a.addr, lv));
  p.resort.add(nsv);
}

function detach(lv: LinkView, cfg: LinkConfig, p: Pending): void {
  const nsv = lv.ns;
  const i = nsv.links.indexOf(lv);
  if (i >= 0) nsv.links.splice(i, 1);
  if (nsv.byIfindex.get(cfg.ifindex) === lv) nsv.byIfindex.delete(cfg.ifindex);
  if (nsv.byName.get(cfg.name) === lv) nsv.byName.delete(cfg.name);
  nsv.byId.delete(cfg.id);
  if (nsv.lo === lv) nsv.lo = null as unknown as LinkView;
  cfg.addrs.forEach((a) => dropLocal(nsv, a.addr, lv, p));
}

function changeLink(view: View, lv: LinkView, cfg: LinkConfig, p: Pending): void {
  const old = lv.cfg;
  lv.cfg = cfg;
  lv.name = cfg.name;
  lv.up = cfg.up;
  if (old.netns !== cfg.netns) {
    // dev_change_net_namespace(): the same device, now in another namespace.
    lv.cfg = old;
    detach(lv, old, p);
    lv.cfg = cfg;
    attach(view.netns.get(cfg.netns)!, lv, p);
    devConf(lv);
  } else {
    const nsv = lv.ns;
    if (old.name !== cfg.name) {
      if (nsv.byName.get(old.name) === lv) nsv.byName.delete(old.name);
      nsv.byName.set(cfg.name, lv);
      devConf(lv);
    }
    if (old.ifindex !== cfg.ifindex) {
      if (nsv.byIfindex.get(old.ifindex) === lv) nsv.byIfindex.delete(old.ifindex);
      nsv.byIfindex.set(cfg.ifindex, lv);
      p.resort.add(nsv);
    }
    if (old.addrs !== cfg.addrs) {
      // What changed, from the chunks the two lists do not share (PList.diff).
      const [gone, added] = PList.diff(old.addrs, cfg.addrs);
      for (const a of gone) dropLocal(nsv, a.addr, lv, p);
      for (const a of added) addLocal(nsv, a.addr, lv);
    }
  }
  if (old.peer !== cfg.peer || old.master !== cfg.master || old.netns !== cfg.netns) p.rewire.add(lv);
  if (old.mac !== cfg.mac) {
    if (lv.brLocalMacs) p.macs.add(lv);
    if (lv.master) p.macs.add(lv.master);
  }
  p.carrier.add(lv);
}

function removeLink(view: View, lv: LinkView, p: Pending): void {
  detach(lv, lv.cfg, p);
  view.links.delete(lv.id);
  if (lv.peer && lv.peer.peer === lv) {
    lv.peer.peer = null;
    p.carrier.add(lv.peer);
  }
  if (lv.master) unport(lv, p);
  for (const port of lv.ports) {
    port.master = null;
    p.carrier.add(port);
  }
  lv.ports = [];
}

function unport(lv: LinkView, p: Pending): void {
  const br = lv.master!;
  const i = br.ports.indexOf(lv);
  if (i >= 0) br.ports.splice(i, 1);
  p.macs.add(br);
  p.carrier.add(br);
  lv.master = null;
}

/** Reads a link's peer and master again; a new master takes it in its port list (by id, as buildView lists them). */
function rewire(view: View, lv: LinkView, p: Pending): void {
  const cfg = lv.cfg;
  const peer = cfg.peer !== null ? (view.links.get(cfg.peer) ?? null) : null;
  if (peer !== lv.peer) {
    lv.peer = peer;
    p.carrier.add(lv);
  }
  const master = cfg.master !== null ? (view.links.get(cfg.master) ?? null) : null;
  if (master === lv.master) return;
  if (lv.master) unport(lv, p);
  if (master) {
    const ports = master.ports;
    let i = ports.length;
    while (i > 0 && ports[i - 1]!.id > lv.id) i--;
    ports.splice(i, 0, lv);
    lv.master = master;
    p.macs.add(master);
    p.carrier.add(master);
  }
}

/**
 * Brings `view` in step with `config` in place: namespaces and links whose snapshot
 * objects are identical to the last ones are not looked at again (beyond an identity
 * check); a changed namespace refreshes only the pieces that changed (FIB from its
 * routes, sysctls, hook table when a provider's operations did); a changed link its
 * own fields, its addresses in the local index, its peer, master and their carriers.
 */
export function updateView(view: View, config: Config, providers: readonly HookProvider[]): void {
  const prev = view.config;
  if (prev === config) return;
  view.config = config;
  const p: Pending = { rewire: new Set(), carrier: new Set(), macs: new Set(), resort: new Set(), local: new Map() };
  const sysctlChanged = updateNamespaces(view, prev, config, providers);
  if (prev.links !== config.links) updateLinks(view, config, p);
  for (const nsv of sysctlChanged) for (const lv of nsv.links) devConf(lv);
  for (const name of [...view.netns.keys()]) if (!config.netns[name]) view.netns.delete(name);
  for (const lv of p.rewire) rewire(view, lv, p);
  for (const br of p.macs) {
    if (!view.links.has(br.id)) continue;
    br.brLocalMacs = new Set([br.cfg.mac, ...br.ports.map((x) => x.cfg.mac)]);
  }
  settleLocal(p);
  for (const nsv of p.resort) nsv.links.sort((a, b) => a.cfg.ifindex - b.cfg.ifindex);
  settleCarriers(view, p);
  updateHooks(view, config, providers);
}

/** Namespaces: a new one gets its view; a changed one its FIB and sysctls. Returns those whose sysctls changed. */
function updateNamespaces(view: View, prev: Config, config: Config, providers: readonly HookProvider[]): Set<NetnsView> {
  const modules = prev.modules !== config.modules;
  const sysctlChanged = new Set<NetnsView>();
  for (const nsc of Object.values(config.netns)) {
    const nsv = view.netns.get(nsc.name);
    if (!nsv) {
      view.netns.set(nsc.name, netnsView(nsc, config, providers));
      continue;
    }
    const old = nsv.cfg;
    if (old === nsc && !modules) continue;
    nsv.cfg = nsc;
    if (old.routes !== nsc.routes) nsv.fib.update(old.routes, nsc.routes);
    if (old.sysctl !== nsc.sysctl || modules) nsSysctls(nsv, config);
    if (old.sysctl !== nsc.sysctl) sysctlChanged.add(nsv);
  }
  return sysctlChanged;
}

/** Links: removed, added, or changed (by their snapshot object); what they touch is noted in `p`. */
function updateLinks(view: View, config: Config, p: Pending): void {
  for (const lv of [...view.links.values()]) if (!config.links[lv.id]) removeLink(view, lv, p);
  for (const cfg of Object.values(config.links)) {
    const lv = view.links.get(cfg.id);
    if (!lv) {
      const fresh = linkView(cfg, view.netns.get(cfg.netns)!);
      view.links.set(cfg.id, fresh);
      attach(fresh.ns, fresh, p);
      p.rewire.add(fresh);
      p.carrier.add(fresh);
      if (fresh.brLocalMacs) p.macs.add(fresh);
    } else if (lv.cfg !== cfg) changeLink(view, lv, cfg, p);
  }
}

/** An address another link may still hold: the lowest-id holder answers for it (inet_lookup_ifaddr). */
function settleLocal(p: Pending): void {
  for (const [nsv, addrs] of p.local) {
    for (const addr of addrs) {
      if (!nsv.localRefs.has(addr)) continue;
      let holder: LinkView | null = null;
      for (const l of nsv.links) if ((!holder || l.id < holder.id) && l.cfg.addrs.some((a) => a.addr === addr)) holder = l;
      nsv.local.set(addr, holder!);
    }
  }
}

/** Carriers: a link's own (veth: its peer's state too), then the bridges of those links. */
function settleCarriers(view: View, p: Pending): void {
  const bridges = new Set<LinkView>();
  const links = new Set<LinkView>();
  for (const lv of p.carrier) {
    links.add(lv);
    if (lv.peer) links.add(lv.peer);
  }
  for (const lv of links) {
    if (!view.links.has(lv.id)) continue;
    if (lv.cfg.kind === "bridge") bridges.add(lv);
    else lv.carrier = ownCarrier(lv);
    if (lv.master) bridges.add(lv.master);
  }
  for (const br of bridges) br.carrier = bridgeCarrier(br);
}

/** Hook tables: rebuilt where a provider's operations are a new array. */
function updateHooks(view: View, config: Config, providers: readonly HookProvider[]): void {
  for (const nsv of view.netns.values()) {
    const src = providers.map((pr) => pr.hookOps(nsv.name, config));
    if (src.length === nsv.hookSrc.length && src.every((ops, i) => ops === nsv.hookSrc[i])) continue;
    nsv.hookSrc = src;
    nsv.hooks = buildHookTable(src.flat());
  }
}
