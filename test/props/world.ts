// The properties' small worlds, built with the commands a user types: a router (r)
// between two client namespaces (a, b) and two servers (s1, s2), with generated NAT on
// the router (DNAT, SNAT, MASQUERADE, IPVS NAT, and their mixes) and generated traffic.
// A world is a scenario: it prints as the YAML `pktpath run FILE` reproduces.
import fc from "fast-check";
import { stringify } from "yaml";
import { Host } from "../../src/host.ts";
import { hostWithLayers, type Layers } from "../../src/layers.ts";
import { ToolError, type ProbeRecord } from "../../src/tool/tool.ts";
import { Hook, NF_ACCEPT, type HookState, type Verdict } from "../../src/dataplane/hooks.ts";
import { IPPROTO_TCP, IPPROTO_UDP, type Packet } from "../../src/wire/packet.ts";
import { formatIPv4 } from "../../src/wire/ipv4.ts";

// --- scenarios -------------------------------------------------------------------

/** One step: a command line (a probe or any other), or a move of the virtual clock. */
export type Step = { run: string } | { advance: number };

export interface Scenario {
  name: string;
  setup: string[];
  steps: Step[];
}

/** The scenario as YAML for `pktpath run FILE`; `note` becomes its description. */
export function toYaml(s: Scenario, note = ""): string {
  const steps: Record<string, unknown>[] = [{ run: s.setup.join("\n") + "\n" }];
  for (const st of s.steps) steps.push("run" in st ? { run: st.run } : { advance: `${st.advance}ms` });
  const doc: Record<string, unknown> = { name: s.name };
  if (note) doc.description = note;
  doc.steps = steps;
  return stringify(doc, { lineWidth: 0 });
}

export interface Played {
  /** Each probe's record, in order, with the observer's range of packets it made. */
  probes: { line: string; rec: ProbeRecord; from: number; to: number }[];
  /** Command lines that failed, with the tool's words. */
  errors: string[];
}

/** Runs a scenario's lines on a host as the scenario runner does (root namespace "host"). */
export function play(host: Host, s: Scenario, obs: Observer | null = null): Played {
  const out: Played = { probes: [], errors: [] };
  for (const line of s.setup) exec(host, line, out);
  for (const st of s.steps) {
    if ("advance" in st) {
      host.advance(st.advance);
      continue;
    }
    const from = obs ? obs.packets.length : 0;
    const rec = exec(host, st.run, out);
    if (rec) out.probes.push({ line: st.run, rec, from, to: obs ? obs.packets.length : 0 });
  }
  return out;
}

function exec(host: Host, line: string, out: Played): ProbeRecord | null {
  try {
    for (const o of host.exec(line)) if (o.probe) return o.probe;
  } catch (e) {
    if (!(e instanceof ToolError)) throw e;
    out.errors.push(`${line}: ${e.message}`);
  }
  return null;
}

export function newHost(trace = false): Host {
  return hostWithLayers({ trace }).host;
}

/** A host and its layers' runtimes (for tests that read conntrack or IPVS tables). */
export function newWorld(trace = false): { host: Host; layers: Layers } {
  return hostWithLayers({ trace });
}

// --- observing what sockets send and receive ---------------------------------------

export interface Tuple {
  src: number;
  sport: number;
  dst: number;
  dport: number;
  proto: number;
}

/** A TCP or UDP packet as a socket sent it (LOCAL_OUT, before any hook) or got it (LOCAL_IN, after every hook). */
export interface Seen {
  dir: "sent" | "got";
  ns: string;
  id: number;
  t: Tuple;
  flags: number;
}

export class Observer {
  readonly packets: Seen[] = [];
}

/**
 * Registers two hook operations in every namespace: first at LOCAL_OUT and last at
 * LOCAL_IN, so they see exactly what the sockets send and receive. They only record
 * and accept: the packet path is the one without them, and src/ is untouched.
 */
export function observe(host: Host): Observer {
  const obs = new Observer();
  const rec = (dir: Seen["dir"]) => (p: Packet, hs: HookState): Verdict => {
    if (p.proto === IPPROTO_TCP || p.proto === IPPROTO_UDP) {
      obs.packets.push({ dir, ns: hs.ns, id: p.id, t: { src: p.saddr, sport: p.sport, dst: p.daddr, dport: p.dport, proto: p.proto }, flags: p.tcpFlags });
    }
    return NF_ACCEPT;
  };
  const sent = rec("sent");
  const got = rec("got");
  // One array for every namespace: the view rebuilds a hook table only when a provider's array is new.
  const ops = [
    { hook: Hook.LocalOut, priority: Number.MIN_SAFE_INTEGER, name: "props observer", fn: sent },
    { hook: Hook.LocalIn, priority: Number.MAX_SAFE_INTEGER, name: "props observer", fn: got },
  ];
  host.registerHooks({ name: "props observer", hookOps: () => ops });
  return obs;
}

export function sameTuple(a: Tuple, b: Tuple): boolean {
  return a.src === b.src && a.sport === b.sport && a.dst === b.dst && a.dport === b.dport && a.proto === b.proto;
}

