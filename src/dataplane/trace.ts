// Trace events: every step of a packet's path as structured data. Views (text, JSON)
// are built from these; when tracing is off the dataplane holds no tracer at all.
import type { Packet } from "../wire/packet.ts";
import { ETH_P_ARP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, ARPOP_REQUEST } from "../wire/packet.ts";
import { formatIPv4 } from "../wire/ipv4.ts";
import { formatMac } from "../wire/mac.ts";

export type TraceStep =
  | "tx"
  | "rx"
  | "bridge"
  | "fdb"
  | "arp"
  | "neigh"
  | "route"
  | "hook"
  | "rule"
  | "set"
  | "nat"
  | "conntrack"
  | "ipvs"
  | "deliver"
  | "socket"
  | "drop"
  | "icmp"
  | "note";

export interface TraceEvent {
  /** Virtual time in ms. */
  t: number;
  /** Packet id (0 for events not about one packet). */
  pkt: number;
  ns: string;
  dev: string | null;
  step: TraceStep;
  detail: string;
  /** On tx/rx: the headers as they crossed the device (for pcap and HTML views). */
  frame?: Frame;
}

/** The on-the-wire fields of a packet at one moment (a copy: later NAT does not change it). */
export type Frame = Omit<Packet, "id" | "dst" | "nfct" | "ctinfo" | "ipvsProperty" | "physIn" | "physOut" | "brnfDone" | "bridgedDnat" | "mark">;

function frameOf(p: Packet): Frame {
  const { id: _i, dst: _d, nfct: _n, ctinfo: _c, ipvsProperty: _v, physIn: _pi, physOut: _po, brnfDone: _b, bridgedDnat: _bd, mark: _m, ...wire } = p;
  return wire;
}

export class Tracer {
  readonly events: TraceEvent[] = [];
  now = 0;

  emit(pkt: Packet | null, ns: string, dev: string | null, step: TraceStep, detail: string): void {
    const e: TraceEvent = { t: this.now, pkt: pkt ? pkt.id : 0, ns, dev, step, detail };
    if (pkt && (step === "tx" || step === "rx")) e.frame = frameOf(pkt);
    this.events.push(e);
  }

  /** Removes and returns what was recorded since the last take. */
  take(): TraceEvent[] {
    return this.events.splice(0, this.events.length);
  }
}

function tcpFlags(f: number): string {
  const out: string[] = [];
  if (f & TCP_SYN) out.push("SYN");
  if (f & TCP_FIN) out.push("FIN");
  if (f & TCP_RST) out.push("RST");
  if (f & TCP_PSH) out.push("PSH");
  if (f & TCP_ACK) out.push("ACK");
  return out.join(",");
}

/** One-line summary of a packet, tcpdump-like. */
export function describePacket(p: Packet): string {
  if (p.ethType === ETH_P_ARP) {
    return p.arpOp === ARPOP_REQUEST
      ? `ARP who-has ${formatIPv4(p.arpTpa)} tell ${formatIPv4(p.arpSpa)}`
      : `ARP ${formatIPv4(p.arpSpa)} is-at ${formatMac(p.arpSha)}`;
  }
  const src = formatIPv4(p.saddr);
  const dst = formatIPv4(p.daddr);
  switch (p.proto) {
    case IPPROTO_TCP:
      return `TCP ${src}:${p.sport} > ${dst}:${p.dport} [${tcpFlags(p.tcpFlags)}]${p.payload ? ` ${p.payload.kind}` : ""}`;
    case IPPROTO_UDP:
      return `UDP ${src}:${p.sport} > ${dst}:${p.dport}${p.payload ? ` ${p.payload.kind}` : ""}`;
    case IPPROTO_ICMP:
      return `ICMP ${src} > ${dst} type ${p.icmpType} code ${p.icmpCode}`;
    default:
      return `IP ${src} > ${dst} proto ${p.proto}`;
  }
}

export function formatTraceEvent(e: TraceEvent): string {
  const where = e.dev ? `${e.ns} ${e.dev}` : e.ns;
  const id = e.pkt ? `#${e.pkt}` : "";
  return `${id.padStart(5)} ${where.padEnd(30)} ${e.step.padEnd(9)} ${e.detail}`;
}
