// modprobe (kmod): loading a module makes its sysctls and behaviour appear.
import { ToolError, type Tool } from "../tool/tool.ts";

/** Modules a scenario may load: the ones that change what the emulator does or shows. */
export const KNOWN_MODULES = new Set([
  "br_netfilter",
  "bridge",
  "veth",
  "dummy",
  "ip_vs",
  "ip_vs_rr",
  "ip_vs_wrr",
  "ip_vs_lc",
  "ip_vs_wlc",
  "ip_vs_sh",
  "ip_vs_sed",
  "ip_vs_nq",
  "ip_vs_dh",
  "ip_vs_mh",
  "ip_vs_lblc",
  "ip_vs_lblcr",
  "ip_vs_fo",
  "ip_vs_ovf",
  "nf_conntrack",
  "nf_nat",
  "iptable_nat",
  "iptable_filter",
  "iptable_mangle",
  "iptable_raw",
  "ip_tables",
  "x_tables",
  "xt_set",
  "ip_set",
  "ip_set_hash_ip",
  "ip_set_hash_ipport",
  "ip_set_hash_ipportip",
  "ip_set_hash_ipportnet",
  "ip_set_hash_net",
  "ip_set_hash_netport",
  "ip_set_hash_netiface",
  "ip_set_bitmap_ip",
  "ip_set_bitmap_port",
  "ip_set_list_set",
  "xt_conntrack",
  "xt_MASQUERADE",
  "xt_mark",
  "xt_comment",
  "xt_addrtype",
  "xt_statistic",
  "xt_physdev",
  "xt_multiport",
  "nf_conntrack_netlink",
  "ipip",
  "overlay",
]);

/** Loading br_netfilter loads bridge too; ip_vs_* load ip_vs (modules.dep). */
const DEPENDS: Record<string, string[]> = { br_netfilter: ["bridge"], xt_set: ["ip_set"] };

export const modprobeTool: Tool = (argv, ctx) => {
  const names: string[] = [];
  let remove = false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-r" || a === "--remove") remove = true;
    else if (a === "-a" || a === "--all" || a === "-q" || a === "--quiet" || a === "-v" || a === "--verbose" || a === "-b") continue;
    else if (a.startsWith("-")) throw new ToolError(`modprobe: ERROR: unknown option ${a}`);
    else {
      names.push(a.replace(/-/g, "_"));
      // Without -a, the words after the module name are its parameters.
      if (!argv.includes("-a") && !argv.includes("--all")) break;
    }
  }
  if (!names.length) throw new ToolError("modprobe: ERROR: missing parameters. See -h.");
  for (const name of names) {
    if (!KNOWN_MODULES.has(name)) throw new ToolError(`modprobe: FATAL: Module ${name} not found in directory /lib/modules/6.1.0-emulated`);
  }
  ctx.host.change((c) => {
    for (const name of names) {
      const all = [name, ...(DEPENDS[name] ?? []), ...(name.startsWith("ip_vs_") ? ["ip_vs"] : [])];
      for (const m of all) {
        if (remove) delete c.modules[m];
        else c.modules[m] = true;
      }
    }
  });
  return { stdout: "" };
};
