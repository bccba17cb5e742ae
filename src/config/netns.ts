// Namespaces: the initial host (root namespace with lo) and ip netns add/del.
import type { Config, LinkConfig, NetnsConfig } from "./types.ts";
import { ROOT_NETNS } from "./types.ts";
import { KernelError } from "./errors.ts";
import { generatedMac } from "../wire/mac.ts";
import { PList } from "./plist.ts";

function emptyNetns(name: string): NetnsConfig {
  return { name, nextIfindex: 1, routes: PList.empty(), sysctl: {}, nsids: {}, ext: {} };
}

/** A new namespace has only lo, down and without addresses (loopback_net_init). */
export function addNetns(config: Config, name: string): void {
  if (config.netns[name]) throw new KernelError("EEXIST");
  config.netns[name] = emptyNetns(name);
  newLink(config, name, "lo", "loopback", 0);
}

export function delNetns(config: Config, name: string): void {
  if (!config.netns[name] || name === ROOT_NETNS) throw new KernelError("ENOENT");
  for (const link of Object.values(config.links)) {
    if (link.netns !== name) continue;
    // default_device_exit: a veth dies with its namespace and takes its peer along.
    if (link.peer !== null) delete config.links[link.peer];
    delete config.links[link.id];
  }
  for (const link of Object.values(config.links)) {
    if (link.master !== null && !config.links[link.master]) link.master = null;
  }
  delete config.netns[name];
  for (const other of Object.values(config.netns)) delete other.nsids[name];
}

export function initialConfig(): Config {
  const config: Config = { netns: {}, links: {}, nextLinkId: 1, modules: {} };
  addNetns(config, ROOT_NETNS);
  return config;
}

/** Allocates a link in a namespace with the next ifindex of that namespace. */
export function newLink(config: Config, ns: string, name: string, kind: LinkConfig["kind"], mac: number | null): LinkConfig {
  const id = config.nextLinkId++;
  const link: LinkConfig = {
    id,
    name,
    netns: ns,
    ifindex: allocIfindex(config, ns),
    kind,
    mac: mac ?? (kind === "loopback" ? 0 : generatedMac(id)),
    macSet: false,
    mtu: kind === "loopback" ? 65536 : 1500,
    up: false,
    everUp: false,
    promisc: false,
    master: null,
    peer: null,
    hairpin: false,
    addrs: PList.empty(),
  };
  config.links[id] = link;
  return link;
}

export function findLink(config: Config, ns: string, name: string): LinkConfig | null {
  for (const link of Object.values(config.links)) if (link.netns === ns && link.name === name) return link;
  return null;
}

export function linksOf(config: Config, ns: string): LinkConfig[] {
  return Object.values(config.links)
    .filter((l) => l.netns === ns)
    .sort((a, b) => a.ifindex - b.ifindex);
}

/** dev_index_reserve(): the next free ifindex of the namespace, counting on from the last one given. */
export function allocIfindex(config: Config, ns: string): number {
  const nsc = config.netns[ns]!;
  const used = new Set<number>();
  for (const l of Object.values(config.links)) if (l.netns === ns) used.add(l.ifindex);
  let idx = nsc.nextIfindex;
  while (used.has(idx)) idx++;
  nsc.nextIfindex = idx + 1;
  return idx;
}

/** peernet2id_alloc() both ways: namespaces joined by a veth learn ids for each other. */
export function allocNsids(config: Config, a: string, b: string): void {
  if (a === b) return;
  for (const [from, to] of [[a, b], [b, a]] as const) {
    const ids = config.netns[from]!.nsids;
    if (ids[to] !== undefined) continue;
    const used = new Set(Object.values(ids));
    let id = 0;
    while (used.has(id)) id++;
    ids[to] = id;
  }
}
