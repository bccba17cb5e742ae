// kube-proxy's nftables proxier (pkg/proxy/nftables/proxier.go syncProxyRules), reduced to
// ClusterIP and NodePort services: table ip kube-proxy with the service-ips and
// service-nodeports verdict maps, a service chain per service port choosing an endpoint
// chain with numgen, endpoint chains marking hairpin traffic for masquerade, and the
// masquerading chain. Written as one `nft -f -` transaction.
import { formatIPv4 } from "../wire/ipv4.ts";
import { CLUSTER_CIDR, kubeHash, NODE_ADDR, SERVICE_PORT, servicePortName, TARGET_PORT, type GenStep, type KubeProxyOptions } from "./kubeproxy.ts";

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

export function nftablesRuleset(o: Required<KubeProxyOptions>, clusterIp: (i: number) => number, endpoint: (i: number, j: number) => number, nodePort: (i: number) => number | null): string {
  const l: string[] = [];
  const svcIps: string[] = [];
  const nodePorts: string[] = [];
  const noEndpoints: string[] = [];
  const chains: string[] = [];
  for (let i = 0; i < o.services; i++) {
    const vip = formatIPv4(clusterIp(i));
    const np = nodePort(i);
    if (o.endpoints === 0) {
      noEndpoints.push(`${vip} . tcp . ${SERVICE_PORT} : goto reject-chain`);
      continue;
    }
    svcIps.push(`${vip} . tcp . ${SERVICE_PORT} : goto ${nftServiceChain(i)}`);
    if (np !== null) nodePorts.push(`tcp . ${np} : goto ${nftExternalChain(i)}`);
    const eps: string[] = [];
    for (let j = 0; j < o.endpoints; j++) eps.push(`${formatIPv4(endpoint(i, j))}:${TARGET_PORT}`);
    const vmap = eps.map((ep, j) => `${j} : goto ${nftEndpointChain(i, ep)}`).join(", ");
    chains.push(`\tchain ${nftServiceChain(i)} {`, `\t\tip daddr ${vip} tcp dport ${SERVICE_PORT} ip saddr != ${CLUSTER_CIDR} jump mark-for-masquerade`, `\t\tnumgen random mod ${eps.length} vmap { ${vmap} }`, "\t}");
    if (np !== null) chains.push(`\tchain ${nftExternalChain(i)} {`, "\t\tjump mark-for-masquerade", `\t\tgoto ${nftServiceChain(i)}`, "\t}");
    for (const ep of eps) {
      const [addr] = ep.split(":");
      chains.push(`\tchain ${nftEndpointChain(i, ep)} {`, `\t\tip saddr ${addr} jump mark-for-masquerade`, `\t\tmeta l4proto tcp dnat to ${ep}`, "\t}");
    }
  }
  const map = (name: string, type: string, comment: string, elems: string[]) => {
    l.push(`\tmap ${name} {`, `\t\ttype ${type} : verdict`, `\t\tcomment "${comment}"`);
    if (elems.length) l.push(`\t\telements = { ${elems.join(",\n\t\t\t     ")} }`);
    l.push("\t}");
  };
  l.push("table ip kube-proxy {", '\tcomment "rules for kube-proxy"');
  l.push("\tset nodeport-ips {", "\t\ttype ipv4_addr", '\t\tcomment "IPs that accept NodePort traffic"', `\t\telements = { ${formatIPv4(NODE_ADDR)} }`, "\t}");
  map("no-endpoint-services", "ipv4_addr . inet_proto . inet_service", "vmap to drop or reject packets to services with no endpoints", noEndpoints);
  map("service-ips", "ipv4_addr . inet_proto . inet_service", "ClusterIP, ExternalIP and LoadBalancer IP traffic", svcIps);
  map("service-nodeports", "inet_proto . inet_service", "NodePort traffic", nodePorts);
  l.push(
    "\tchain filter-input {",
    "\t\ttype filter hook input priority -110; policy accept;",
    "\t\tct state new jump service-endpoints-check",
    "\t}",
    "\tchain filter-forward {",
    "\t\ttype filter hook forward priority -110; policy accept;",
    "\t\tct state new jump service-endpoints-check",
    "\t}",
    "\tchain filter-output {",
    "\t\ttype filter hook output priority -110; policy accept;",
    "\t\tct state new jump service-endpoints-check",
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
    '\t\treject comment "helper for @no-endpoint-services / @no-endpoint-nodeports"',
    "\t}",
    "\tchain service-endpoints-check {",
    "\t\tip daddr . meta l4proto . th dport vmap @no-endpoint-services",
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
    "\t\tfib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports",
    "\t}",
    ...chains,
    "}",
  );
  return l.join("\n") + "\n";
}

export function nftablesLoad(o: Required<KubeProxyOptions>, clusterIp: (i: number) => number, endpoint: (i: number, j: number) => number, nodePort: (i: number) => number | null): GenStep[] {
  return [{ run: "nft -f -", stdin: nftablesRuleset(o, clusterIp, endpoint, nodePort) }];
}
