// `pktpath snapshot`: the read-only POSIX sh script a user runs as root on a real node.
// It reads every network namespace it can see and writes one JSON file (the format
// parsed by ./format.ts); it never changes the node.
import { readFileSync } from "node:fs";

/** The sysctl files read in every namespace (those pktpath models), relative to /proc/sys. */
export const SNAPSHOT_SYSCTLS = [
  "net/ipv4/ip_forward",
  "net/ipv4/ip_local_port_range",
  "net/ipv4/icmp_echo_ignore_all",
  "net/ipv4/ip_default_ttl",
  "net/ipv4/conf/*/forwarding",
  "net/ipv4/conf/*/arp_ignore",
  "net/ipv4/conf/*/arp_announce",
  "net/ipv4/conf/*/arp_filter",
  "net/ipv4/conf/*/rp_filter",
  "net/ipv4/conf/*/accept_local",
  "net/ipv4/conf/*/route_localnet",
  "net/ipv4/conf/*/proxy_arp",
  "net/ipv4/conf/*/send_redirects",
  "net/ipv4/conf/*/log_martians",
  "net/bridge/bridge-nf-call-iptables",
  "net/bridge/bridge-nf-call-ip6tables",
  "net/bridge/bridge-nf-call-arptables",
  "net/bridge/bridge-nf-filter-vlan-tagged",
  "net/bridge/bridge-nf-pass-vlan-input-dev",
  "net/ipv4/vs/*",
];

/** What the script reads, per namespace: [JSON key, command as the script runs it, why]. */
export const SNAPSHOT_READS: [string, string, string][] = [
  ["link", "ip -j -d link show", "links, their types, masters, veth peers (link, link_netnsid)"],
  ["address", "ip -j address show", "addresses"],
  ["route", "ip -j route show table all", "routes of every table"],
  ["rule", "ip -j rule show", "policy routing rules (to report what is not modelled)"],
  ["neigh", "ip -j neigh show", "neighbours"],
  ["bridge_link", "bridge -j link show", "bridge ports: state, hairpin"],
  ["sysctl", "grep '' /proc/sys/net/...", "the sysctls pktpath models"],
  ["iptables_version", "iptables -V", "the iptables backend (nf_tables or legacy)"],
  ["iptables_save", "iptables-save -c", "the IPv4 iptables rules with counters"],
  ["ipset_save", "ipset save", "ipsets"],
  ["ipvsadm_save", "ipvsadm -Sn", "IPVS services and real servers"],
  ["ipvsadm_list", "ipvsadm -Ln --timeout", "IPVS timeouts"],
  ["nft_tables", "nft list tables", "nftables tables, then for each one iptables-nft does not keep:"],
  ["nft_tables", "nft -j list table FAMILY NAME", "its ruleset"],
  ["conntrack", "conntrack -L", "connections (only with PKTPATH_CONNTRACK=1)"],
];

/** The script itself: snapshot.sh beside this file, with the lists above filled in. */
export function snapshotScript(): string {
  const text = readFileSync(new URL("./snapshot.sh", import.meta.url), "utf8");
  const reads = SNAPSHOT_READS.map(([, cmd, why]) => `#   ${cmd.padEnd(30)} ${why}`).join("\n");
  return text.replace("@@READS@@", reads).replace("@@SYSCTLS@@", SNAPSHOT_SYSCTLS.join(" "));
}