export function reversed(t: Tuple): Tuple {
  return { src: t.dst, sport: t.dport, dst: t.src, dport: t.sport, proto: t.proto };
}

export function showTuple(t: Tuple): string {
  return `${t.proto === IPPROTO_UDP ? "udp" : "tcp"} ${formatIPv4(t.src)}:${t.sport} > ${formatIPv4(t.dst)}:${t.dport}`;
}

// --- the routed world --------------------------------------------------------------

/** r sits between a (10.0.1.0/24), b (10.0.2.0/24), s1 (192.168.1.0/24) and s2 (192.168.2.0/24). */
export const ROUTED: string[] = (() => {
  const lines = ["ip netns add r"];
  const legs: [string, string, string, string][] = [
    ["a", "ra", "10.0.1.1", "10.0.1.2"],
    ["b", "rb", "10.0.2.1", "10.0.2.2"],
    ["s1", "r1", "192.168.1.1", "192.168.1.2"],
    ["s2", "r2", "192.168.2.1", "192.168.2.2"],
  ];
  for (const [ns, rdev, raddr, addr] of legs) {
    const dev = `e${ns}`;
    lines.push(
      `ip netns add ${ns}`,
      `ip link add ${rdev} type veth peer name ${dev}`,
      `ip link set ${rdev} netns r`,
      `ip link set ${dev} netns ${ns}`,
      `ip netns exec r ip addr add ${raddr}/24 dev ${rdev}`,
      `ip netns exec r ip link set ${rdev} up`,
      `ip netns exec ${ns} ip addr add ${addr}/24 dev ${dev}`,
      `ip netns exec ${ns} ip link set ${dev} up`,
      `ip netns exec ${ns} ip link set lo up`,
      `ip netns exec ${ns} ip route add default via ${raddr}`,
    );
  }
  lines.push(
    "ip netns exec r ip link set lo up",
    "ip netns exec r sysctl -w net.ipv4.ip_forward=1",
    "ip netns exec s1 nc -l 80 &",
    "ip netns exec s1 nc -u -l 53 &",
    "ip netns exec s2 python3 -m http.server 8080 &",
    "ip netns exec s2 nc -l 80 &",
    "ip netns exec s2 nc -u -l 53 &",
  );
  return lines;
})();

export const S1 = "192.168.1.2";
export const S2 = "192.168.2.2";
export const DNAT_VIP = "10.9.9.9";
export const IPVS_VIP = "10.8.8.8";

export interface NatConfig {
  dnat: { vport: number; to: "s1:80" | "s2:8080" | "s2:80" } | null;
  snat: { kind: "masq" | "masq-ports" | "masq-random-fully" | "snat" | "snat-range"; out: "r1" | "r2" | null } | null;
  ipvs: { proto: "tcp" | "udp"; sched: string; dests: { to: "s1" | "s2"; weight: number }[]; persist: number | null; conntrack: boolean } | null;
  /** Extra filter rules (for tracing-is-free): FORWARD/INPUT drops, rejects, accepts. */
  filter: string[];
  /** Who writes the DNAT/SNAT rules: iptables, or native nft nat chains (same semantics). */
  via?: "iptables" | "nft";
}

