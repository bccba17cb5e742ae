// iproute2's listing formats (ip/ipaddress.c, ip/iproute.c, ip/ipneigh.c), line for line.
import type { Config, LinkConfig, RouteConfig } from "../../config/types.ts";
import { RT_TABLE_LOCAL, RT_TABLE_MAIN } from "../../config/types.ts";
import { formatIPv4, formatPrefix } from "../../wire/ipv4.ts";
import { formatMac } from "../../wire/mac.ts";
import type { View, LinkView } from "../../dataplane/view.ts";

/** IFF_LOWER_UP as the view computes it. */
export function carrierOf(view: View, link: LinkConfig): boolean {
  return view.links.get(link.id)?.carrier ?? false;
}

function bridgeHasPorts(view: View, link: LinkConfig): boolean {
  return (view.links.get(link.id)?.ports.length ?? 0) > 0;
}

// print_link_flags()
export function linkFlags(view: View, link: LinkConfig): string {
  const carrier = carrierOf(view, link);
  const f: string[] = [];
  if (link.up && !carrier) f.push("NO-CARRIER");
  if (link.kind === "loopback") f.push("LOOPBACK");
  else f.push("BROADCAST");
  if (link.kind !== "loopback") f.push("MULTICAST");
  if (link.kind === "dummy") f.push("NOARP");
  if (link.promisc) f.push("PROMISC");
  if (link.up) f.push("UP");
  if (link.up && carrier) f.push("LOWER_UP");
  if (link.kind === "veth" && peerInSameNsDown(view, link)) f.push("M-DOWN");
  return `<${f.join(",")}>`;
}

function peerInSameNsDown(view: View, link: LinkConfig): boolean {
  const peer = link.peer !== null ? view.config.links[link.peer] : undefined;
  return !!peer && peer.netns === link.netns && !peer.up;
}

// IF_OPER_*: what the driver reported (lo and dummy never report: UNKNOWN).
export function operState(view: View, link: LinkConfig): string {
  if (!link.up) return "DOWN";
  const carrier = carrierOf(view, link);
  switch (link.kind) {
    case "loopback":
    case "dummy":
      return "UNKNOWN";
    case "bridge":
      if (!bridgeHasPorts(view, link)) return "UNKNOWN";
      return carrier ? "UP" : "DOWN";
    case "veth":
      // Measured: LOWERLAYERDOWN when the down peer is in the same namespace, DOWN across namespaces.
      return carrier ? "UP" : peerInSameNsDown(view, link) ? "LOWERLAYERDOWN" : "DOWN";
  }
}

/** "veth_dustin@if3" / "veth_ns@veth_host": the link name with its peer. */
export function linkName(config: Config, link: LinkConfig): string {
  if (link.kind !== "veth" || link.peer === null) return link.name;
  const peer = config.links[link.peer];
  if (!peer) return `${link.name}@NONE`;
  return peer.netns === link.netns ? `${link.name}@${peer.name}` : `${link.name}@if${peer.ifindex}`;
}

function linkNetns(config: Config, link: LinkConfig): string {
  if (link.kind !== "veth" || link.peer === null) return "";
  const peer = config.links[link.peer];
  if (!peer || peer.netns === link.netns) return "";
  // iproute2 names the peer namespace when it finds it under /run/netns; the root one it cannot.
  if (peer.netns !== "host") return ` link-netns ${peer.netns}`;
  return ` link-netnsid ${config.netns[link.netns]!.nsids[peer.netns] ?? 0}`;
}

function linkHeader(view: View, link: LinkConfig, withMode: boolean): string {
  const config = view.config;
  const master = link.master !== null ? config.links[link.master] : undefined;
  const qdisc = link.everUp ? "noqueue" : "noop";
  const mode = withMode ? " mode DEFAULT" : "";
  return (
    `${link.ifindex}: ${linkName(config, link)}: ${linkFlags(view, link)} mtu ${link.mtu} qdisc ${qdisc}` +
    `${master ? ` master ${master.name}` : ""} state ${operState(view, link)}${mode} group default qlen 1000`
  );
}

function linkLayer(config: Config, link: LinkConfig): string {
  if (link.kind === "loopback") return "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00";
  return `    link/ether ${formatMac(link.mac)} brd ff:ff:ff:ff:ff:ff${linkNetns(config, link)}`;
}

export function showLink(view: View, link: LinkConfig): string[] {
  return [linkHeader(view, link, true), linkLayer(view.config, link)];
}

export function showAddr(view: View, link: LinkConfig, family: number): string[] {
  const lines = [linkHeader(view, link, false)];
  if (family === 0) lines.push(linkLayer(view.config, link));
  for (const a of link.addrs) {
    const brd = a.broadcast ? ` brd ${formatIPv4(a.broadcast)}` : "";
    const sec = a.secondary ? " secondary" : "";
    lines.push(`    inet ${formatIPv4(a.addr)}/${a.plen}${brd} scope ${a.scope}${sec} ${a.label ?? link.name}`);
    lines.push("       valid_lft forever preferred_lft forever");
  }
  return lines;
}

export function briefLink(view: View, link: LinkConfig): string {
  const mac = link.kind === "loopback" ? "00:00:00:00:00:00" : formatMac(link.mac);
  return `${linkName(view.config, link).padEnd(16)} ${operState(view, link).padEnd(14)} ${mac} ${linkFlags(view, link)} `;
}

export function briefAddr(view: View, link: LinkConfig): string {
  const addrs = link.addrs.map((a) => `${formatIPv4(a.addr)}/${a.plen} `).join("");
  return `${linkName(view.config, link).padEnd(16)} ${operState(view, link).padEnd(14)} ${addrs}`;
}

const TYPE_WORD: Record<RouteConfig["type"], string> = {
  unicast: "",
  local: "local ",
  broadcast: "broadcast ",
  blackhole: "blackhole ",
  unreachable: "unreachable ",
  prohibit: "prohibit ",
};

// print_route()
export function routeLine(view: View, r: RouteConfig, showTable: boolean): string {
  const dev = r.dev !== null ? view.config.links[r.dev] : undefined;
  const dst = r.plen === 0 && r.dst === 0 ? "default" : formatPrefix({ addr: r.dst, plen: r.plen });
  let line = `${TYPE_WORD[r.type]}${dst} `;
  if (r.via !== null) line += `via ${formatIPv4(r.via)} `;
  if (dev) line += `dev ${dev.name} `;
  if (showTable && r.table !== RT_TABLE_MAIN) line += `table ${r.table === RT_TABLE_LOCAL ? "local" : r.table} `;
  if (r.proto !== "boot") line += `proto ${r.proto} `;
  if (r.scope !== "global") line += `scope ${r.scope} `;
  if (r.src !== null) line += `src ${formatIPv4(r.src)} `;
  if (r.metric) line += `metric ${r.metric} `;
  if (r.onlink) line += "onlink ";
  const lv: LinkView | undefined = dev ? view.links.get(dev.id) : undefined;
  // fib_sync_down_dev(): RTNH_F_LINKDOWN on unicast and broadcast nexthops, not on local
  // ones nor on host-scope ones (RT_SCOPE_NOWHERE nexthops: measured, never flagged).
  if (lv && !lv.carrier && r.scope !== "host" && (r.type === "unicast" || r.type === "broadcast")) line += "linkdown ";
  return line;
}

/** fib_trie dump order: by key, and within one key the longer prefix first. */
export function dumpOrder(a: RouteConfig, b: RouteConfig): number {
  return a.dst - b.dst || b.plen - a.plen || a.metric - b.metric;
}
