// Suites 2-4 on a generated kube-proxy node: the full path (first packet of a new
// connection, a packet of an established one), the control plane (one service added /
// removed, loading the whole node) and the heap, in the three modes (iptables, IPVS,
// nftables), at each N.
//
// Packets are injected where the client pod's frames enter the node (the node's side of
// the client's veth) and followed through the node's whole path: ip_rcv, PREROUTING
// (conntrack, nat), routing, IPVS at LOCAL_IN or FORWARD, POSTROUTING, neighbour
// output, until the frame is handed to the endpoint's veth. Frames leaving the node
// are then discarded, so what is measured is the node's per-packet cost only.
import { netifReceive } from "../src/dataplane/dev.ts";
import { blankPacket, IPPROTO_TCP, TCP_ACK, TCP_SYN, type Packet } from "../src/wire/packet.ts";
import type { LinkView } from "../src/dataplane/view.ts";
import { hostWithLayers } from "../src/layers.ts";
import {
  addServiceCommands,
  buildNode,
  CLIENT_ADDR,
  CLIENT_NS,
  delServiceCommands,
  generateKubeProxy,
  runStep,
  SERVICE_PORT,
  TARGET_PORT,
  type BuildTimes,
  type KubeProxyMode,
} from "../src/gen/index.ts";
import { type BenchConfig, fmtHz, fmtN, fmtNs, fmtRme, gc, heapMB, measure, progress, ratio, table, timeOnce, writeResult, type Measure } from "./lib.ts";

export interface NodeRow {
  mode: KubeProxyMode;
  n: number;
  m: number;
  newConn: Measure;
  established: Measure;
  /** nat PREROUTING traversals per packet while measuring (1 = every packet, 0 = none). */
  natPerPacket: { newConn: number; established: number };
  build: { topologyMs: number; load: { run: string; ms: number }[]; loadMs: number };
  /** load with one view per snapshot (every command as typed), when measured */
  loadPerCommandMs: number | null;
  addServiceMs: number;
  delServiceMs: number;
  heapMB: number;
  /** Heap growth per new connection left in the tables (bytes). */
  bytesPerConn: number;
}

