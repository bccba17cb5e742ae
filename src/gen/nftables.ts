// kube-proxy's nftables proxier (pkg/proxy/nftables/proxier.go syncProxyRules), reduced to
// ClusterIP and NodePort services: table ip kube-proxy with the service-ips and
// service-nodeports verdict maps, a service chain per service port choosing an endpoint
// chain with numgen, endpoint chains marking hairpin traffic for masquerade, and the
// masquerading chain; and what setupNFTables writes around them: the cluster-ips set with
// cluster-ips-check (a ClusterIP's unserved ports rejected, unallocated ClusterIPs of the
// service CIDR dropped), no-endpoint-services / no-endpoint-nodeports (reject), and the
// firewall-ips map with firewall-check (empty: no LoadBalancer services are generated).
// Written as one `nft -f -` transaction.
import { formatIPv4 } from "../wire/ipv4.ts";
import { CLUSTER_CIDR, kubeHash, NODE_ADDR, SERVICE_PORT, servicePortName, TARGET_PORT, type GenStep, type KubeProxyOptions } from "./kubeproxy.ts";

/** The service CIDR the generated ClusterIPs are in (kube-proxy's --service-cluster-ip-range default). */
const SERVICE_CIDR = "10.96.0.0/12";

/** servicePortChainNameBase / servicePortEndpointChainNameBase: hash prefix, then the readable name. */
export function nftServiceChain(i: number): string {
  const spn = servicePortName(i).replace(":", "/tcp/");
  return `service-${kubeHash(servicePortName(i) + "tcp").slice(0, 8)}-${spn}`;
}
export function nftExternalChain(i: number): string {
  const spn = servicePortName(i).replace(":", "/tcp/");
  return `external-${kubeHash(servicePortName(i) + "tcp").slice(0, 8)}-${spn}`;
}
export function nftEndpointChain(i: number, ep: string): string {
  const spn = servicePortName(i).replace(":", "/tcp/");
  return `endpoint-${kubeHash(servicePortName(i) + "tcp" + ep).slice(0, 8)}-${spn}__${ep.replace(":", "/")}`;
}

/** One service port's part of the ruleset: its map elements and its chains with their rules. */
export interface NftServicePieces {
  /** service-ips element (or no-endpoint-services' when it has no endpoints). */
  svcIp: string | null;
  noEndpoint: string | null;
  /** service-nodeports element (or no-endpoint-nodeports' when it has no endpoints). */
  nodePort: string | null;
  noEndpointNodePort: string | null;
  /** cluster-ips element: written for every ClusterIP, with or without endpoints. */
  clusterIp: string;
  chains: { name: string; rules: string[] }[];
}

/** What syncProxyRules writes for service port i (its chains, in the order the ruleset lists them). */
export function nftServicePieces(o: Required<KubeProxyOptions>, i: number, clusterIp: (i: number) => number, endpoint: (i: number, j: number) => number, nodePort: (i: number) => number | null): NftServicePieces {
  const vip = formatIPv4(clusterIp(i));
  const np = nodePort(i);
  if (o.endpoints === 0) {
    // syncProxyRules: !hasInternalEndpoints / !hasExternalEndpoints -> reject (no chains).
    return {
      svcIp: null,
      noEndpoint: `${vip} . tcp . ${SERVICE_PORT} : goto reject-chain`,
      nodePort: null,
      noEndpointNodePort: np !== null ? `tcp . ${np} : goto reject-chain` : null,
      clusterIp: vip,
      chains: [],
    };
  }
  const eps: string[] = [];
  for (let j = 0; j < o.endpoints; j++) eps.push(`${formatIPv4(endpoint(i, j))}:${TARGET_PORT}`);
  const vmap = eps.map((ep, j) => `${j} : goto ${nftEndpointChain(i, ep)}`).join(", ");
  const chains: NftServicePieces["chains"] = [
    { name: nftServiceChain(i), rules: [`ip daddr ${vip} tcp dport ${SERVICE_PORT} ip saddr != ${CLUSTER_CIDR} jump mark-for-masquerade`, `numgen random mod ${eps.length} vmap { ${vmap} }`] },
  ];
  if (np !== null) chains.push({ name: nftExternalChain(i), rules: ["jump mark-for-masquerade", `goto ${nftServiceChain(i)}`] });
  for (const ep of eps) {
    const [addr] = ep.split(":");
    chains.push({ name: nftEndpointChain(i, ep), rules: [`ip saddr ${addr} jump mark-for-masquerade`, `meta l4proto tcp dnat to ${ep}`] });
  }
  return {
    svcIp: `${vip} . tcp . ${SERVICE_PORT} : goto ${nftServiceChain(i)}`,
    noEndpoint: null,
    nodePort: np !== null ? `tcp . ${np} : goto ${nftExternalChain(i)}` : null,
    noEndpointNodePort: null,
    clusterIp: vip,
    chains,
  };
}

