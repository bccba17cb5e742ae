// Links: ip link add/del/set, bridge ports and veth pairs, moving between namespaces.
import type { Config, LinkConfig, LinkKind } from "./types.ts";
import { KernelError } from "./errors.ts";
import { allocIfindex, allocNsids, findLink, newLink } from "./netns.ts";
import { flushRoutesVia, linkDown, linkUp } from "./addrs.ts";
import { PList } from "./plist.ts";

function checkFree(config: Config, ns: string, name: string): void {
  if (findLink(config, ns, name)) throw new KernelError("EEXIST");
}

export interface LinkSpec {
  /** null: the kernel names it (veth0, bridge0, dummy0...). */
  name: string | null;
  kind: Exclude<LinkKind, "loopback">;
  peerName: string | null;
  peerNetns: string | null;
  mac: number | null;
}

export function addLink(config: Config, ns: string, spec: LinkSpec): LinkConfig {
  if (spec.name !== null) checkFree(config, ns, spec.name);
  if (spec.kind === "veth") {
    const peerNs = spec.peerNetns ?? ns;
    // veth_newlink(): unnamed ends get vethN names, the peer first.
    const peerName = spec.peerName ?? freeName(config, peerNs, "veth", spec.name);
    const name = spec.name ?? freeName(config, ns, "veth", peerName);
    if (peerNs === ns && peerName === name) throw new KernelError("EEXIST");
    checkFree(config, peerNs, peerName);
    // veth_newlink() registers the peer first: it gets the lower ifindex.
    const peer = newLink(config, peerNs, peerName, "veth", null);
    const link = newLink(config, ns, name, "veth", spec.mac);
    link.peer = peer.id;
    peer.peer = link.id;
    allocNsids(config, ns, peerNs);
    return link;
  }
  const link = newLink(config, ns, spec.name ?? freeName(config, ns, spec.kind, null), spec.kind, spec.mac);
  if (spec.mac !== null) link.macSet = true;
  return link;
}

function freeName(config: Config, ns: string, prefix: string, taken: string | null): string {
  for (let i = 0; ; i++) {
    const name = `${prefix}${i}`;
    if (name !== taken && !findLink(config, ns, name)) return name;
  }
}

// unregister_netdevice: a veth takes its peer along; a bridge releases its ports.
export function delLink(config: Config, link: LinkConfig): void {
  if (link.kind === "loopback") throw new KernelError("EOPNOTSUPP");
  const victims = link.peer !== null && config.links[link.peer] ? [link, config.links[link.peer]!] : [link];
  for (const victim of victims) {
    flushRoutesVia(config, victim);
    if (victim.master !== null) setMaster(config, victim, null);
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
    const old = link.master !== null ? config.links[link.master] : undefined;
    link.master = null;
    link.hairpin = false;
    if (old) recalcBridgeMac(config, old);
    return;
  }
  if (master.kind !== "bridge") throw new KernelError("EOPNOTSUPP");
  // br_add_if(): no bridge in a bridge, no loopback port.
  if (link.kind === "bridge") throw new KernelError("ELOOP", "Can not enslave a bridge to a bridge.");
  if (link.kind === "loopback") throw new KernelError("EINVAL");
  if (link.master !== null && link.master !== master.id) throw new KernelError("EBUSY");
  link.master = master.id;
  // br_stp_recalculate_bridge_id(): a bridge whose address was never set takes its lowest port MAC.
  recalcBridgeMac(config, master);
}

export function recalcBridgeMac(config: Config, bridge: LinkConfig): void {
  if (bridge.macSet) return;
  let min: number | null = null;
  for (const l of Object.values(config.links)) if (l.master === bridge.id && (min === null || l.mac < min)) min = l.mac;
  // Measured: the last port leaving leaves the bridge with 00:00:00:00:00:00.
  bridge.mac = min ?? 0;
}

// dev_change_net_namespace(): the link goes down, loses its addresses and routes, takes a new ifindex.
export function setNetns(config: Config, link: LinkConfig, ns: string): void {
  if (link.kind === "loopback") throw new KernelError("EINVAL");
  checkFree(config, ns, link.name);
  if (link.up) linkDown(config, link);
  flushRoutesVia(config, link);
  link.addrs = PList.empty();
  setMaster(config, link, null);
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
