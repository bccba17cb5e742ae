// Links: ip link add/del/set, bridge ports and veth pairs, moving between namespaces.
import type { Config, LinkConfig, LinkKind } from "./types.ts";
import { KernelError } from "./errors.ts";
import { allocIfindex, allocNsids, findLink, newLink } from "./netns.ts";
import { flushRoutesVia, linkDown, linkUp } from "./addrs.ts";

function checkFree(config: Config, ns: string, name: string): void {
  if (findLink(config, ns, name)) throw new KernelError("EEXIST");
}

export interface LinkSpec {
  name: string;
  kind: Exclude<LinkKind, "loopback">;
  peerName: string | null;
  peerNetns: string | null;
  mac: number | null;
}

export function addLink(config: Config, ns: string, spec: LinkSpec): LinkConfig {
  checkFree(config, ns, spec.name);
  if (spec.kind === "veth") {
    const peerNs = spec.peerNetns ?? ns;
    // veth_newlink(): with no peer name the kernel names it vethN.
    const peerName = spec.peerName ?? freeName(config, peerNs, "veth");
    if (peerNs === ns && peerName === spec.name) throw new KernelError("EEXIST");
    checkFree(config, peerNs, peerName);
    // veth_newlink() registers the peer first: it gets the lower ifindex.
    const peer = newLink(config, peerNs, peerName, "veth", null);
    const link = newLink(config, ns, spec.name, "veth", spec.mac);
    link.peer = peer.id;
    peer.peer = link.id;
    allocNsids(config, ns, peerNs);
    return link;
  }
  const link = newLink(config, ns, spec.name, spec.kind, spec.mac);
  if (spec.mac !== null) link.macSet = true;
  return link;
}

function freeName(config: Config, ns: string, prefix: string): string {
  for (let i = 0; ; i++) if (!findLink(config, ns, `${prefix}${i}`)) return `${prefix}${i}`;
}

// unregister_netdevice: a veth takes its peer along; a bridge releases its ports.
export function delLink(config: Config, link: LinkConfig): void {
  if (link.kind === "loopback") throw new KernelError("EOPNOTSUPP");
  const victims = link.peer !== null && config.links[link.peer] ? [link, config.links[link.peer]!] : [link];
  for (const victim of victims) {
    flushRoutesVia(config, victim);
    if (victim.kind === "bridge") {
      for (const port of Object.values(config.links)) if (port.master === victim.id) port.master = null;
    }
    delete config.links[victim.id];
  }
}

export function setUp(config: Config, link: LinkConfig, up: boolean): void {
  if (up) linkUp(config, link);
  else linkDown(config, link);
}

// br_add_if(): no loops, no enslaving a bridge to itself, no loopback.
export function setMaster(config: Config, link: LinkConfig, master: LinkConfig | null): void {
  if (master === null) {
    link.master = null;
    link.hairpin = false;
    return;
  }
  if (master.kind !== "bridge") throw new KernelError("EOPNOTSUPP");
  if (master.id === link.id || link.kind === "loopback") throw new KernelError("EINVAL");
  if (link.master !== null && link.master !== master.id) throw new KernelError("EBUSY");
  link.master = master.id;
  // br_stp_recalculate_bridge_id(): a bridge whose address was never set takes its lowest port MAC.
  recalcBridgeMac(config, master);
}

export function recalcBridgeMac(config: Config, bridge: LinkConfig): void {
  if (bridge.macSet) return;
  let min: number | null = null;
  for (const l of Object.values(config.links)) if (l.master === bridge.id && (min === null || l.mac < min)) min = l.mac;
  if (min !== null) bridge.mac = min;
}

// dev_change_net_namespace(): the link goes down, loses its addresses and routes, takes a new ifindex.
export function setNetns(config: Config, link: LinkConfig, ns: string): void {
  if (link.kind === "loopback") throw new KernelError("EINVAL");
  checkFree(config, ns, link.name);
  if (link.up) linkDown(config, link);
  flushRoutesVia(config, link);
  link.addrs = [];
  link.master = null;
  link.hairpin = false;
  // The ifindex is kept when it is free in the new namespace, as dev_change_net_namespace() does.
  const taken = Object.values(config.links).some((l) => l.netns === ns && l.ifindex === link.ifindex);
  link.netns = ns;
  if (taken) link.ifindex = allocIfindex(config, ns);
  const peer = link.peer !== null ? config.links[link.peer] : undefined;
  if (peer) allocNsids(config, ns, peer.netns);
}

export function setHairpin(link: LinkConfig, on: boolean): void {
  if (link.master === null) throw new KernelError("EOPNOTSUPP");
  link.hairpin = on;
}