/** The key of a map element written as `KEY : goto CHAIN` (what `delete element` takes). */
function elemKey(e: string): string {
  return e.slice(0, e.indexOf(" : "));
}

/**
 * kube-proxy's incremental sync for a new service port: one `nft -f -` transaction adding
 * its chains (all chains first, so that rules may jump to any of them), their rules, then
 * its service-ips / service-nodeports elements (the packet path uses it from then on).
 */
export function nftAddService(p: NftServicePieces): string {
  const l: string[] = [];
  for (const c of p.chains) l.push(`add chain ip kube-proxy ${c.name}`);
  for (const c of p.chains) for (const r of c.rules) l.push(`add rule ip kube-proxy ${c.name} ${r}`);
  if (p.svcIp) l.push(`add element ip kube-proxy service-ips { ${p.svcIp} }`);
  if (p.nodePort) l.push(`add element ip kube-proxy service-nodeports { ${p.nodePort} }`);
  if (p.noEndpoint) l.push(`add element ip kube-proxy no-endpoint-services { ${p.noEndpoint} }`);
  if (p.noEndpointNodePort) l.push(`add element ip kube-proxy no-endpoint-nodeports { ${p.noEndpointNodePort} }`);
  l.push(`add element ip kube-proxy cluster-ips { ${p.clusterIp} }`);
  return l.join("\n") + "\n";
}

/**
 * The service port removed: its map elements deleted, then its chains flushed and deleted
 * (kube-proxy flushes stale chains at once and deletes them in a later sync; here both in
 * one transaction, which the kernel accepts once nothing refers to them).
 */
export function nftDelService(p: NftServicePieces): string {
  const l: string[] = [];
  if (p.svcIp) l.push(`delete element ip kube-proxy service-ips { ${elemKey(p.svcIp)} }`);
  if (p.nodePort) l.push(`delete element ip kube-proxy service-nodeports { ${elemKey(p.nodePort)} }`);
  if (p.noEndpoint) l.push(`delete element ip kube-proxy no-endpoint-services { ${elemKey(p.noEndpoint)} }`);
  if (p.noEndpointNodePort) l.push(`delete element ip kube-proxy no-endpoint-nodeports { ${elemKey(p.noEndpointNodePort)} }`);
  l.push(`delete element ip kube-proxy cluster-ips { ${p.clusterIp} }`);
  for (const c of p.chains) l.push(`flush chain ip kube-proxy ${c.name}`);
  for (const c of p.chains) l.push(`delete chain ip kube-proxy ${c.name}`);
  return l.join("\n") + "\n";
}

/** Every service's pieces, gathered per kind (set elements, map elements, chain lines). */
interface NftServices {
  svcIps: string[];
  nodePorts: string[];
  noEndpoints: string[];
  noEndpointNodePorts: string[];
  clusterIps: string[];
  chains: string[];
}

function nftServices(o: Required<KubeProxyOptions>, clusterIp: (i: number) => number, endpoint: (i: number, j: number) => number, nodePort: (i: number) => number | null): NftServices {
  const s: NftServices = { svcIps: [], nodePorts: [], noEndpoints: [], noEndpointNodePorts: [], clusterIps: [], chains: [] };
  for (let i = 0; i < o.services; i++) {
    const p = nftServicePieces(o, i, clusterIp, endpoint, nodePort);
    if (p.svcIp) s.svcIps.push(p.svcIp);
    if (p.nodePort) s.nodePorts.push(p.nodePort);
    if (p.noEndpoint) s.noEndpoints.push(p.noEndpoint);
    if (p.noEndpointNodePort) s.noEndpointNodePorts.push(p.noEndpointNodePort);
    s.clusterIps.push(p.clusterIp);
    for (const c of p.chains) {
      s.chains.push(`\tchain ${c.name} {`);
      for (const r of c.rules) s.chains.push(`\t\t${r}`);
      s.chains.push("\t}");
    }
  }
  return s;
}

/** A verdict map as `nft list ruleset` prints it. */
function pushMap(l: string[], name: string, type: string, comment: string, elems: string[]): void {
  l.push(`\tmap ${name} {`, `\t\ttype ${type} : verdict`, `\t\tcomment "${comment}"`);
  if (elems.length) l.push(`\t\telements = { ${elems.join(",\n\t\t\t     ")} }`);
  l.push("\t}");
}

