// The dataplane's compiled view of one configuration snapshot: links wired to their
// peers and masters, local address index, FIBs, hook tables and the sysctls the packet
// path reads. Built once per snapshot (cached), never per packet.
import type { Config, LinkConfig, NetnsConfig } from "../config/types.ts";
import { deviceConf, sysctlNumber } from "../config/sysctl.ts";
import { Fib } from "./fib.ts";
import { buildHookTable, type HookProvider, type HookTable, type NfHookOps } from "./hooks.ts";

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
}

export interface View {
  config: Config;
  netns: Map<string, NetnsView>;
  links: Map<number, LinkView>;
}

function linkView(cfg: LinkConfig, ns: NetnsView): LinkView {
  const c = ns.cfg;
  return {
    cfg,
    id: cfg.id,
    name: cfg.name,
    ns,
    up: cfg.up,
    carrier: false,
    peer: null,
    master: null,
    ports: [],
    arpIgnore: deviceConf(c, cfg.name, "arp_ignore"),
    arpAnnounce: deviceConf(c, cfg.name, "arp_announce"),
    rpFilter: deviceConf(c, cfg.name, "rp_filter"),
    acceptLocal: deviceConf(c, cfg.name, "accept_local") !== 0,
    routeLocalnet: deviceConf(c, cfg.name, "route_localnet") !== 0,
    forwarding: deviceConf(c, cfg.name, "forwarding") !== 0,
    proxyArp: deviceConf(c, cfg.name, "proxy_arp") !== 0,
    sendRedirects: deviceConf(c, cfg.name, "send_redirects") !== 0,
    brLocalMacs: cfg.kind === "bridge" ? new Set([cfg.mac]) : null,
  };
}

export function buildView(config: Config, providers: readonly HookProvider[]): View {
  const view: View = { config, netns: new Map(), links: new Map() };
  for (const nsc of Object.values(config.netns)) {
    const ops: NfHookOps[] = [];
    for (const p of providers) ops.push(...p.hookOps(nsc.name, config));
    const range = String(nsc.sysctl["net.ipv4.ip_local_port_range"] ?? "32768\t60999").split("\t").map(Number);
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
      hooks: buildHookTable(ops),
      portLow: range[0]!,
      portHigh: range[1]!,
      defaultTtl: sysctlNumber(nsc, "net.ipv4.ip_default_ttl"),
      echoIgnoreAll: sysctlNumber(nsc, "net.ipv4.icmp_echo_ignore_all") !== 0,
      brnfCallIptables: !!config.modules["br_netfilter"] && (nsc.sysctl["net.bridge.bridge-nf-call-iptables"] ?? "1") === "1",
    };
    view.netns.set(nsc.name, nsv);
  }
  for (const cfg of Object.values(config.links)) {
    const nsv = view.netns.get(cfg.netns)!;
    const lv = linkView(cfg, nsv);
    view.links.set(cfg.id, lv);
    nsv.links.push(lv);
    nsv.byIfindex.set(cfg.ifindex, lv);
    nsv.byId.set(cfg.id, lv);
    nsv.byName.set(cfg.name, lv);
    if (cfg.kind === "loopback") nsv.lo = lv;
    for (const a of cfg.addrs) if (!nsv.local.has(a.addr)) nsv.local.set(a.addr, lv);
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
  for (const lv of view.links.values()) {
    if (lv.cfg.kind === "veth") lv.carrier = lv.up && !!lv.peer && lv.peer.up;
    else if (lv.cfg.kind !== "bridge") lv.carrier = lv.up;
  }
  for (const lv of view.links.values()) {
    // br_port_carrier_check(): a bridge with ports has carrier while one of them does; without ports it keeps it.
    if (lv.cfg.kind === "bridge") lv.carrier = lv.up && (lv.ports.length === 0 || lv.ports.some((p) => p.up && p.carrier));
  }
  return view;
}