const MODES = ["iptables", "ipvs", "nftables"] as const;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function runNode(mode: KubeProxyMode, n: number, m: number, cfg: BenchConfig, perCommandLoad: boolean): NodeRow {
  const label = `${mode} N=${fmtN(n)}`;
  const node = generateKubeProxy({ mode, services: n, endpoints: m, podNamespaces: 4, addrsPerPod: 100, probes: false });
  gc();
  const heapBefore = heapMB();
  const times: BuildTimes = { topologyMs: 0, load: [] };
  progress(`${label}: building the node`);
  const { host, layers } = hostWithLayers();
  buildNode(node, { host, times, deferView: true });
  const heap = heapMB() - heapBefore;
  let loadPerCommandMs: number | null = null;
  if (perCommandLoad) {
    progress(`${label}: loading again, one view per command`);
    const t: BuildTimes = { topologyMs: 0, load: [] };
    buildNode(generateKubeProxy({ mode, services: n, endpoints: m, podNamespaces: 4, addrsPerPod: 100, probes: false }), { times: t });
    loadPerCommandMs = t.load.reduce((a, l) => a + l.ms, 0);
    gc();
  }

  const dp = host.dp;
  const target = n - 1; // the last service: the one an iptables node walks all of KUBE-SERVICES for
  const vip = node.clusterIp(target);
  // Sanity and warm-up: the ClusterIP answers a real client, and the node has resolved
  // the neighbours of the target's endpoints.
  for (let j = 0; j < m; j++) host.probe("host", { kind: "ping", daddr: node.endpoint(target, j), dport: 0, timeoutMs: 1000, count: 1 });
  const r = host.probe(CLIENT_NS, { kind: "http", daddr: vip, dport: SERVICE_PORT, timeoutMs: 1000, count: 1 });
  if (r.outcome !== "answered" || r.clientIp !== CLIENT_ADDR) throw new Error(`${label}: ClusterIP not answered (${r.outcome} ${r.error})`);

  const hostNs = dp.view.netns.get("host")!;
  const inDev = hostNs.byName.get(`veth-${CLIENT_NS}`)!;
  const clientMac = inDev.peer!.cfg.mac;
  let out: Packet | null = null;
  let outCount = 0;
  const capture = (_link: number, p: Packet) => {
    out = p;
    outCount++;
  };
  const drain = () => dp.sim.run(capture, dp.now, () => false);
  const pkt = (saddr: number, sport: number, flags: number, dev: LinkView, ethSrc: number, daddr: number, dport: number): Packet => {
    const p = blankPacket();
    p.ethSrc = ethSrc;
    p.ethDst = dev.cfg.mac;
    p.saddr = saddr;
    p.daddr = daddr;
    p.proto = IPPROTO_TCP;
    p.sport = sport;
    p.dport = dport;
    p.tcpFlags = flags;
    p.len = 60;
    return p;
  };
  // nftables mode has no iptables nat table (and kube-proxy's nft chains no counters): not counted.
  const natPre = () => {
    if (mode === "nftables") return NaN;
    const nat = layers.netfilter.compiled("host", "nat")!;
    return nat.chains.get("PREROUTING")!.rules[0]!.counters.pkts;
  };

  // First packet of a new connection: a SYN with a tuple never seen (source port and
  // address walk 250 x 64k tuples), through to the endpoint's veth.
  let k = 0;
  const newSyn = () => {
    const i = k++;
    netifReceive(dp, inDev, pkt((CLIENT_ADDR + (Math.floor(i / 64000) % 250)) >>> 0, 1024 + (i % 64000), TCP_SYN, inDev, clientMac, vip, SERVICE_PORT));
    drain();
  };
  newSyn();
  if (outCount !== 1 || out!.dport !== TARGET_PORT) throw new Error(`${label}: the SYN did not leave towards an endpoint`);
  gc();
  const heapConn0 = process.memoryUsage().heapUsed;
  const k0 = k;
  const nat0 = natPre();
  const newConn = measure(`${label}: new connection (SYN)`, newSyn, cfg);
  const newPkts = k - k0;
  const natNew = (natPre() - nat0) / newPkts;
  gc();
  const bytesPerConn = (process.memoryUsage().heapUsed - heapConn0) / newPkts;

  // A packet of an established connection: SYN, the endpoint's SYN-ACK back through the
  // node, then the client's ACKs.
  const sport = 999;
  outCount = 0;
  netifReceive(dp, inDev, pkt(CLIENT_ADDR, sport, TCP_SYN, inDev, clientMac, vip, SERVICE_PORT));
  drain();
  const syn = out as Packet | null;
  if (!syn || outCount !== 1) throw new Error(`${label}: established: no SYN out`);
  const outDev = hostNs.byName.get(node.podOf(syn.daddr).replace(/^/, "veth-"));
  if (!outDev) throw new Error(`${label}: no veth for ${syn.daddr}`);
  netifReceive(dp, outDev, pkt(syn.daddr, TARGET_PORT, TCP_SYN | TCP_ACK, outDev, outDev.peer!.cfg.mac, CLIENT_ADDR, sport));
  drain();
  outCount = 0;
  const ack = () => {
    netifReceive(dp, inDev, pkt(CLIENT_ADDR, sport, TCP_ACK, inDev, clientMac, vip, SERVICE_PORT));
    drain();
  };
  ack();
  if (outCount !== 1 || (out as Packet | null)?.daddr !== syn.daddr) throw new Error(`${label}: established packet did not follow its connection`);
  let acks = 0;
  const nat1 = natPre();
  const established = measure(`${label}: established (ACK)`, () => {
    acks++;
    ack();
  }, cfg);
  const natEst = (natPre() - nat1) / acks;

  // Control plane: one service added, then removed (commands as kube-proxy would issue them).
  const adds: number[] = [];
  const dels: number[] = [];
  const reps = cfg.quick ? 3 : 5;
  for (let rep = 0; rep < reps; rep++) {
    const i = n + rep;
    adds.push(timeOnce(`${label}: add a service`, () => addServiceCommands(node, i).forEach((s) => runStep(host, s))));
    dels.push(timeOnce(`${label}: remove a service`, () => delServiceCommands(node, i).forEach((s) => runStep(host, s))));
  }
  const row: NodeRow = {
    mode,
    n,
    m,
    newConn,
    established,
    natPerPacket: { newConn: natNew, established: natEst },
    build: { topologyMs: times.topologyMs, load: times.load, loadMs: times.load.reduce((a, l) => a + l.ms, 0) },
    loadPerCommandMs,
    addServiceMs: median(adds),
    delServiceMs: median(dels),
    heapMB: heap,
    bytesPerConn,
  };
  return row;
}