/** The chains every kube-proxy table holds, whatever its services. */
const NFT_BASE_CHAINS: readonly string[] = [
  // nftablesBaseChains (filter chains at dstnat-10, before DNAT; filter-output-post-dnat
  // at dstnat+10) with the jumps of nftablesJumpChains, in that order.
  "\tchain filter-prerouting {",
  "\t\ttype filter hook prerouting priority -110; policy accept;",
  "\t\tct state new jump firewall-check",
  "\t}",
  "\tchain filter-input {",
  "\t\ttype filter hook input priority -110; policy accept;",
  "\t\tct state new jump nodeport-endpoints-check",
  "\t\tct state new jump service-endpoints-check",
  "\t}",
  "\tchain filter-forward {",
  "\t\ttype filter hook forward priority -110; policy accept;",
  "\t\tct state new jump service-endpoints-check",
  "\t\tct state new jump cluster-ips-check",
  "\t}",
  "\tchain filter-output {",
  "\t\ttype filter hook output priority -110; policy accept;",
  "\t\tct state new jump service-endpoints-check",
  "\t\tct state new jump firewall-check",
  "\t}",
  "\tchain filter-output-post-dnat {",
  "\t\ttype filter hook output priority -90; policy accept;",
  "\t\tct state new jump cluster-ips-check",
  "\t}",
  "\tchain nat-prerouting {",
  "\t\ttype nat hook prerouting priority dstnat; policy accept;",
  "\t\tjump services",
  "\t}",
  "\tchain nat-output {",
  "\t\ttype nat hook output priority -100; policy accept;",
  "\t\tjump services",
  "\t}",
  "\tchain nat-postrouting {",
  "\t\ttype nat hook postrouting priority srcnat; policy accept;",
  "\t\tjump masquerading",
  "\t}",
  "\tchain reject-chain {",
  '\t\tcomment "helper for @no-endpoint-services / @no-endpoint-nodeports"',
  "\t\treject",
  "\t}",
  "\tchain nodeport-endpoints-check {",
  "\t\tip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports",
  "\t}",
  "\tchain service-endpoints-check {",
  "\t\tip daddr . meta l4proto . th dport vmap @no-endpoint-services",
  "\t}",
  "\tchain firewall-check {",
  "\t\tip daddr . meta l4proto . th dport vmap @firewall-ips",
  "\t}",
  "\tchain cluster-ips-check {",
  '\t\tip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"',
  `\t\tip daddr { ${SERVICE_CIDR} } drop comment "Drop traffic to unallocated ClusterIPs"`,
  "\t}",
  "\tchain mark-for-masquerade {",
  "\t\tmeta mark set meta mark | 0x4000",
  "\t}",
  "\tchain masquerading {",
  "\t\tmeta mark & 0x4000 == 0 return",
  "\t\tmeta mark set meta mark ^ 0x4000",
  "\t\tmasquerade fully-random",
  "\t}",
  "\tchain services {",
  "\t\tip daddr . meta l4proto . th dport vmap @service-ips",
  "\t\tip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports",
  "\t}",
];

export function nftablesRuleset(o: Required<KubeProxyOptions>, clusterIp: (i: number) => number, endpoint: (i: number, j: number) => number, nodePort: (i: number) => number | null): string {
  const s = nftServices(o, clusterIp, endpoint, nodePort);
  const l: string[] = [];
  l.push("table ip kube-proxy {", '\tcomment "rules for kube-proxy"');
  l.push("\tset cluster-ips {", "\t\ttype ipv4_addr", '\t\tcomment "Active ClusterIPs"');
  if (s.clusterIps.length) l.push(`\t\telements = { ${s.clusterIps.join(",\n\t\t\t     ")} }`);
  l.push("\t}");
  l.push("\tset nodeport-ips {", "\t\ttype ipv4_addr", '\t\tcomment "IPs that accept NodePort traffic"', `\t\telements = { ${formatIPv4(NODE_ADDR)} }`, "\t}");
  pushMap(l, "no-endpoint-services", "ipv4_addr . inet_proto . inet_service", "vmap to drop or reject packets to services with no endpoints", s.noEndpoints);
  pushMap(l, "no-endpoint-nodeports", "inet_proto . inet_service", "vmap to drop or reject packets to service nodeports with no endpoints", s.noEndpointNodePorts);
  pushMap(l, "firewall-ips", "ipv4_addr . inet_proto . inet_service", "destinations that are subject to LoadBalancerSourceRanges", []);
  pushMap(l, "service-ips", "ipv4_addr . inet_proto . inet_service", "ClusterIP, ExternalIP and LoadBalancer IP traffic", s.svcIps);
  pushMap(l, "service-nodeports", "inet_proto . inet_service", "NodePort traffic", s.nodePorts);
  for (const c of NFT_BASE_CHAINS) l.push(c);
  // Appended one by one: spreading 200k lines into push() overflows the stack.
  for (const c of s.chains) l.push(c);
  l.push("}");
  return l.join("\n") + "\n";
}

export function nftablesLoad(o: Required<KubeProxyOptions>, clusterIp: (i: number) => number, endpoint: (i: number, j: number) => number, nodePort: (i: number) => number | null): GenStep[] {
  return [{ run: "nft -f -", stdin: nftablesRuleset(o, clusterIp, endpoint, nodePort) }];
}
