// The kube-proxy node generator: what a Kubernetes node running kube-proxy holds for N
// services with M endpoints each, as the commands that program it (the same syntax a
// scenario takes), in iptables mode or in IPVS mode.
//
// Layout (chosen so 20k services x 10 endpoints need neither 200k namespaces nor
// 200k addresses):
// - the node is the root namespace ("host"), forwarding on;
// - a client pod, namespace `client`, 10.244.255.2/24 behind the node's veth
//   10.244.255.1 (inside the cluster CIDR 10.244.0.0/16, so it is not masqueraded);
// - K pod namespaces `pod-1`..`pod-K`, each a routed /24: the node's side of its veth is
//   10.244.k.1/24, the namespace holds A addresses 10.244.k.2 .. 10.244.k.(A+1) on its
//   veth and a listener on TARGET_PORT (python3 -m http.server) that answers on all of
//   them. These K*A addresses are the endpoint pool;
// - service i (0-based) is default/svc-i port "http" (tcp), ClusterIP 10.96.0.1 + i (the
//   default service CIDR 10.96.0.0/12 holds a million), port 80, NodePort 30000 + i (for
//   the first 2768 services, the default NodePort range 30000-32767) on the node
//   address 192.168.0.10 (a dummy eth0);
// - endpoint j of service i is pool[(i*M + j) mod P], port 8080: distinct within a
//   service, shared between services (as pods are when P < N*M).
import { formatIPv4 } from "../wire/ipv4.ts";
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { nftablesLoad, nftAddService, nftDelService, nftServicePieces } from "./nftables.ts";

export type KubeProxyMode = "iptables" | "ipvs" | "nftables";

export interface KubeProxyOptions {
  mode: KubeProxyMode;
  services: number;
  endpoints: number;
  nodePorts?: boolean;
  /** Pod namespaces holding the endpoint addresses (default: enough for N*M, at most 4). */
  podNamespaces?: number;
  /** Endpoint addresses per pod namespace (default: up to 250). */
  addrsPerPod?: number;
  /** Probes to put in the scenario (default true). */
  probes?: boolean;
}

/** One step of the scenario: command lines, optionally with a here-document on the last one. */
export interface GenStep {
  run: string;
  /** The here-document of the (single) command in run:, without the <<EOF lines. */
  stdin?: string;
  expect?: { server?: string; client_ip?: string } | string;
  why?: string;
}

export interface KubeProxyNode {
  opts: Required<KubeProxyOptions>;
  /** Steps to bring the node up: topology, then what kube-proxy writes. */
  steps: GenStep[];
  /** The part of `steps` that is kube-proxy's own programming (restores, addresses). */
  load: GenStep[];
  /** Probe steps (curl from the client pod). */
  probes: GenStep[];
  /** The scenario YAML (built on first read). */
  readonly yaml: string;
  clusterIp(i: number): number;
  endpoint(i: number, j: number): number;
  /** Which pod namespace holds an endpoint address. */
  podOf(addr: number): string;
  nodePort(i: number): number | null;
}

export const CLIENT_NS = "client";
export const CLIENT_ADDR = ip(10, 244, 255, 2);
export const NODE_ADDR = ip(192, 168, 0, 10);
export const SERVICE_PORT = 80;
export const TARGET_PORT = 8080;
export const CLUSTER_CIDR = "10.244.0.0/16";
export const NODEPORT_BASE = 30000;
export const NODEPORT_MAX = 32767;
const CLUSTER_IP_BASE = ip(10, 96, 0, 1);

