// What this machine's kernel has: read from /proc/config.gz (or /sys/module), never by
// loading anything. Real-kernel mode never loads or unloads a module on the machine's
// kernel (br_netfilter loaded there would change how the machine's own bridges work):
// a scenario that needs a module the kernel lacks goes to the VM backend.
import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

/** The config symbol behind each module a scenario may modprobe (see commands/modprobe.ts). */
const MODULE_CONFIG: Record<string, string[]> = {
  br_netfilter: ["BRIDGE_NETFILTER"],
  bridge: ["BRIDGE"],
  veth: ["VETH"],
  dummy: ["DUMMY"],
  ip_vs: ["IP_VS"],
  nf_conntrack: ["NF_CONNTRACK"],
  nf_nat: ["NF_NAT"],
  iptable_nat: ["IP_NF_NAT"],
  iptable_filter: ["IP_NF_FILTER"],
  iptable_mangle: ["IP_NF_MANGLE"],
  iptable_raw: ["IP_NF_RAW"],
  ip_tables: ["IP_NF_IPTABLES"],
  x_tables: ["NETFILTER_XTABLES"],
  xt_set: ["NETFILTER_XT_SET"],
  ip_set: ["IP_SET"],
  ip_set_hash_ip: ["IP_SET_HASH_IP"],
  ip_set_hash_ipport: ["IP_SET_HASH_IPPORT"],
  ip_set_hash_ipportip: ["IP_SET_HASH_IPPORTIP"],
  ip_set_hash_ipportnet: ["IP_SET_HASH_IPPORTNET"],
  ip_set_hash_net: ["IP_SET_HASH_NET"],
  ip_set_hash_netport: ["IP_SET_HASH_NETPORT"],
  ip_set_hash_netiface: ["IP_SET_HASH_NETIFACE"],
  ip_set_bitmap_ip: ["IP_SET_BITMAP_IP"],
  ip_set_bitmap_port: ["IP_SET_BITMAP_PORT"],
  ip_set_list_set: ["IP_SET_LIST_SET"],
  xt_conntrack: ["NETFILTER_XT_MATCH_CONNTRACK"],
  xt_MASQUERADE: ["NETFILTER_XT_TARGET_MASQUERADE", "IP_NF_TARGET_MASQUERADE"],
  xt_mark: ["NETFILTER_XT_MARK"],
  xt_comment: ["NETFILTER_XT_MATCH_COMMENT"],
  xt_addrtype: ["NETFILTER_XT_MATCH_ADDRTYPE"],
  xt_statistic: ["NETFILTER_XT_MATCH_STATISTIC"],
  xt_physdev: ["NETFILTER_XT_MATCH_PHYSDEV"],
  xt_multiport: ["NETFILTER_XT_MATCH_MULTIPORT"],
  nf_conntrack_netlink: ["NF_CT_NETLINK"],
  ipip: ["NET_IPIP"],
  overlay: ["OVERLAY_FS"],
};

/** `ip link add ... type T`: the config symbol of each link type. */
const LINK_TYPE_CONFIG: Record<string, string> = {
  veth: "VETH",
  bridge: "BRIDGE",
  dummy: "DUMMY",
  ipip: "NET_IPIP",
  gre: "NET_IPGRE",
  vxlan: "VXLAN",
  macvlan: "MACVLAN",
  ipvlan: "IPVLAN",
  vlan: "VLAN_8021Q",
  bond: "BONDING",
  wireguard: "WIREGUARD",
};

export interface KernelFeatures {
  /** CONFIG_X=y|m values, null when the kernel exposes no config. */
  config: Map<string, string> | null;
  /** Modules loaded or built in that show in /sys/module. */
  sysModules: (name: string) => boolean;
  /** Modules the kernel can load when the scenario asks (VM backend: br_netfilter); none on this machine. */
  onDemand?: Set<string>;
}

export function parseKernelConfig(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const x = /^CONFIG_([A-Z0-9_]+)=(.*)$/.exec(line);
    if (x) m.set(x[1]!, x[2]!);
  }
  return m;
}

let cached: KernelFeatures | null = null;

export function machineFeatures(): KernelFeatures {
  if (cached) return cached;
  let config: Map<string, string> | null = null;
  try {
    config = parseKernelConfig(gunzipSync(readFileSync("/proc/config.gz")).toString("utf8"));
  } catch {
    config = null;
  }
  cached = { config, sysModules: (name) => existsSync(`/sys/module/${name}`) };
  return cached;
}

function normaliseModule(name: string): string {
  return name.replace(/-/g, "_");
}

/**
 * Is the module usable without loading anything: built in (=y), or already loaded?
 * A module the kernel has only as =m is not: real-kernel mode loads nothing.
 */
export function moduleAvailable(name: string, f: KernelFeatures = machineFeatures()): boolean {
  const mod = normaliseModule(name);
  if (f.sysModules(mod)) return true;
  const syms = MODULE_CONFIG[mod] ?? (mod.startsWith("ip_vs_") ? [`IP_VS_${mod.slice(6).toUpperCase()}`] : null);
  if (!syms || !f.config) return false;
  return syms.some((s) => f.config!.get(s) === "y");
}

/** Can `ip link add ... type T` work here? Unknown types are left to the kernel to answer. */
export function linkTypeAvailable(type: string, f: KernelFeatures = machineFeatures()): boolean {
  const sym = LINK_TYPE_CONFIG[type];
  if (!sym) return true;
  if (f.config) return f.config.get(sym) === "y";
  return f.sysModules(type);
}

/** Is the kernel feature behind a config symbol built in (IP_VS for ipvsadm)? */
export function configBuiltIn(sym: string, f: KernelFeatures = machineFeatures()): boolean {
  return f.config?.get(sym) === "y";
}
