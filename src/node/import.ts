// `pktpath import`: a snapshot (./format.ts) -> a scenario whose run: steps rebuild the
// node with the commands a user would type: namespaces, links (veth pairs joined across
// namespaces by peer ifindex), bridge ports, addresses, routes, neighbours, sysctls, then
// the iptables-restore, ipset restore and ipvsadm -R blocks. What pktpath does not model
// is listed (header comments and the command's output), never dropped in silence.
import { stringify } from "yaml";
import { jsonField, type Snapshot } from "./format.ts";

export interface ImportOptions {
  /** Add a listener for every Service endpoint (DNAT targets, IPVS real servers). */
  listen?: boolean;
  /** The snapshot's file name, for messages. */
  file?: string;
}

export interface ImportResult {
  yaml: string;
  /** What the snapshot holds that pktpath does not model, one line each. */
  notModelled: string[];
  /** What was stood in for (a NIC as a dummy link ...), one line each. */
  standIns: string[];
  /** Counts for the summary line. */
  counts: Record<string, number>;
}

interface LinkJson {
  ifindex: number;
  ifname: string;
  flags?: string[];
  link?: string;
  link_index?: number;
  link_netnsid?: number;
  master?: string;
  address?: string;
  link_type?: string;
  linkinfo?: { info_kind?: string; info_slave_kind?: string; info_slave_data?: { hairpin?: boolean; state?: string } };
}

interface AddrJson {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string; noprefixroute?: boolean; broadcast?: string }[];
}

interface RouteJson {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  table?: string;
  flags?: string[];
  nexthops?: unknown[];
}

interface NeighJson {
  dst: string;
  dev: string;
  lladdr?: string;
  state?: string[];
}