export const natConfigArb: fc.Arbitrary<NatConfig> = fc.record({
  dnat: fc.option(fc.record({ vport: fc.constantFrom(80, 8080), to: fc.constantFrom("s1:80" as const, "s2:8080" as const, "s2:80" as const) }), { freq: 2 }),
  snat: fc.option(
    fc.record({
      kind: fc.constantFrom("masq" as const, "masq-ports" as const, "masq-random-fully" as const, "snat" as const, "snat-range" as const),
      out: fc.constantFrom("r1" as const, "r2" as const, null),
    }),
    { freq: 2 },
  ),
  ipvs: fc.option(
    fc.record({
      proto: fc.constantFrom("tcp" as const, "tcp" as const, "udp" as const),
      sched: fc.constantFrom("rr", "wrr", "lc", "wlc", "sh", "dh", "sed", "nq", "mh"),
      dests: fc.uniqueArray(fc.record({ to: fc.constantFrom("s1" as const, "s2" as const), weight: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 2, selector: (d) => d.to }),
      persist: fc.option(fc.constantFrom(30, 300)),
      conntrack: fc.boolean(),
    }),
    { freq: 2 },
  ),
  filter: fc.constant([]),
  via: fc.constantFrom("iptables" as const, "nft" as const),
});

/** The same DNAT/SNAT as nft nat base chains (table ip n: pre at dstnat, post at srcnat). */
function nftNatCommands(c: NatConfig): string[] {
  const r = "ip netns exec r nft";
  const lines: string[] = [`${r} add table ip n`];
  if (c.dnat) {
    const [ns, port] = c.dnat.to.split(":");
    lines.push(`${r} 'add chain ip n pre { type nat hook prerouting priority dstnat; }'`);
    lines.push(`${r} add rule ip n pre ip daddr ${DNAT_VIP} tcp dport ${c.dnat.vport} dnat to ${ns === "s1" ? S1 : S2}:${port}`);
  }
  if (c.snat) {
    const o = c.snat.out ? ` oifname ${c.snat.out}` : "";
    const src = c.snat.out === "r2" ? "192.168.2.1" : "192.168.1.1";
    const stmt = {
      masq: "masquerade",
      "masq-ports": "meta l4proto tcp masquerade to :40000-40003",
      "masq-random-fully": "masquerade fully-random",
      snat: `snat to ${src}`,
      "snat-range": `meta l4proto tcp snat to ${src}:1024-1027`,
    }[c.snat.kind];
    lines.push(`${r} 'add chain ip n post { type nat hook postrouting priority srcnat; }'`);
    lines.push(`${r} add rule ip n post${o} ${stmt}`);
  }
  return lines;
}

export function natCommands(c: NatConfig): string[] {
  const r = "ip netns exec r";
  const lines: string[] = c.via === "nft" ? nftNatCommands(c) : [];
  if (c.dnat && c.via !== "nft") {
    const [ns, port] = c.dnat.to.split(":");
    lines.push(`${r} iptables -t nat -A PREROUTING -d ${DNAT_VIP} -p tcp --dport ${c.dnat.vport} -j DNAT --to-destination ${ns === "s1" ? S1 : S2}:${port}`);
  }
  if (c.snat && c.via !== "nft") {
    const o = c.snat.out ? ` -o ${c.snat.out}` : "";
    const src = c.snat.out === "r2" ? "192.168.2.1" : "192.168.1.1";
    const target = {
      masq: "-j MASQUERADE",
      "masq-ports": "-p tcp -j MASQUERADE --to-ports 40000-40003",
      "masq-random-fully": "-j MASQUERADE --random-fully",
      snat: `-j SNAT --to-source ${src}`,
      "snat-range": `-p tcp -j SNAT --to-source ${src}:1024-1027`,
    }[c.snat.kind];
    lines.push(`${r} iptables -t nat -A POSTROUTING${o} ${target}`);
  }
  if (c.ipvs) {
    const v = c.ipvs;
    const flag = v.proto === "udp" ? "-u" : "-t";
    const port = v.proto === "udp" ? 53 : 80;
    lines.push(`${r} ip link add vip0 type dummy`, `${r} ip addr add ${IPVS_VIP}/32 dev vip0`, `${r} ip link set vip0 up`);
    lines.push(`${r} ipvsadm -A ${flag} ${IPVS_VIP}:${port} -s ${v.sched}${v.persist ? ` -p ${v.persist}` : ""}`);
    for (const d of v.dests) lines.push(`${r} ipvsadm -a ${flag} ${IPVS_VIP}:${port} -r ${d.to === "s1" ? S1 : S2}:${port} -m -w ${d.weight}`);
    if (v.conntrack) lines.push(`${r} sysctl -w net.ipv4.vs.conntrack=1`);
  }
  for (const f of c.filter) lines.push(`${r} ${f}`);
  return lines;
}

export type Target = "s1" | "s1-udp" | "s2" | "dnat" | "ipvs";

export interface ProbeGen {
  client: "a" | "b";
  target: Target;
  tool: "curl" | "nc";
}

export const probeArb: fc.Arbitrary<ProbeGen> = fc.record({
  client: fc.constantFrom("a" as const, "b" as const),
  target: fc.constantFrom("s1" as const, "s1-udp" as const, "s2" as const, "dnat" as const, "ipvs" as const, "ipvs" as const, "dnat" as const),
  tool: fc.constantFrom("curl" as const, "nc" as const),
});

export function probeLine(p: ProbeGen, c: NatConfig): string {
  const pre = `ip netns exec ${p.client}`;
  let addr: string;
  let port: number;
  let udp = false;
  switch (p.target) {
    case "s1":
      [addr, port] = [S1, 80];
      break;
    case "s1-udp":
      [addr, port, udp] = [S1, 53, true];
      break;
    case "s2":
      [addr, port] = [S2, 8080];
      break;
    case "dnat":
      [addr, port] = [DNAT_VIP, c.dnat?.vport ?? 80];
      break;
    case "ipvs":
      [addr, port, udp] = [IPVS_VIP, c.ipvs?.proto === "udp" ? 53 : 80, c.ipvs?.proto === "udp"];
      break;
  }
  if (udp) return `${pre} nc -u -w 1 ${addr} ${port}`;
  return p.tool === "curl" ? `${pre} curl -m 1 ${addr}:${port}` : `${pre} nc -z -w 1 ${addr} ${port}`;
}

export function natScenario(name: string, c: NatConfig, probes: ProbeGen[], advances: number[] = []): Scenario {
  const steps: Step[] = [];
  probes.forEach((p, i) => {
    steps.push({ run: probeLine(p, c) });
    if (advances[i]) steps.push({ advance: advances[i]! });
  });
  return { name, setup: [...ROUTED, ...natCommands(c)], steps };
}
