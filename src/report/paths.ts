// A probe's trace read as paths: which packet is the request, which is the first reply,
// and the events where the verdict is decided. Shared by --trace=brief and the HTML view.
import type { Frame, TraceEvent } from "../dataplane/trace.ts";
import { ETH_P_ARP, ICMP_DEST_UNREACH, ICMP_ECHOREPLY, ICMP_TIME_EXCEEDED, IPPROTO_ICMP } from "../wire/packet.ts";

export type Direction = "request" | "reply" | "arp" | "other";

interface Tuple {
  s: number;
  sp: number;
  d: number;
  dp: number;
}

function tupleOf(f: Frame): Tuple {
  return { s: f.saddr, sp: f.sport, d: f.daddr, dp: f.dport };
}
const same = (a: Tuple, b: Tuple) => a.s === b.s && a.sp === b.sp && a.d === b.d && a.dp === b.dp;
const reverse = (a: Tuple): Tuple => ({ s: a.d, sp: a.dp, d: a.s, dp: a.sp });

interface PacketSpan {
  id: number;
  first: Frame | null;
  last: Frame | null;
}

/** The probe's packets by id, in the order they first appear, with their first and last frames. */
function spans(events: TraceEvent[]): PacketSpan[] {
  const byId = new Map<number, PacketSpan>();
  const order: PacketSpan[] = [];
  for (const e of events) {
    if (!e.pkt) continue;
    let s = byId.get(e.pkt);
    if (!s) {
      s = { id: e.pkt, first: null, last: null };
      byId.set(e.pkt, s);
      order.push(s);
    }
    if (e.frame) {
      if (!s.first) s.first = e.frame;
      s.last = e.frame;
    }
  }
  return order;
}

/**
 * Each packet's direction relative to the probe's connection. The request is the first
 * IPv4 packet; a packet goes the same way when it starts or ends with the request's
 * tuple as sent or as delivered, the other way when it carries either reversed (so NAT
 * on the way does not confuse the two); ICMP errors and echo replies go back.
 */
export function directions(events: TraceEvent[]): { dir: Map<number, Direction>; request: number | null; reply: number | null } {
  const dir = new Map<number, Direction>();
  const all = spans(events);
  // A packet that never reached a device (queued for ARP, dropped at OUTPUT) has no frame.
  const req = all.find((s) => !s.first || s.first.ethType !== ETH_P_ARP) ?? null;
  let reply: number | null = null;
  const sent = req?.first ? tupleOf(req.first) : null;
  const delivered = req?.last ? tupleOf(req.last) : null;
  for (const s of all) {
    let d: Direction = "other";
    if (s === req) d = "request";
    else if (s.first?.ethType === ETH_P_ARP) d = "arp";
    else if (s.first && s.last && sent && delivered) {
      const a = tupleOf(s.first);
      const b = tupleOf(s.last);
      const icmpBack = s.first.proto === IPPROTO_ICMP && [ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_ECHOREPLY].includes(s.first.icmpType);
      if (same(a, sent) || same(b, delivered) || same(a, delivered)) d = icmpBack ? "reply" : "request";
      else if (icmpBack || same(a, reverse(delivered)) || same(b, reverse(sent)) || same(a, reverse(sent))) d = "reply";
    }
    dir.set(s.id, d);
    if (d === "reply" && reply === null) reply = s.id;
  }
  return { dir, request: req ? req.id : null, reply };
}

/** --trace=brief: the events of the probe's first packet and of its first reply. */
export function briefEvents(events: TraceEvent[]): TraceEvent[] {
  const { request, reply } = directions(events);
  if (request === null) return events.filter((e) => e.pkt === 0 || e.step === "drop");
  return events.filter((e) => e.pkt === request || e.pkt === reply);
}
