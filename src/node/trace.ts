// `pktpath trace FILE --from NS|ADDR --to ADDR:PORT`: one probe on a loaded scenario,
// without writing YAML: its outcome, and the first packet's and the reply's paths.
import { formatTraceEvent, type TraceEvent } from "../dataplane/trace.ts";
import type { ProbeResult } from "../dataplane/probe.ts";
import type { Host } from "../host.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import { ScenarioError } from "../scenario/types.ts";
import { loadNode, parseProto, parseTarget, probeSpec, resolveSource, type Proto } from "./load.ts";

export interface TraceOptions {
  file: string;
  from: string;
  to: string;
  proto: string;
  sport: number | null;
  json: boolean;
  allPackets: boolean;
}

export interface TraceResult {
  netns: string;
  outcome: string;
  server: string | null;
  client_ip: string | null;
  error: string;
  first: TraceEvent[];
  reply: TraceEvent[];
  events: TraceEvent[];
}

/** An event that shows an IP packet (not ARP) leaving, arriving or being sent. */
const isIp = (e: TraceEvent) => (e.step === "tx" || e.step === "rx" || e.step === "note" || e.step === "drop") && /^(send )?(TCP|UDP|ICMP|IP) /.test(e.detail);

/**
 * Splits a probe's events into the first packet (the client's first one: the one it
 * sends) and the reply (the first packet, not ARP, that starts in another namespace).
 */
export function splitPackets(events: TraceEvent[], clientNs: string): { first: TraceEvent[]; reply: TraceEvent[] } {
  const firstSeen = new Map<number, TraceEvent>();
  const ip = new Set<number>();
  for (const e of events) {
    if (!e.pkt) continue;
    if (!firstSeen.has(e.pkt)) firstSeen.set(e.pkt, e);
    if (isIp(e)) ip.add(e.pkt);
  }
  const ids = [...firstSeen.keys()].filter((id) => ip.has(id));
  const first = ids.find((id) => firstSeen.get(id)!.ns === clientNs) ?? null;
  const reply = first === null ? null : ids.find((id) => id !== first && firstSeen.get(id)!.ns !== clientNs && events.indexOf(firstSeen.get(id)!) > events.indexOf(firstSeen.get(first)!)) ?? null;
  return { first: events.filter((e) => e.pkt === first && first !== null), reply: events.filter((e) => e.pkt === reply && reply !== null) };
}

/** Runs one probe on a loaded host with tracing on; --sport binds the client's port (as nc -p). */
export function traceProbe(host: Host, ns: string, proto: Proto, addr: number, port: number, sport: number | null): TraceResult {
  const spec = probeSpec(proto, addr, port);
  if (sport !== null) {
    if (proto === "icmp") throw new Error("--sport: ICMP has no ports");
    if (sport < 1 || sport > 65535) throw new Error(`--sport ${sport}: a port from 1 to 65535`);
    spec.sport = sport;
  }
  host.setTracing(true);
  host.takeTrace();
  const r: ProbeResult = host.probe(ns, spec);
  const events = host.takeTrace();
  host.setTracing(false);
  const { first, reply } = splitPackets(events, ns);
  const outcome = r.outcome === "answered" ? (r.server ?? "answered") : r.outcome;
  return {
    netns: ns,
    outcome,
    server: r.outcome === "answered" ? r.server : null,
    client_ip: r.clientIp !== null ? formatIPv4(r.clientIp) : null,
    error: r.error,
    first,
    reply,
    events,
  };
}

export function formatTrace(t: TraceResult, to: string, proto: string, all: boolean): string {
  const out: string[] = [];
  const who = t.server ? ` (server ${t.server}${t.client_ip ? `, client address ${t.client_ip}` : ""})` : t.error ? ` (${t.error})` : "";
  out.push(`${t.netns} -> ${to}/${proto}: ${t.outcome}${who}`);
  if (all) {
    out.push("every packet:", ...t.events.map((e) => `  ${formatTraceEvent(e)}`));
    return out.join("\n");
  }
  out.push("first packet:", ...(t.first.length ? t.first.map((e) => `  ${formatTraceEvent(e)}`) : ["  (none sent)"]));
  out.push("reply:", ...(t.reply.length ? t.reply.map((e) => `  ${formatTraceEvent(e)}`) : ["  (none)"]));
  return out.join("\n");
}

export function traceCommand(o: TraceOptions, io: { out: (s: string) => void; err: (s: string) => void }): number {
  let proto: Proto;
  let target: { addr: number; port: number };
  try {
    proto = parseProto(o.proto);
    target = parseTarget(o.to, proto);
  } catch (e) {
    io.err(`pktpath trace: ${(e as Error).message}\n`);
    return 2;
  }
  let node;
  try {
    node = loadNode(o.file);
  } catch (e) {
    if (e instanceof ScenarioError) {
      io.err(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  let t: TraceResult;
  try {
    const ns = resolveSource(node.host, o.from);
    t = traceProbe(node.host, ns, proto, target.addr, target.port, o.sport);
  } catch (e) {
    io.err(`pktpath trace: ${(e as Error).message}\n`);
    return 2;
  }
  if (o.json) {
    const { events, ...rest } = t;
    io.out(JSON.stringify({ from: o.from, to: o.to, proto, ...rest, ...(o.allPackets ? { events } : {}) }, null, 2) + "\n");
  } else io.out(formatTrace(t, o.to, proto, o.allPackets) + "\n");
  return 0;
}
