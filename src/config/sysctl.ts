// The sysctls the emulator models: which exist (per namespace, per device, or once a
// module is loaded), their defaults, their validation, and the kernel's way of
// combining net.ipv4.conf.all with a device's own value.
import type { Config, NetnsConfig } from "./types.ts";
import { KernelError } from "./errors.ts";

export interface SysctlDef {
  /** Full key, or a per-device template containing "{dev}". */
  key: string;
  default: string;
  /** The module that creates it (e.g. br_netfilter); null for always present. */
  module: string | null;
  /** Inclusive integer range accepted; null accepts any text. */
  range: [number, number] | null;
  /** Number of integers in the value (ip_local_port_range has 2). */
  count?: number;
  /** A check of the integers together, after the range (ip_local_port_range's order). */
  valid?: (nums: number[]) => boolean;
}

const defs = new Map<string, SysctlDef>();
const deviceDefs = new Map<string, SysctlDef>();

export function registerSysctl(def: SysctlDef): void {
  if (def.key.includes("{dev}")) deviceDefs.set(def.key.replace("net.ipv4.conf.{dev}.", ""), def);
  else defs.set(def.key, def);
}

const bool: [number, number] = [0, 1];
const int: [number, number] = [-2147483648, 2147483647];
// devinet_sysctl_forward() reads any int (proc_dointvec); non-zero turns forwarding on.
registerSysctl({ key: "net.ipv4.ip_forward", default: "0", module: null, range: int });
// ipv4_local_port_range(): 1..65535 each, the high end not below the low, and the low not
// below ip_unprivileged_port_start (sysctl_ip_prot_sock, 1024; not modelled as a sysctl).
registerSysctl({ key: "net.ipv4.ip_local_port_range", default: "32768\t60999", module: null, range: [1, 65535], count: 2, valid: ([lo, hi]) => lo! >= 1024 && lo! <= hi! });
registerSysctl({ key: "net.ipv4.icmp_echo_ignore_all", default: "0", module: null, range: [0, 1] });
registerSysctl({ key: "net.ipv4.ip_default_ttl", default: "64", module: null, range: [1, 255] });
// devinet_conf_proc() is proc_dointvec: every per-device value takes any int; the code that
// reads one treats values it does not know as the kernel does (arp_ignore 4-7, 9+: reply).
for (const [name, def] of [
  ["forwarding", "0"],
  ["arp_ignore", "0"],
  ["arp_announce", "0"],
  ["arp_filter", "0"],
  ["rp_filter", "0"],
  ["accept_local", "0"],
  ["route_localnet", "0"],
  ["proxy_arp", "0"],
  ["send_redirects", "1"],
  ["log_martians", "0"],
] as [string, string][]) {
  registerSysctl({ key: `net.ipv4.conf.{dev}.${name}`, default: def, module: null, range: int });
}
for (const name of ["bridge-nf-call-iptables", "bridge-nf-call-ip6tables", "bridge-nf-call-arptables"]) {
  // br_netfilter: per-namespace since the sysctls moved to struct brnf_net; default 1.
  registerSysctl({ key: `net.bridge.${name}`, default: "1", module: "br_netfilter", range: bool });
}
registerSysctl({ key: "net.bridge.bridge-nf-filter-vlan-tagged", default: "0", module: "br_netfilter", range: bool });
registerSysctl({ key: "net.bridge.bridge-nf-pass-vlan-input-dev", default: "0", module: "br_netfilter", range: bool });

function linkExists(config: Config, ns: string, dev: string): boolean {
  for (const link of Object.values(config.links)) if (link.netns === ns && link.name === dev) return true;
  return false;
}

interface Resolved {
  def: SysctlDef;
  /** For per-device keys: the device part ("all", "default" or a link name). */
  dev: string | null;
}