export function ip(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** kube-proxy's chain name hash: base32(sha256(s))[:16] (proxy/iptables: portProtoHash). */
export function kubeHash(s: string): string {
  const d = createHash("sha256").update(s).digest();
  let out = "";
  let bits = 0;
  let val = 0;
  for (let k = 0; k < d.length && out.length < 16; k++) {
    val = ((val << 8) | d[k]!) & 0xffff;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += B32[(val >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

export function serviceName(i: number): string {
  return `default/svc-${i}`;
}
/** ServicePortName.String(): namespace/name:port. */
export function servicePortName(i: number): string {
  return `${serviceName(i)}:http`;
}
export function svcChain(i: number): string {
  return `KUBE-SVC-${kubeHash(servicePortName(i) + "tcp")}`;
}
export function extChain(i: number): string {
  return `KUBE-EXT-${kubeHash(servicePortName(i) + "tcp")}`;
}
export function sepChain(i: number, ep: string): string {
  return `KUBE-SEP-${kubeHash(servicePortName(i) + "tcp" + ep)}`;
}

/** kube-proxy's --probability: fmt.Sprintf("%0.10f", 1/n). */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}

function normalise(o: KubeProxyOptions): Required<KubeProxyOptions> {
  if (o.mode !== "iptables" && o.mode !== "ipvs" && o.mode !== "nftables") throw new Error(`--mode: "${o.mode}" is not iptables, ipvs or nftables`);
  if (!Number.isInteger(o.services) || o.services < 1 || o.services > 1_000_000) throw new Error("--services: a whole number from 1 to 1000000");
  if (!Number.isInteger(o.endpoints) || o.endpoints < 0 || o.endpoints > 1000) throw new Error("--endpoints: a whole number from 0 to 1000");
  const want = Math.max(1, o.services * o.endpoints);
  const addrsPerPod = o.addrsPerPod ?? Math.min(250, want);
  const podNamespaces = o.podNamespaces ?? Math.max(1, Math.min(4, Math.ceil(want / addrsPerPod)));
  if (addrsPerPod < 1 || addrsPerPod > 253) throw new Error("addrsPerPod: 1 to 253");
  if (podNamespaces < 1 || podNamespaces > 250) throw new Error("podNamespaces: 1 to 250");
  if (o.endpoints > podNamespaces * addrsPerPod) throw new Error(`--endpoints: at most ${podNamespaces * addrsPerPod} with this pool`);
  return { mode: o.mode, services: o.services, endpoints: o.endpoints, nodePorts: o.nodePorts ?? false, podNamespaces, addrsPerPod, probes: o.probes ?? true };
}

export function generateKubeProxy(options: KubeProxyOptions): KubeProxyNode {
  const o = normalise(options);
  const P = o.podNamespaces * o.addrsPerPod;
  const clusterIp = (i: number) => (CLUSTER_IP_BASE + i) >>> 0;
  const poolAddr = (k: number) => ip(10, 244, 1 + Math.floor(k / o.addrsPerPod), 2 + (k % o.addrsPerPod));
  const endpoint = (i: number, j: number) => poolAddr((i * o.endpoints + j) % P);
  const podOf = (addr: number) => `pod-${((addr >>> 8) & 255)}`;
  const nodePort = (i: number) => (o.nodePorts && NODEPORT_BASE + i <= NODEPORT_MAX ? NODEPORT_BASE + i : null);
  const usedPool = Math.min(P, o.services * o.endpoints);

  const steps: GenStep[] = [];
  steps.push({ run: topology(o).join("\n") });
  const load = o.mode === "nftables" ? nftablesLoad(o, clusterIp, endpoint, nodePort) : o.mode === "iptables" ? iptablesLoad(o, clusterIp, endpoint, nodePort) : ipvsLoad(o, clusterIp, endpoint, nodePort, usedPool, poolAddr);
  steps.push(...load);
  const probes: GenStep[] = [];
  if (o.probes && o.endpoints > 0) {
    const last = o.services - 1;
    for (const i of last === 0 ? [0] : [0, last]) {
      probes.push({
        run: `ip netns exec ${CLIENT_NS} curl -m 1 ${formatIPv4(clusterIp(i))}:${SERVICE_PORT}`,
        expect: { client_ip: formatIPv4(CLIENT_ADDR) },
        why: `${serviceName(i)}: the ClusterIP is answered by one of its ${o.endpoints} endpoints, which sees the client pod's own address`,
      });
    }
    const np = nodePort(0);
    if (np !== null) {
      probes.push({
        run: `ip netns exec ${CLIENT_NS} curl -m 1 ${formatIPv4(NODE_ADDR)}:${np}`,
        expect: { client_ip: formatIPv4(ip(10, 244, 1, 1)) },
        why: `${serviceName(0)}: the NodePort is masqueraded to the node's address on the endpoint's side`,
      });
    }
  }
  steps.push(...probes);
  let yaml: string | null = null;
  return {
    opts: o,
    steps,
    load,
    probes,
    get yaml() {
      return (yaml ??= toYaml(o, steps));
    },
    clusterIp,
    endpoint,
    podOf,
    nodePort,
  };
}

/** The node, the client pod and the pod namespaces holding the endpoint pool. */
function topology(o: Required<KubeProxyOptions>): string[] {
  const l: string[] = [];
  l.push("sysctl -w net.ipv4.ip_forward=1", "ip link set lo up");
  l.push("# The node's own address (NodePorts answer on it).");
  l.push("ip link add dev eth0 type dummy", `ip address add ${formatIPv4(NODE_ADDR)}/24 dev eth0`, "ip link set eth0 up");
  const veth = (ns: string, hostDev: string, hostAddr: string, nsAddrs: string[], gw: string) => {
    l.push(`ip netns add ${ns}`);
    l.push(`ip link add dev ${hostDev} type veth peer name eth-${ns}`);
    l.push(`ip link set dev eth-${ns} netns ${ns}`);
    l.push(`ip address add ${hostAddr} dev ${hostDev}`);
    l.push(`ip link set dev ${hostDev} up`);
    l.push(`ip netns exec ${ns} ip link set lo up`);
    l.push(`ip netns exec ${ns} ip link set dev eth-${ns} up`);
    for (const a of nsAddrs) l.push(`ip netns exec ${ns} ip address add ${a} dev eth-${ns}`);
    l.push(`ip netns exec ${ns} ip route add default via ${gw}`);
  };
  l.push(`# The client pod.`);
  veth(CLIENT_NS, `veth-${CLIENT_NS}`, "10.244.255.1/24", [`${formatIPv4(CLIENT_ADDR)}/24`], "10.244.255.1");
  l.push(`# ${o.podNamespaces} pod namespaces with ${o.addrsPerPod} endpoint addresses each (the endpoint pool).`);
  for (let k = 1; k <= o.podNamespaces; k++) {
    const addrs: string[] = [];
    for (let a = 0; a < o.addrsPerPod; a++) addrs.push(`10.244.${k}.${2 + a}/24`);
    veth(`pod-${k}`, `veth-pod-${k}`, `10.244.${k}.1/24`, addrs, `10.244.${k}.1`);
    l.push(`ip netns exec pod-${k} python3 -m http.server ${TARGET_PORT} &`);
  }
  return l;
}

function iptablesLoad(
  o: Required<KubeProxyOptions>,
  clusterIp: (i: number) => number,
  endpoint: (i: number, j: number) => number,
  nodePort: (i: number) => number | null,
): GenStep[] {
  const rules = iptablesRules(o, clusterIp, endpoint, nodePort);
  return [{ run: "iptables-restore", stdin: rules }];
}

/** The iptables-restore input kube-proxy's iptables proxier writes (as in test/fixtures/real-nf/_inputs/kube_2ep.rules). */
export function iptablesRules(
  o: Required<KubeProxyOptions>,
  clusterIp: (i: number) => number,
  endpoint: (i: number, j: number) => number,
  nodePort: (i: number) => number | null,
): string {
  const f: string[] = [];
  f.push("*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]");
  f.push(":KUBE-SERVICES - [0:0]", ":KUBE-EXTERNAL-SERVICES - [0:0]", ":KUBE-FORWARD - [0:0]", ":KUBE-NODEPORTS - [0:0]", ":KUBE-PROXY-FIREWALL - [0:0]", ":KUBE-FIREWALL - [0:0]");
  f.push('-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS');
  f.push('-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD');
  f.push('-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP');
  f.push("-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP");
  f.push('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT');
  f.push('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  f.push("COMMIT");
  const chains: string[] = [];
  const svcRules: string[] = [];
  const body: string[] = [];
  const npRules: string[] = [];
  for (let i = 0; i < o.services; i++) {
    const b = serviceRules(o, i, clusterIp, endpoint, nodePort);
    for (const c of b.chains) chains.push(c);
    svcRules.push(b.servicesRule);
    if (b.nodePortRule) npRules.push(b.nodePortRule);
    for (const l of b.body) body.push(l);
  }
  const n: string[] = [];
  n.push("*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]");
  n.push(":KUBE-SERVICES - [0:0]", ":KUBE-NODEPORTS - [0:0]", ":KUBE-POSTROUTING - [0:0]", ":KUBE-MARK-MASQ - [0:0]");
  for (const c of chains) n.push(`:${c} - [0:0]`);
  n.push('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  n.push('-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  n.push('-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING');
  n.push("-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN");
  n.push("-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000");
  n.push('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully');
  n.push("-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000");
  for (const l of npRules) n.push(l);
  for (const l of svcRules) n.push(l);
  for (const l of body) n.push(l);
  n.push('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  n.push("COMMIT");
  return f.join("\n") + "\n" + n.join("\n") + "\n";
}

export interface ServiceRules {
  /** Chains this service owns (KUBE-SVC-*, KUBE-EXT-*, KUBE-SEP-*). */
  chains: string[];
  /** Its rule in KUBE-SERVICES. */
  servicesRule: string;
  /** Its rule in KUBE-NODEPORTS, when it has a NodePort. */
  nodePortRule: string | null;
  /** The rules of its own chains. */
  body: string[];
}

/** One service's part of the nat table, as kube-proxy writes it. */
export function serviceRules(
  o: Required<KubeProxyOptions>,
  i: number,
  clusterIp: (i: number) => number,
  endpoint: (i: number, j: number) => number,
  nodePort: (i: number) => number | null,
): ServiceRules {
  const name = servicePortName(i);
  const vip = formatIPv4(clusterIp(i));
  const svc = svcChain(i);
  const chains = [svc];
  const body: string[] = [];
  const np = nodePort(i);
  const cmt = `"${name} cluster IP"`;
  if (o.endpoints === 0) {
    // No endpoints: kube-proxy REJECTs in the filter table; the nat table has nothing for it.
    return { chains: [], servicesRule: `-A KUBE-SERVICES -m comment --comment ${cmt} -m tcp -p tcp -d ${vip} --dport ${SERVICE_PORT} -j RETURN`, nodePortRule: null, body: [] };
  }
  const servicesRule = `-A KUBE-SERVICES -m comment --comment ${cmt} -m tcp -p tcp -d ${vip} --dport ${SERVICE_PORT} -j ${svc}`;
  let nodePortRule: string | null = null;
  if (np !== null) {
    const ext = extChain(i);
    chains.push(ext);
    nodePortRule = `-A KUBE-NODEPORTS -m comment --comment ${name} -m tcp -p tcp --dport ${np} -j ${ext}`;
    body.push(`-A ${ext} -m comment --comment "masquerade traffic for ${name} external destinations" -j KUBE-MARK-MASQ`);
    body.push(`-A ${ext} -j ${svc}`);
  }
  body.push(`-A ${svc} -m comment --comment ${cmt} -m tcp -p tcp -d ${vip} --dport ${SERVICE_PORT} ! -s ${CLUSTER_CIDR} -j KUBE-MARK-MASQ`);
  const m = o.endpoints;
  const seps: string[] = [];
  for (let j = 0; j < m; j++) {
    const ep = `${formatIPv4(endpoint(i, j))}:${TARGET_PORT}`;
    const sep = sepChain(i, ep);
    seps.push(sep);
    chains.push(sep);
    const stat = j < m - 1 ? ` -m statistic --mode random --probability ${probability(m - j)}` : "";
    body.push(`-A ${svc} -m comment --comment "${name} -> ${ep}"${stat} -j ${sep}`);
  }
  for (let j = 0; j < m; j++) {
    const addr = formatIPv4(endpoint(i, j));
    body.push(`-A ${seps[j]} -m comment --comment ${name} -s ${addr} -j KUBE-MARK-MASQ`);
    body.push(`-A ${seps[j]} -m comment --comment ${name} -m tcp -p tcp -j DNAT --to-destination ${addr}:${TARGET_PORT}`);
  }
  return { chains, servicesRule, nodePortRule, body };
}

function ipvsLoad(
  o: Required<KubeProxyOptions>,
  clusterIp: (i: number) => number,
  endpoint: (i: number, j: number) => number,
  nodePort: (i: number) => number | null,
  usedPool: number,
  poolAddr: (k: number) => number,
): GenStep[] {
  const steps: GenStep[] = [];
  const addrs: string[] = ["sysctl -w net.ipv4.vs.conntrack=1", "ip link add dev kube-ipvs0 type dummy"];
  for (let i = 0; i < o.services; i++) addrs.push(`ip address add ${formatIPv4(clusterIp(i))}/32 dev kube-ipvs0`);
  steps.push({ run: ["modprobe ip_vs", ...addrs].join("\n") });
  const s: string[] = [];
  s.push("create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536");
  for (let i = 0; i < o.services; i++) s.push(`add KUBE-CLUSTER-IP ${formatIPv4(clusterIp(i))},tcp:${SERVICE_PORT}`);
  s.push("create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536");
  for (let k = 0; k < usedPool; k++) {
    const a = formatIPv4(poolAddr(k));
    s.push(`add KUBE-LOOP-BACK ${a},tcp:${TARGET_PORT},${a}`);
  }
  s.push("create KUBE-NODE-PORT-TCP bitmap:port range 0-65535");
  for (let i = 0; i < o.services; i++) {
    const np = nodePort(i);
    if (np === null) break;
    s.push(`add KUBE-NODE-PORT-TCP ${np}`);
  }
  steps.push({ run: "ipset restore", stdin: s.join("\n") + "\n" });
  steps.push({ run: "iptables-restore", stdin: ipvsChains() });
  const v: string[] = [];
  for (let i = 0; i < o.services; i++) for (const l of ipvsServiceLines(o, i, clusterIp, endpoint, nodePort)) v.push(l);
  steps.push({ run: "ipvsadm -R", stdin: v.join("\n") + "\n" });
  return steps;
}

/** The constant chains kube-proxy's IPVS proxier writes. */
export function ipvsChains(): string {
  return [
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":INPUT ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    ":KUBE-SERVICES - [0:0]",
    ":KUBE-POSTROUTING - [0:0]",
    ":KUBE-MARK-MASQ - [0:0]",
    ":KUBE-NODE-PORT - [0:0]",
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000",
    '-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE',
    "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
    "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    `-A KUBE-SERVICES ! -s ${CLUSTER_CIDR} -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ`,
    "-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT",
    "-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT",
    '-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ',
    "COMMIT",
    "",
  ].join("\n");
}

/** ipvsadm -R lines for one service (its ClusterIP and, if any, its NodePort on the node address). */
export function ipvsServiceLines(
  o: Required<KubeProxyOptions>,
  i: number,
  clusterIp: (i: number) => number,
  endpoint: (i: number, j: number) => number,
  nodePort: (i: number) => number | null,
): string[] {
  const out: string[] = [];
  const vs = (addr: string) => {
    out.push(`-A -t ${addr} -s rr`);
    for (let j = 0; j < o.endpoints; j++) out.push(`-a -t ${addr} -r ${formatIPv4(endpoint(i, j))}:${TARGET_PORT} -m -w 1`);
  };
  vs(`${formatIPv4(clusterIp(i))}:${SERVICE_PORT}`);
  const np = nodePort(i);
  if (np !== null) vs(`${formatIPv4(NODE_ADDR)}:${np}`);
  return out;
}

/** Commands that add service i to a node generated with these options (kube-proxy's incremental sync). */
export function addServiceCommands(node: KubeProxyNode, i: number): GenStep[] {
  const o = node.opts;
  if (o.mode === "nftables") return [{ run: "nft -f -", stdin: nftAddService(nftServicePieces(o, i, node.clusterIp, node.endpoint, node.nodePort)) }];
  if (o.mode === "iptables") {
    const r = serviceRules(o, i, node.clusterIp, node.endpoint, node.nodePort);
    const lines = ["*nat", ...r.chains.map((c) => `:${c} - [0:0]`), ...r.body, r.servicesRule.replace(/^-A KUBE-SERVICES/, "-I KUBE-SERVICES 1")];
    if (r.nodePortRule) lines.push(r.nodePortRule);
    lines.push("COMMIT", "");
    return [{ run: "iptables-restore --noflush", stdin: lines.join("\n") }];
  }
  const vip = formatIPv4(node.clusterIp(i));
  const steps: GenStep[] = [
    { run: `ip address add ${vip}/32 dev kube-ipvs0` },
    { run: `ipset add KUBE-CLUSTER-IP ${vip},tcp:${SERVICE_PORT}` },
    { run: "ipvsadm -R", stdin: ipvsServiceLines(o, i, node.clusterIp, node.endpoint, node.nodePort).join("\n") + "\n" },
  ];
  return steps;
}

/** Commands that remove service i again. */
export function delServiceCommands(node: KubeProxyNode, i: number): GenStep[] {
  const o = node.opts;
  if (o.mode === "nftables") return [{ run: "nft -f -", stdin: nftDelService(nftServicePieces(o, i, node.clusterIp, node.endpoint, node.nodePort)) }];
  if (o.mode === "iptables") {
    const r = serviceRules(o, i, node.clusterIp, node.endpoint, node.nodePort);
    const lines = ["*nat", r.servicesRule.replace(/^-A /, "-D ")];
    if (r.nodePortRule) lines.push(r.nodePortRule.replace(/^-A /, "-D "));
    for (const c of r.chains) lines.push(`-F ${c}`);
    for (const c of r.chains) lines.push(`-X ${c}`);
    lines.push("COMMIT", "");
    return [{ run: "iptables-restore --noflush", stdin: lines.join("\n") }];
  }
  const vip = formatIPv4(node.clusterIp(i));
  const steps: GenStep[] = [{ run: `ipvsadm -D -t ${vip}:${SERVICE_PORT}` }];
  const np = node.nodePort(i);
  if (np !== null) steps.push({ run: `ipvsadm -D -t ${formatIPv4(NODE_ADDR)}:${np}` });
  steps.push({ run: `ipset del KUBE-CLUSTER-IP ${vip},tcp:${SERVICE_PORT}` }, { run: `ip address del ${vip}/32 dev kube-ipvs0` });
  return steps;
}

function toYaml(o: Required<KubeProxyOptions>, steps: GenStep[]): string {
  const doc = {
    name: `kube-proxy ${o.mode} mode: ${o.services} services x ${o.endpoints} endpoints${o.nodePorts ? " with NodePorts" : ""}`,
    description:
      `Generated by pktpath gen kube-proxy --mode ${o.mode} --services ${o.services} --endpoints ${o.endpoints}${o.nodePorts ? " --nodeports" : ""}. ` +
      `The root namespace is the node; the client pod (${CLIENT_NS}, ${formatIPv4(CLIENT_ADDR)}) and ${o.podNamespaces} pod namespaces ` +
      `holding ${o.addrsPerPod} endpoint addresses each (10.244.k.2..) are routed /24s behind it. Service i has ClusterIP 10.96.0.1+i:${SERVICE_PORT}` +
      `${o.nodePorts ? ` and NodePort ${NODEPORT_BASE}+i on ${formatIPv4(NODE_ADDR)}` : ""}; its endpoints are taken in turn from the pool, port ${TARGET_PORT}.`,
    steps: steps.map((s) => {
      const step: Record<string, unknown> = { run: s.stdin === undefined ? s.run : `${s.run} <<EOF\n${s.stdin}EOF\n` };
      if (s.expect !== undefined) step.expect = s.expect;
      if (s.why !== undefined) step.why = s.why;
      return step;
    }),
  };
  return stringify(doc, { lineWidth: 0, blockQuote: "literal" });
}