/** A link as it will be rebuilt. */
interface Link {
  ns: string;
  ifindex: number;
  name: string;
  kind: "veth" | "bridge" | "dummy" | "lo";
  json: LinkJson;
  peer: Link | null;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Built-in defaults of the sysctls pktpath models (../config/sysctl.ts, ../ipvs/runtime.ts). */
const SYSCTL_DEFAULTS: Record<string, string> = {
  "net.ipv4.ip_forward": "0",
  "net.ipv4.ip_local_port_range": "32768 60999",
  "net.ipv4.icmp_echo_ignore_all": "0",
  "net.ipv4.ip_default_ttl": "64",
  forwarding: "0",
  arp_ignore: "0",
  arp_announce: "0",
  arp_filter: "0",
  rp_filter: "0",
  accept_local: "0",
  route_localnet: "0",
  proxy_arp: "0",
  send_redirects: "1",
  log_martians: "0",
  "net.bridge.bridge-nf-call-iptables": "1",
  "net.bridge.bridge-nf-call-ip6tables": "1",
  "net.bridge.bridge-nf-call-arptables": "1",
  "net.bridge.bridge-nf-filter-vlan-tagged": "0",
  "net.bridge.bridge-nf-pass-vlan-input-dev": "0",
  "net.ipv4.vs.conntrack": "0",
  "net.ipv4.vs.expire_nodest_conn": "0",
  "net.ipv4.vs.expire_quiescent_template": "0",
  "net.ipv4.vs.conn_reuse_mode": "1",
  "net.ipv4.vs.sloppy_tcp": "0",
  "net.ipv4.vs.sloppy_sctp": "0",
  "net.ipv4.vs.schedule_icmp": "0",
  "net.ipv4.vs.ignore_tunneled": "0",
};
const IPVS_SYSCTLS_KNOWN = new Set(Object.keys(SYSCTL_DEFAULTS).filter((k) => k.startsWith("net.ipv4.vs.")));
/**
 * IPVS sysctls pktpath does not model, at the values the kernel starts a namespace with
 * (ip_vs_control_net_init_sysctl(); the sync daemon's, the defence strategies', lblc's).
 * At these values they are reported in one line; away from them, each by name and value.
 * sync_qlen_max is sized from the machine's memory: any value is its own default.
 */
const IPVS_UNMODELLED_DEFAULTS: Record<string, string | null> = {
  "net.ipv4.vs.am_droprate": "10",
  "net.ipv4.vs.amemthresh": "1024",
  "net.ipv4.vs.backup_only": "0",
  "net.ipv4.vs.cache_bypass": "0",
  "net.ipv4.vs.drop_entry": "0",
  "net.ipv4.vs.drop_packet": "0",
  "net.ipv4.vs.lblc_expiration": "86400",
  "net.ipv4.vs.lblcr_expiration": "86400",
  "net.ipv4.vs.nat_icmp_send": "0",
  "net.ipv4.vs.pmtu_disc": "1",
  "net.ipv4.vs.run_estimation": "1",
  "net.ipv4.vs.secure_tcp": "0",
  "net.ipv4.vs.snat_reroute": "1",
  "net.ipv4.vs.sync_persist_mode": "0",
  "net.ipv4.vs.sync_ports": "1",
  "net.ipv4.vs.sync_qlen_max": null,
  "net.ipv4.vs.sync_refresh_period": "0",
  "net.ipv4.vs.sync_retries": "0",
  "net.ipv4.vs.sync_sock_size": "0",
  "net.ipv4.vs.sync_threshold": "3 50",
  "net.ipv4.vs.sync_version": "1",
  "net.ipv4.vs.est_nice": "0",
};

/** The prefix that runs a command in a namespace, as a user types it. */
function execIn(ns: string): string {
  return ns === "host" ? "" : `ip netns exec ${ns} `;
}

function heredoc(cmd: string, body: string): string {
  let tag = "EOF";
  for (let i = 1; body.split("\n").includes(tag); i++) tag = `EOF${i}`;
  return `${cmd} <<${tag}\n${body.replace(/\n*$/, "\n")}${tag}\n`;
}

/** What the import builds up, namespace by namespace, section by section. */
interface ImportState {
  snap: Snapshot;
  /** The snapshot's file name, for messages. */
  file: string;
  notModelled: string[];
  standIns: string[];
  counts: Record<string, number>;
  /** The first run: step, one command a line. */
  topo: string[];
  /** The saved tables, restored by the tools that saved them, one run: step each. */
  blocks: { run: string; comment: string }[];
  links: Link[];
  /** Namespace name -> link name -> link (the links pktpath rebuilds). */
  byNs: Map<string, Map<string, Link>>;
  /** Service endpoints (DNAT targets, IPVS real servers), for --listen. */
  endpoints: { addr: string; port: number; proto: string }[];
  /** IPVS sysctls at values pktpath does not model, by name=value. */
  ignoredSysctls: Set<string>;
  /** IPVS sysctls pktpath does not model, at the kernel's defaults. */
  defaultSysctls: Set<string>;
}

export function importSnapshot(snap: Snapshot, options: ImportOptions = {}): ImportResult {
  const st: ImportState = {
    snap,
    file: options.file ?? "snapshot",
    notModelled: [],
    standIns: [],
    counts: { namespaces: 0, links: 0, addresses: 0, routes: 0, sysctls: 0, rules: 0, sets: 0, "ipvs services": 0, listeners: 0 },
    topo: [],
    blocks: [],
    links: [],
    byNs: new Map(),
    endpoints: [],
    ignoredSysctls: new Set(),
    defaultSysctls: new Set(),
  };
  namespacesAndUnread(st);
  for (const n of snap.netns) collectLinks(st, n);
  joinVethPeers(st);
  linkCommands(st);
  for (const n of snap.netns) addressCommands(st, n);
  // Routes after every address: a gateway needs its connected route.
  for (const n of snap.netns) {
    routeCommands(st, n);
    reportPolicyRules(st, n);
    neighbourCommands(st, n);
  }
  for (const n of snap.netns) sysctlCommands(st, n);
  reportIpvsSysctls(st);
  for (const n of snap.netns) savedTables(st, n);
  const listeners = options.listen ? listenerCommands(st) : [];
  const yaml = scenarioText(st, listeners);
  return { yaml, notModelled: st.notModelled, standIns: st.standIns, counts: st.counts };
}

type Netns = Snapshot["netns"][number];

/** The namespaces to add, and what the snapshot script could not read. */
function namespacesAndUnread(st: ImportState): void {
  const { snap, topo, counts, notModelled } = st;
  for (const n of snap.netns) if (n.kind !== "root") topo.push(`ip netns add ${n.name}`), counts["namespaces"]!++;
  if (snap.errors.trim()) for (const e of snap.errors.trim().split("\n")) notModelled.push(`the snapshot could not read: ${e}`);
  for (const n of snap.netns) {
    for (const [k, c] of Object.entries(n)) {
      if (c && typeof c === "object" && "rc" in c && c.rc !== 0) notModelled.push(`${n.name}: ${k} could not be read (exit ${c.rc}); left out`);
    }
  }
}

/** The kind a link is rebuilt as, or null when pktpath does not model it (said so). */
function linkKind(st: ImportState, ns: string, l: LinkJson): Link["kind"] | null {
  const kind = l.linkinfo?.info_kind;
  if (l.link_type === "loopback") return "lo";
  if (kind === "veth" || kind === "bridge" || kind === "dummy") return kind;
  if (kind === undefined && l.link_type === "ether") {
    st.standIns.push(`${ns}: ${l.ifname} (a network card) is a dummy link: pktpath sees nothing beyond it`);
    return "dummy";
  }
  st.notModelled.push(`${ns}: link ${l.ifname} (${kind ?? l.link_type ?? "unknown type"}) and its addresses and routes: links of this type are not modelled by pktpath`);
  return null;
}

/** The links of one namespace. */
function collectLinks(st: ImportState, n: Netns): void {
  const m = new Map<string, Link>();
  st.byNs.set(n.name, m);
  const list = (jsonField(st.file, n.name, "link", n.link) ?? []) as LinkJson[];
  for (const l of list) {
    const k = linkKind(st, n.name, l);
    if (!k) continue;
    const link: Link = { ns: n.name, ifindex: l.ifindex, name: l.ifname, kind: k, json: l, peer: null };
    st.links.push(link);
    m.set(l.ifname, link);
  }
}

/** The veths that could be v's peer. */
function peerCandidates(veths: Link[], v: Link): Link[] {
  // In one namespace `ip -j` names the peer ("link": NAME) instead of giving its index.
  if (v.json.link_index === undefined && v.json.link) {
    return veths.filter((w) => w !== v && !w.peer && w.ns === v.ns && w.name === v.json.link && w.json.link === v.name);
  }
  return veths.filter(
    (w) => w !== v && !w.peer && w.ifindex === v.json.link_index && w.json.link_index === v.ifindex && (v.json.link_netnsid === undefined ? w.ns === v.ns : w.ns !== v.ns),
  );
}

// veth peers: ifindex and peer ifindex must point at each other; link_netnsid says the
// peer is in another namespace (its number is that namespace's id as this one sees it).
function joinVethPeers(st: ImportState): void {
  const veths = st.links.filter((l) => l.kind === "veth");
  for (const v of veths) {
    if (v.peer) continue;
    const cands = peerCandidates(veths, v);
    if (cands.length === 0) {
      v.kind = "dummy";
      st.standIns.push(`${v.ns}: veth ${v.name}: its peer is in no namespace the snapshot could see; it is a dummy link here`);
      continue;
    }
    if (cands.length > 1) st.standIns.push(`${v.ns}: veth ${v.name}: ${cands.length} possible peers (${cands.map((c) => `${c.ns}/${c.name}`).join(", ")}); joined to the first`);
    v.peer = cands[0]!;
    cands[0]!.peer = v;
  }
}

/** An `ip` command in a namespace, as a user types it. */
function ipCmd(ns: string, rest: string): string {
  return ns === "host" ? `ip ${rest}` : `ip -n ${ns} ${rest}`;
}

/** The link's MAC address as `ip link` options ("" when it has none usable). */
function mac(l: Link): string {
  return l.json.address && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(l.json.address) ? ` address ${l.json.address}` : "";
}

/** Links added (a veth pair at once), then bridge ports, then up and hairpin. */
function linkCommands(st: ImportState): void {
  const { links, topo, counts } = st;
  const made = new Set<Link>();
  for (const l of links) {
    if (made.has(l) || l.kind === "lo") continue;
    made.add(l);
    counts["links"]!++;
    if (l.kind === "veth" && l.peer) {
      made.add(l.peer);
      counts["links"]!++;
      // Created from the root namespace's side when it has one ("host" is not a netns name).
      const [a, b] = l.peer.ns === "host" && l.ns !== "host" ? [l.peer, l] : [l, l.peer];
      topo.push(ipCmd(a.ns, `link add dev ${a.name}${mac(a)} type veth peer name ${b.name}${b.ns !== a.ns ? ` netns ${b.ns}` : ""}`));
      if (mac(b)) topo.push(ipCmd(b.ns, `link set dev ${b.name}${mac(b)}`));
    } else {
      topo.push(ipCmd(l.ns, `link add dev ${l.name}${l.kind === "dummy" ? mac(l) : ""} type ${l.kind}`));
    }
  }
  bridgePorts(st);
  for (const l of links) {
    if (l.json.flags?.includes("UP")) topo.push(ipCmd(l.ns, `link set dev ${l.name} up`));
    const sd = l.json.linkinfo?.info_slave_data;
    if (sd?.hairpin) topo.push(`${execIn(l.ns)}bridge link set dev ${l.name} hairpin on`);
  }
}

function bridgePorts(st: ImportState): void {
  for (const l of st.links) {
    if (!l.json.master) continue;
    const br = st.byNs.get(l.ns)!.get(l.json.master);
    if (br?.kind === "bridge") st.topo.push(ipCmd(l.ns, `link set dev ${l.name} master ${br.name}`));
    else st.notModelled.push(`${l.ns}: ${l.name} is a port of ${l.json.master}, which is not a bridge pktpath models; left standalone`);
  }
}

/** The IPv4 addresses of one namespace (not the kernel's 127.0.0.1/8 on lo). */
function addressCommands(st: ImportState, n: Netns): void {
  const list = (jsonField(st.file, n.name, "address", n.address) ?? []) as AddrJson[];
  let v6 = 0;
  for (const a of list) {
    const link = st.byNs.get(n.name)!.get(a.ifname);
    for (const ai of a.addr_info ?? []) {
      if (ai.family === "inet6") {
        if (!ai.local.toLowerCase().startsWith("fe80:") && ai.local !== "::1") v6++;
        continue;
      }
      if (ai.family !== "inet") continue;
      if (!link) continue; // its link is reported above
      if (link.kind === "lo" && ai.local === "127.0.0.1" && ai.prefixlen === 8) continue;
      if (ai.noprefixroute) st.notModelled.push(`${n.name}: ${ai.local}/${ai.prefixlen} dev ${a.ifname}: noprefixroute is not modelled by pktpath; added with its prefix route`);
      const scope = ai.scope && ai.scope !== "global" ? ` scope ${ai.scope}` : "";
      st.topo.push(ipCmd(n.name, `address add ${ai.local}/${ai.prefixlen} dev ${a.ifname}${scope}`));
      st.counts["addresses"]!++;
    }
  }
  if (v6) st.notModelled.push(`${n.name}: ${v6} IPv6 address${v6 === 1 ? "" : "es"}: IPv6 is not modelled by pktpath`);
}

/** The routes of one namespace's main and local tables the kernel did not derive itself. */
function routeCommands(st: ImportState, n: Netns): void {
  const list = (jsonField(st.file, n.name, "route", n.route) ?? []) as RouteJson[];
  const others = new Map<string, number>();
  let v6routes = 0;
  for (const r of list) {
    if (r.dst.includes(":")) {
      // IPv6: the kernel's own link-local and multicast routes are left out without a word.
      if (!/^(fe80::\/64|ff00::\/8|fe80::[0-9a-f:]*|::1|multicast ff00::\/8)$/.test(r.dst)) v6routes++;
      continue;
    }
    const table = r.table ?? "main";
    if (r.protocol === "kernel" && (table === "local" || (table === "main" && r.scope === "link"))) continue; // derived from an address
    if (table !== "main" && table !== "local") {
      others.set(table, (others.get(table) ?? 0) + 1);
      continue;
    }
    const cmd = routeCommand(st, n.name, r, table);
    if (cmd === null) continue;
    st.topo.push(ipCmd(n.name, cmd));
    st.counts["routes"]!++;
  }
  if (v6routes) st.notModelled.push(`${n.name}: ${v6routes} IPv6 route${v6routes === 1 ? "" : "s"}: IPv6 is not modelled by pktpath`);
  for (const [t, c] of others) st.notModelled.push(`${n.name}: ${c} route${c === 1 ? "" : "s"} in table ${t}: routing tables other than main and local are not modelled by pktpath`);
}

/** `route add ...` for one IPv4 route of table main or local, or null when it is not modelled (said so). */
function routeCommand(st: ImportState, ns: string, r: RouteJson, table: string): string | null {
  const type = r.type ?? "unicast";
  const text = `${type === "unicast" ? "" : `${type} `}${r.dst}${r.gateway ? ` via ${r.gateway}` : ""}${r.dev ? ` dev ${r.dev}` : ""}`;
  if (r.nexthops) {
    st.notModelled.push(`${ns}: route ${r.dst} with several next hops: multipath routes are not modelled by pktpath`);
    return null;
  }
  if (r.dev && !st.byNs.get(ns)!.has(r.dev)) {
    st.notModelled.push(`${ns}: route ${text}: its device is not modelled (above)`);
    return null;
  }
  if (!["unicast", "local", "blackhole", "unreachable", "prohibit"].includes(type)) {
    st.notModelled.push(`${ns}: route ${text}: routes of type ${type} are not modelled by pktpath`);
    return null;
  }
  let cmd = `route add ${text}`;
  if (table === "local") cmd += " table local";
  if (r.prefsrc) cmd += ` src ${r.prefsrc}`;
  if (r.protocol === "static") cmd += " proto static";
  else if (r.protocol && r.protocol !== "boot") st.standIns.push(`${ns}: route ${text}: proto ${r.protocol} is not modelled by pktpath (it only labels the route); added as proto boot`);
  if (r.scope && r.scope !== "global" && !(r.scope === "link" && !r.gateway && type === "unicast")) cmd += ` scope ${r.scope}`;
  if (r.metric) cmd += ` metric ${r.metric}`;
  if (r.flags?.includes("onlink")) cmd += " onlink";
  return cmd;
}

/** Policy routing rules beyond the kernel's three defaults are reported. */
function reportPolicyRules(st: ImportState, n: Netns): void {
  const rules = (jsonField(st.file, n.name, "rule", n.rule) ?? []) as { priority: number; table?: string; src?: string }[];
  const extra = rules.filter((r) => !((r.priority === 0 && r.table === "local") || (r.priority === 32766 && r.table === "main") || (r.priority === 32767 && r.table === "default")));
  if (extra.length) st.notModelled.push(`${n.name}: ${extra.length} policy routing rule${extra.length === 1 ? "" : "s"} (ip rule, e.g. priority ${extra[0]!.priority}): policy routing is not modelled by pktpath`);
}

/** Permanent neighbours only: the others are learnt again by ARP. */
function neighbourCommands(st: ImportState, n: Netns): void {
  const neigh = (jsonField(st.file, n.name, "neigh", n.neigh) ?? []) as NeighJson[];
  for (const e of neigh) {
    if (!IPV4.test(e.dst) || !e.state?.includes("PERMANENT") || !e.lladdr) continue;
    if (!st.byNs.get(n.name)!.has(e.dev)) continue;
    st.topo.push(ipCmd(n.name, `neigh add ${e.dst} lladdr ${e.lladdr} dev ${e.dev} nud permanent`));
  }
}

/** One namespace's sysctls that differ from pktpath's defaults (ip_forward first), after the modules they need. */
function sysctlCommands(st: ImportState, n: Netns): void {
  const lines = n.sysctl?.out.split("\n").filter((x) => x.includes(":")) ?? [];
  const pre: string[] = [];
  const post: string[] = [];
  const modules = new Set<string>();
  const fwd = /(?:^|\n)(?:\/proc\/sys\/)?net\/ipv4\/ip_forward:\s*(-?\d+)/.exec(n.sysctl?.out ?? "")?.[1] ?? "0";
  for (const line of lines) {
    const i = line.indexOf(":");
    const key = line.slice(0, i).replace(/^\/proc\/sys\//, "").replace(/\//g, ".");
    const value = line.slice(i + 1).trim().replace(/\s+/g, " ");
    const cmd = sysctlCommand(st, n.name, key, value, fwd, modules);
    if (cmd === null) continue;
    (key === "net.ipv4.ip_forward" ? pre : post).push(cmd);
    st.counts["sysctls"]!++;
  }
  for (const m of modules) if (n.kind === "root") st.topo.push(`modprobe ${m}`);
  st.topo.push(...pre, ...post);
}

/** `sysctl -w` for one sysctl read as key: value, or null when it needs none; notes the module it needs. */
function sysctlCommand(st: ImportState, ns: string, key: string, value: string, fwd: string, modules: Set<string>): string | null {
  const dev = /^net\.ipv4\.conf\.([^.]+)\.([a-z_]+)$/.exec(key);
  let def: string | undefined;
  if (dev) {
    if (dev[1] !== "all" && dev[1] !== "default" && !st.byNs.get(ns)!.has(dev[1]!)) return null;
    def = SYSCTL_DEFAULTS[dev[2]!];
  } else def = SYSCTL_DEFAULTS[key];
  if (key.startsWith("net.bridge.")) modules.add("br_netfilter");
  if (key.startsWith("net.ipv4.vs.")) {
    modules.add("ip_vs");
    if (!IPVS_SYSCTLS_KNOWN.has(key)) {
      const kdef = IPVS_UNMODELLED_DEFAULTS[key];
      if (kdef === null || kdef === value) st.defaultSysctls.add(key.slice("net.ipv4.vs.".length));
      else st.ignoredSysctls.add(`${key}=${value}${kdef === undefined ? "" : ` (the kernel's default is ${kdef})`}`);
      return null;
    }
  }
  if (def === undefined || def === value) return null;
  // ip_forward sets every device's forwarding (inet_forward_change()): only the exceptions.
  if (dev?.[2] === "forwarding" && value === (Number(fwd) ? "1" : "0")) return null;
  return `${execIn(ns)}sysctl -w ${key}=${value.includes(" ") ? `"${value}"` : value}`;
}

function reportIpvsSysctls(st: ImportState): void {
  if (st.ignoredSysctls.size) st.notModelled.push(`sysctls read but not modelled by pktpath: ${[...st.ignoredSysctls].sort().join(", ")}`);
  if (st.defaultSysctls.size) st.notModelled.push(`IPVS sysctls not modelled by pktpath, at the kernel's defaults: net.ipv4.vs.{${[...st.defaultSysctls].sort().join(",")}}`);
}

/** Netfilter, ipset, IPVS: what the tools saved, restored by the same tools; nft tables and conntrack reported. */
function savedTables(st: ImportState, n: Netns): void {
  const pfx = execIn(n.name);
  const sets = n.ipset_save?.rc === 0 ? n.ipset_save.out.trim() : "";
  if (sets) {
    st.counts["sets"]! += sets.split("\n").filter((l) => l.startsWith("create ")).length;
    st.blocks.push({ run: heredoc(`${pfx}ipset restore`, sets), comment: `${n.name}: ipset save` });
  }
  iptablesBlock(st, n);
  ipvsBlock(st, n);
  // The tables iptables-nft keeps were left to iptables-save by the snapshot script.
  for (const [k, c] of Object.entries(n.nft_tables ?? {})) {
    const [fam, tname] = [k.slice(0, k.indexOf(":")), k.slice(k.indexOf(":") + 1)];
    const chains = c.rc === 0 ? (c.out.match(/"chain":/g) ?? []).length : 0;
    const what = `${n.name}: nft table ${fam} ${tname}${chains ? ` (${chains} chain${chains === 1 ? "" : "s"})` : ""}`;
    if (fam === "ip6") st.notModelled.push(`${what}: IPv6 is not modelled by pktpath`);
    else st.notModelled.push(`${what}: nftables rules are not modelled by pktpath yet`);
  }
  const ct = n.conntrack?.rc === 0 ? n.conntrack.out.trim().split("\n").filter(Boolean).length : 0;
  if (ct) st.notModelled.push(`${n.name}: ${ct} conntrack entries read, not imported (connections are rebuilt by traffic)`);
}

/** iptables-save's output (counters zeroed) as an iptables-restore block; its DNAT targets are endpoints. */
function iptablesBlock(st: ImportState, n: Netns): void {
  const ipt = n.iptables_save?.rc === 0 ? n.iptables_save.out : "";
  const rules = ipt
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.replace(/^\[\d+:\d+\] /, "").replace(/^(:\S+ \S+) \[\d+:\d+\]$/, "$1 [0:0]"));
  if (!rules.some((l) => l.startsWith("-A "))) return;
  st.counts["rules"]! += rules.filter((l) => l.startsWith("-A ")).length;
  st.blocks.push({ run: heredoc(`${execIn(n.name)}iptables-restore`, rules.join("\n")), comment: `${n.name}: iptables-save (${(n.iptables_version?.out ?? "").trim()})` });
  for (const l of rules) {
    const m = / -j DNAT .*--to-destination (\d+\.\d+\.\d+\.\d+)(?::(\d+))?/.exec(l);
    if (!m) continue;
    const proto = / -p (tcp|udp)\b/.exec(l)?.[1] ?? "tcp";
    const port = m[2] ? Number(m[2]) : Number(/--dport (\d+)/.exec(l)?.[1] ?? 0);
    if (port) st.endpoints.push({ addr: m[1]!, port, proto });
  }
}

/** ipvsadm -Sn's output as an ipvsadm -R block (and --set when the timeouts differ); its real servers are endpoints. */
function ipvsBlock(st: ImportState, n: Netns): void {
  const pfx = execIn(n.name);
  const ipvs = n.ipvsadm_save?.rc === 0 ? n.ipvsadm_save.out.trim() : "";
  if (!ipvs) return;
  st.counts["ipvs services"]! += ipvs.split("\n").filter((l) => l.startsWith("-A ")).length;
  const tmo = /Timeout \(tcp tcpfin udp\): (\d+) (\d+) (\d+)/.exec(n.ipvsadm_list?.out ?? "");
  if (n.kind === "root" && !st.topo.includes("modprobe ip_vs")) st.topo.push("modprobe ip_vs");
  st.blocks.push({ run: heredoc(`${pfx}ipvsadm -R`, ipvs), comment: `${n.name}: ipvsadm -Sn` });
  if (tmo && `${tmo[1]} ${tmo[2]} ${tmo[3]}` !== "900 120 300") st.blocks.push({ run: `${pfx}ipvsadm --set ${tmo[1]} ${tmo[2]} ${tmo[3]}`, comment: `${n.name}: ipvsadm -Ln --timeout` });
  for (const l of ipvs.split("\n")) {
    const m = /^-a -(t|u) \S+ -r (\d+\.\d+\.\d+\.\d+):(\d+)/.exec(l);
    if (m) st.endpoints.push({ addr: m[2]!, port: Number(m[3]), proto: m[1] === "u" ? "udp" : "tcp" });
  }
}

/** Listeners for every Service endpoint, in the namespace that holds its address. */
function listenerCommands(st: ImportState): string[] {
  const listeners: string[] = [];
  const owner = addressOwners(st);
  const done = new Set<string>();
  for (const e of st.endpoints) {
    const ns = owner.get(e.addr);
    if (!ns) {
      const key = `none ${e.addr}:${e.port}`;
      if (!done.has(key)) st.standIns.push(`endpoint ${e.addr}:${e.port}/${e.proto} is on no namespace of this node: no listener for it`);
      done.add(key);
      continue;
    }
    const key = `${ns} ${e.proto} ${e.port}`;
    if (done.has(key)) continue;
    done.add(key);
    listeners.push(`${execIn(ns)}${e.proto === "udp" ? `nc -lu ${e.port}` : `python3 -m http.server ${e.port}`} &`);
    st.counts["listeners"]!++;
  }
  return listeners;
}

/** IPv4 address -> the first namespace that holds it on a rebuilt link. */
function addressOwners(st: ImportState): Map<string, string> {
  const owner = new Map<string, string>();
  for (const n of st.snap.netns) {
    for (const a of (jsonField(st.file, n.name, "address", n.address) ?? []) as AddrJson[]) {
      if (!st.byNs.get(n.name)!.has(a.ifname)) continue;
      for (const ai of a.addr_info ?? []) if (ai.family === "inet" && !owner.has(ai.local)) owner.set(ai.local, n.name);
    }
  }
  return owner;
}

/** The scenario: header comments (what is left out, what is stood in for), then the run: steps. */
function scenarioText(st: ImportState, listeners: string[]): string {
  const { snap, notModelled, standIns } = st;
  const header = [
    `# pktpath import of ${snap.hostname || "a node"} (kernel ${snap.kernel || "?"}, snapshot of ${snap.date || "?"}).`,
    "# The run: steps rebuild the node: namespaces, links, bridge ports, addresses, routes,",
    "# neighbours and sysctls, then what iptables-save, ipset save and ipvsadm -Sn printed.",
  ];
  if (notModelled.length) header.push("#", "# Not modelled by pktpath, left out:", ...notModelled.map((x) => `#   - ${x}`));
  if (standIns.length) header.push("#", "# Stood in for:", ...standIns.map((x) => `#   - ${x}`));
  const steps: Record<string, unknown>[] = [{ run: st.topo.join("\n") + "\n" }];
  for (const b of st.blocks) steps.push({ run: b.run });
  if (listeners.length) steps.push({ run: listeners.join("\n") + "\n" });
  const doc = {
    name: `node ${snap.hostname || "snapshot"}`,
    description: `Imported by pktpath import from a snapshot of ${snap.hostname || "a node"} (${snap.netns.length} network namespace${snap.netns.length === 1 ? "" : "s"}).`,
    steps,
  };
  return header.join("\n") + "\n" + stringify(doc, { lineWidth: 0, blockQuote: "literal" });
}

export function summary(r: ImportResult): string {
  return Object.entries(r.counts)
    .map(([k, v]) => `${v} ${k}`)
    .join(", ");
}