/** Finds a key's definition if it exists in this namespace now (module loaded, device present). */
export function resolveSysctl(config: Config, ns: string, key: string): Resolved | null {
  const direct = defs.get(key);
  if (direct) return direct.module && !config.modules[direct.module] ? null : { def: direct, dev: null };
  const m = /^net\.ipv4\.conf\.([^.]+)\.([a-z_]+)$/.exec(key);
  if (!m) return null;
  const def = deviceDefs.get(m[2]!);
  if (!def) return null;
  const dev = m[1]!;
  if (dev !== "all" && dev !== "default" && !linkExists(config, ns, dev)) return null;
  return { def, dev };
}

export function sysctlPath(key: string): string {
  return `/proc/sys/${key.replace(/\./g, "/")}`;
}

export function readSysctl(nsc: NetnsConfig, key: string, dev: string | null, def: SysctlDef): string {
  const own = nsc.sysctl[key];
  if (own !== undefined) return own;
  if (key === "net.ipv4.conf.all.forwarding") return readSysctl(nsc, "net.ipv4.ip_forward", null, def);
  if (dev !== null && dev !== "all" && dev !== "default") {
    const name = key.slice(key.lastIndexOf(".") + 1);
    // devinet: a new device copies net.ipv4.conf.default; forwarding follows ip_forward writes.
    if (name === "forwarding") return readSysctl(nsc, "net.ipv4.ip_forward", null, def);
    const fromDefault = nsc.sysctl[`net.ipv4.conf.default.${name}`];
    if (fromDefault !== undefined) return fromDefault;
  }
  return def.default;
}

/** Validates and normalises a value the way proc_dointvec_minmax does; throws EINVAL. */
export function normaliseSysctl(def: SysctlDef, value: string): string {
  if (def.range === null) return value;
  const parts = value.trim().split(/\s+/);
  if (parts.length !== (def.count ?? 1) || parts.some((p) => !/^-?\d+$/.test(p))) throw new KernelError("EINVAL");
  const nums = parts.map(Number);
  if (nums.some((n) => n < def.range![0] || n > def.range![1])) throw new KernelError("EINVAL");
  if (def.valid && !def.valid(nums)) throw new KernelError("EINVAL");
  return nums.join("\t");
}

/** Writes a value into a namespace draft, with the kernel's side effects. */
export function writeSysctl(nsc: NetnsConfig, key: string, value: string): void {
  if (key === "net.ipv4.ip_forward" || key === "net.ipv4.conf.all.forwarding") {
    // devinet_sysctl_forward(): writing all.forwarding (= ip_forward) sets every device and default.
    for (const k of Object.keys(nsc.sysctl)) if (/^net\.ipv4\.conf\.[^.]+\.forwarding$/.test(k)) delete nsc.sysctl[k];
    nsc.sysctl["net.ipv4.ip_forward"] = value;
    nsc.sysctl["net.ipv4.conf.default.forwarding"] = value;
    return;
  }
  nsc.sysctl[key] = value;
}

/** Per-device value as the kernel combines it: IN_DEV_MAXCONF for these keys, else the device's own. */
export function deviceConf(nsc: NetnsConfig, dev: string, name: string): number {
  const def = deviceDefs.get(name);
  if (!def) throw new Error(`unknown device sysctl ${name}`);
  const own = Number(readSysctl(nsc, `net.ipv4.conf.${dev}.${name}`, dev, def));
  const all = Number(readSysctl(nsc, `net.ipv4.conf.all.${name}`, "all", def));
  switch (name) {
    case "arp_ignore":
    case "arp_announce":
    case "rp_filter":
      return Math.max(own, all);
    case "accept_local":
    case "route_localnet":
    case "proxy_arp":
    case "log_martians":
      return own | all;
    default:
      return own;
  }
}

export function sysctlNumber(nsc: NetnsConfig, key: string): number {
  const def = defs.get(key);
  if (!def) throw new Error(`unknown sysctl ${key}`);
  return Number(readSysctl(nsc, key, null, def).split("\t")[0]);
}