export function nodeTables(rows: NodeRow[]): string {
  const ns = [...new Set(rows.map((r) => r.n))];
  const get = (mode: KubeProxyMode, n: number) => rows.find((r) => r.mode === mode && r.n === n);
  const path: (string | number)[][] = [];
  for (const n of ns) {
    for (const mode of MODES) {
      const r = get(mode, n);
      if (!r) continue;
      const other = mode === "ipvs" ? undefined : get("ipvs", n);
      path.push([
        fmtN(n),
        mode,
        `${fmtHz(r.newConn.hz)}/s ${fmtRme(r.newConn.rme)}`,
        fmtNs(r.newConn.ns),
        `${fmtHz(r.established.hz)}/s ${fmtRme(r.established.rme)}`,
        fmtNs(r.established.ns),
        Number.isNaN(r.natPerPacket.newConn) ? "-" : `${r.natPerPacket.newConn.toFixed(2)} / ${r.natPerPacket.established.toFixed(2)}`,
        other ? ratio(r.newConn.ns, other.newConn.ns) : "",
        other ? ratio(r.established.ns, other.established.ns) : "",
      ]);
    }
  }
  const ctl: (string | number)[][] = [];
  for (const n of ns) {
    for (const mode of MODES) {
      const r = get(mode, n);
      if (!r) continue;
      ctl.push([
        fmtN(n),
        mode,
        `${r.addServiceMs.toFixed(2)} ms`,
        `${r.delServiceMs.toFixed(2)} ms`,
        r.build.load.map((l) => `${l.run.startsWith("ip address") ? l.run : l.run.split(" ").slice(0, 2).join(" ")} ${(l.ms / 1000).toFixed(2)} s`).join(", "),
        `${(r.build.loadMs / 1000).toFixed(2)} s`,
        r.loadPerCommandMs === null ? "-" : `${(r.loadPerCommandMs / 1000).toFixed(2)} s`,
        `${r.heapMB.toFixed(0)} MB`,
        `${r.bytesPerConn.toFixed(0)} B`,
      ]);
    }
  }
  return (
    table(
      "Suite 2 — full path through the node, last service, 10 endpoints (per packet; nat = nat PREROUTING traversals per packet, new / established)",
      ["N", "mode", "new conn", "cost", "established", "cost", "nat", "new: mode/IPVS", "est.: mode/IPVS"],
      path,
    ) +
    "\n" +
    table(
      "Suites 3 and 4 — control plane (median of one service added / removed) and loading the node; heap after loading; heap per connection",
      ["N", "mode", "add svc", "del svc", "load steps (one view per step)", "load", "load, view per command", "heap", "heap/conn"],
      ctl,
    )
  );
}

export function nodeSuite(cfg: BenchConfig, sizes: number[], m: number, perCommandMax: number, modes: readonly KubeProxyMode[] = MODES): { rows: NodeRow[]; text: string } {
  const rows: NodeRow[] = [];
  for (const n of sizes) {
    for (const mode of modes) {
      rows.push(runNode(mode, n, m, cfg, n <= perCommandMax));
      writeResult("node", { sizes, modes, endpoints: m, rows });
      gc();
    }
  }
  return { rows, text: nodeTables(rows) + "\n" + targetsTable(rows) };
}

/** Issue 14's targets: where each is measured, and the bound. */
export interface Target {
  what: string;
  mode: KubeProxyMode;
  n: number;
  /** "<=": at most bound; ">=": at least. */
  cmp: "<=" | ">=";
  bound: number;
  unit: string;
  get: (r: NodeRow) => number;
  fmt: (x: number) => string;
}

const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(2)} ms`);
export const TARGETS: Target[] = [
  { what: "one service added, IPVS mode", mode: "ipvs", n: 20_000, cmp: "<=", bound: 1, unit: "ms", get: (r) => r.addServiceMs, fmt: ms },
  { what: "one service removed, IPVS mode", mode: "ipvs", n: 20_000, cmp: "<=", bound: 1, unit: "ms", get: (r) => r.delServiceMs, fmt: ms },
  { what: "one service added, iptables mode", mode: "iptables", n: 20_000, cmp: "<=", bound: 5, unit: "ms", get: (r) => r.addServiceMs, fmt: ms },
  { what: "one service removed, iptables mode", mode: "iptables", n: 20_000, cmp: "<=", bound: 5, unit: "ms", get: (r) => r.delServiceMs, fmt: ms },
  { what: "loading the node, IPVS mode", mode: "ipvs", n: 20_000, cmp: "<=", bound: 3000, unit: "ms", get: (r) => r.build.loadMs, fmt: ms },
  { what: "loading the node, iptables mode", mode: "iptables", n: 20_000, cmp: "<=", bound: 3000, unit: "ms", get: (r) => r.build.loadMs, fmt: ms },
  { what: "heap, iptables mode", mode: "iptables", n: 20_000, cmp: "<=", bound: 300, unit: "MB", get: (r) => r.heapMB, fmt: (x) => `${x.toFixed(0)} MB` },
  { what: "IPVS new connections/s", mode: "ipvs", n: 10_000, cmp: ">=", bound: 200_000, unit: "/s", get: (r) => r.newConn.hz, fmt: (x) => `${fmtHz(x)}/s` },
];

/** The targets of issue 14 beside what this run measured (or why it did not). */
export function targetsTable(rows: NodeRow[]): string {
  const body = TARGETS.map((t) => {
    const r = rows.find((x) => x.mode === t.mode && x.n === t.n);
    const bound = `${t.cmp === "<=" ? "≤" : "≥"} ${t.fmt(t.bound)}`;
    if (!r) return [t.what, fmtN(t.n), bound, `not measured (${t.mode} at ${fmtN(t.n)} not run)`, "-"];
    const v = t.get(r);
    const met = t.cmp === "<=" ? v <= t.bound : v >= t.bound;
    return [t.what, fmtN(t.n), bound, t.fmt(v), met ? "met" : `not met (${ratio(t.cmp === "<=" ? v : t.bound, t.cmp === "<=" ? t.bound : v)} off)`];
  });
  return table("Issue 14 targets beside this run's figures", ["target", "N", "target", "measured", "met?"], body);
}
