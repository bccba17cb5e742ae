// The configuration snapshot: everything commands configure, as immutable data.
// Changed only through immer's produce inside one command (Host.change and Host.batch
// in src/host.ts); the pure functions that change it are the other files of src/config/.
// The long lists (a link's addresses, a namespace's routes) are persistent lists
// (plist.ts): one change copies one chunk of them, not the list.
import type { PList } from "./plist.ts";

export type LinkKind = "loopback" | "veth" | "bridge" | "dummy";

export type Scope = "global" | "link" | "host";

export interface AddressConfig {
  addr: number;
  plen: number;
  /** Explicit broadcast (`brd`), 0 when none was given. */
  broadcast: number;
  scope: Scope;
  /** IFA_F_SECONDARY: another primary already covers this subnet. */
  secondary: boolean;
  /** IFA_LABEL when one was given (`label lo:1`); absent: the device's name. */
  label?: string;
}

export interface LinkConfig {
  /** Stable identity across namespace moves (the kernel's net_device). */
  id: number;
  name: string;
  netns: string;
  ifindex: number;
  kind: LinkKind;
  mac: number;
  /** True once the MAC was set by the user or inherited (bridge: NET_ADDR_SET). */
  macSet: boolean;
  mtu: number;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** Has been up once (its qdisc is then noqueue rather than noop). */
  everUp: boolean;
  promisc: boolean;
  /** Link id of the bridge this link is a port of. */
  master: number | null;
  /** Link id of the veth peer. */
  peer: number | null;
  /** Bridge port flag BR_HAIRPIN_MODE. */
  hairpin: boolean;
  addrs: PList<AddressConfig>;
}

export type RouteType = "unicast" | "local" | "broadcast" | "blackhole" | "unreachable" | "prohibit";
export type RouteProto = "kernel" | "boot" | "static";

export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

export interface RouteConfig {
  table: number;
  type: RouteType;
  dst: number;
  plen: number;
  /** Output link id; null for blackhole/unreachable/prohibit. */
  dev: number | null;
  via: number | null;
  /** Preferred source (`src`); null when not set. */
  src: number | null;
  scope: Scope;
  proto: RouteProto;
  metric: number;
  /** RTNH_F_ONLINK: the gateway is taken as on the device's link without a connected route. */
  onlink?: boolean;
}

/**
 * Layers above the core (netfilter, ipset, ipvs) add their per-namespace
 * configuration here by declaration merging, so the core never imports them.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface NetnsExtensions {}

export interface NetnsConfig {
  name: string;
  nextIfindex: number;
  routes: PList<RouteConfig>;
  /** Sysctls written in this namespace; unset keys read as their defaults. */
  sysctl: Record<string, string>;
  /** Ids this namespace gave other namespaces (peernet2id_alloc), by name. */
  nsids: Record<string, number>;
  ext: NetnsExtensions;
}

export interface Config {
  /** By name; the root namespace is "host". */
  netns: Record<string, NetnsConfig>;
  links: Record<number, LinkConfig>;
  nextLinkId: number;
  /** Kernel modules loaded with modprobe (or by use). */
  modules: Record<string, true>;
}

export const ROOT_NETNS = "host";
