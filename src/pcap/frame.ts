// Real bytes for the frames the dataplane carries: Ethernet II, ARP, IPv4 (with header
// checksum), TCP and UDP (pseudo-header checksums), ICMP (echo, and errors quoting the
// offending header). The emulator's packets carry headers, not bytes; sequence numbers
// and payload text are synthesised here, consistently per connection.
import type { Frame } from "../dataplane/trace.ts";
import { ETH_P_ARP, ICMP_ECHO, ICMP_ECHOREPLY, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, TCP_FIN, TCP_PSH, TCP_SYN, type QuotedHeader } from "../wire/packet.ts";
import { formatIPv4 } from "../wire/ipv4.ts";

/** The Internet checksum (RFC 1071) over buf[from, to), plus an initial sum. */
export function inetChecksum(buf: Uint8Array, from: number, to: number, initial = 0): number {
  let sum = initial;
  for (let i = from; i + 1 < to; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if ((to - from) % 2) sum += buf[to - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function putMac(v: DataView, off: number, mac: number): void {
  v.setUint16(off, Math.floor(mac / 2 ** 32));
  v.setUint32(off + 2, mac % 2 ** 32);
}

/** The application bytes a segment or datagram carries (what the servers answer). */
export function payloadBytes(f: Frame): Uint8Array {
  const p = f.payload;
  if (!p) return new Uint8Array(0);
  // A SYN-ACK carries the model's bookkeeping (who answered), not data on the wire.
  if (f.proto === IPPROTO_TCP && !(f.tcpFlags & TCP_PSH)) return new Uint8Array(0);
  const tcp = f.proto === IPPROTO_TCP;
  let text: string;
  if (p.kind === "request") text = tcp ? `GET ${p.path || "/"} HTTP/1.0\r\n\r\n` : `pktpath probe\n`;
  else {
    const body = `${p.server} ${formatIPv4(p.clientIp)}\n`;
    text = tcp ? `HTTP/1.0 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}` : body;
  }
  return new TextEncoder().encode(text);
}

/** TCP sequence numbers per connection, the same for a packet wherever it is seen (NAT included). */
export class SeqState {
  private flows = new Map<string, { next: number }>();
  private byPacket = new Map<number, { seq: number; ack: number }>();

  numbers(pktId: number, f: Frame, len: number): { seq: number; ack: number } {
    const key = `${f.saddr}:${f.sport}>${f.daddr}:${f.dport}`;
    const known = this.byPacket.get(pktId);
    if (known) {
      // Seen again after NAT: the rewritten tuple belongs to the same flow.
      if (!this.flows.has(key)) this.flows.set(key, this.flowOf(pktId)!);
      return known;
    }
    let flow = this.flows.get(key);
    if (!flow) {
      flow = { next: isn(key) };
      this.flows.set(key, flow);
    }
    const back = this.flows.get(`${f.daddr}:${f.dport}>${f.saddr}:${f.sport}`);
    const n = { seq: flow.next >>> 0, ack: back ? back.next >>> 0 : 0 };
    flow.next = (flow.next + len + (f.tcpFlags & TCP_SYN ? 1 : 0) + (f.tcpFlags & TCP_FIN ? 1 : 0)) >>> 0;
    this.byPacket.set(pktId, n);
    this.owner.set(pktId, flow);
    return n;
  }

  private owner = new Map<number, { next: number }>();
  private flowOf(pktId: number): { next: number } | undefined {
    return this.owner.get(pktId);
  }
}

function isn(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return h >>> 0;
}

function quotedBytes(q: QuotedHeader, ttl: number): Uint8Array {
  // The offending datagram's IPv4 header and the first 8 bytes of its transport header.
  const b = new Uint8Array(28);
  const v = new DataView(b.buffer);
  v.setUint8(0, 0x45);
  v.setUint16(2, q.proto === IPPROTO_TCP ? 40 : 28);
  v.setUint8(8, ttl);
  v.setUint8(9, q.proto);
  v.setUint32(12, q.saddr >>> 0);
  v.setUint32(16, q.daddr >>> 0);
  v.setUint16(10, inetChecksum(b, 0, 20));
  v.setUint16(20, q.sport);
  v.setUint16(22, q.dport);
  if (q.proto === IPPROTO_UDP) v.setUint16(24, 8);
  return b;
}

/** The frame's bytes: Ethernet header and everything above it. */
export function frameBytes(pktId: number, f: Frame, seq: SeqState): Uint8Array {
  if (f.ethType === ETH_P_ARP) return arpFrame(f);
  let l4: Uint8Array;
  if (f.proto === IPPROTO_TCP) l4 = tcpSegment(pktId, f, seq);
  else if (f.proto === IPPROTO_UDP) l4 = udpDatagram(f);
  else if (f.proto === IPPROTO_ICMP) l4 = icmpMessage(f);
  else l4 = new Uint8Array(0);
  return ipv4Frame(pktId, f, l4);
}

/** An ARP request or reply for IPv4 over Ethernet. */
function arpFrame(f: Frame): Uint8Array {
  const b = new Uint8Array(42);
  const v = new DataView(b.buffer);
  putMac(v, 0, f.ethDst);
  putMac(v, 6, f.ethSrc);
  v.setUint16(12, ETH_P_ARP);
  v.setUint16(14, 1); // htype Ethernet
  v.setUint16(16, 0x0800);
  v.setUint8(18, 6);
  v.setUint8(19, 4);
  v.setUint16(20, f.arpOp);
  putMac(v, 22, f.arpSha);
  v.setUint32(28, f.arpSpa >>> 0);
  putMac(v, 32, f.arpTha);
  v.setUint32(38, f.arpTpa >>> 0);
  return b;
}

/** The TCP header (checksum left to ipv4Frame) and payload. */
function tcpSegment(pktId: number, f: Frame, seq: SeqState): Uint8Array {
  const data = payloadBytes(f);
  const l4 = new Uint8Array(20 + data.length);
  const v = new DataView(l4.buffer);
  const n = seq.numbers(pktId, f, data.length);
  v.setUint16(0, f.sport);
  v.setUint16(2, f.dport);
  v.setUint32(4, n.seq);
  v.setUint32(8, f.tcpFlags & 0x10 ? n.ack : 0);
  v.setUint8(12, 5 << 4);
  v.setUint8(13, f.tcpFlags);
  v.setUint16(14, 64240);
  l4.set(data, 20);
  return l4;
}

/** The UDP header (checksum left to ipv4Frame) and payload. */
function udpDatagram(f: Frame): Uint8Array {
  const data = payloadBytes(f);
  const l4 = new Uint8Array(8 + data.length);
  const v = new DataView(l4.buffer);
  v.setUint16(0, f.sport);
  v.setUint16(2, f.dport);
  v.setUint16(4, l4.length);
  l4.set(data, 8);
  return l4;
}

/** An ICMP message with its checksum: echo with a fixed body, an error quoting the packet it answers. */
function icmpMessage(f: Frame): Uint8Array {
  const echo = f.icmpType === ICMP_ECHO || f.icmpType === ICMP_ECHOREPLY;
  const body = echo ? new TextEncoder().encode("pktpath ping....") : f.quoted ? quotedBytes(f.quoted, f.ttl) : new Uint8Array(0);
  const l4 = new Uint8Array(8 + body.length);
  const v = new DataView(l4.buffer);
  v.setUint8(0, f.icmpType);
  v.setUint8(1, f.icmpCode);
  if (echo) {
    v.setUint16(4, f.icmpId);
    v.setUint16(6, f.icmpSeq);
  }
  l4.set(body, 8);
  v.setUint16(2, inetChecksum(l4, 0, l4.length));
  return l4;
}

/** Ethernet and IPv4 headers around the transport bytes; TCP and UDP checksums filled in. */
function ipv4Frame(pktId: number, f: Frame, l4: Uint8Array): Uint8Array {
  const b = new Uint8Array(14 + 20 + l4.length);
  const v = new DataView(b.buffer);
  putMac(v, 0, f.ethDst);
  putMac(v, 6, f.ethSrc);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x45);
  v.setUint16(16, 20 + l4.length);
  v.setUint16(18, pktId & 0xffff);
  if (f.proto === IPPROTO_TCP) v.setUint16(20, 0x4000); // DF, as Linux sets on TCP
  v.setUint8(22, f.ttl);
  v.setUint8(23, f.proto);
  v.setUint32(26, f.saddr >>> 0);
  v.setUint32(30, f.daddr >>> 0);
  v.setUint16(24, inetChecksum(b, 14, 34));
  b.set(l4, 34);
  if (f.proto === IPPROTO_TCP || f.proto === IPPROTO_UDP) {
    // Pseudo-header: source, destination, zero, protocol, transport length.
    const pseudo =
      (f.saddr >>> 16) + (f.saddr & 0xffff) + (f.daddr >>> 16) + (f.daddr & 0xffff) + f.proto + l4.length;
    const off = f.proto === IPPROTO_TCP ? 34 + 16 : 34 + 6;
    let c = inetChecksum(b, 34, b.length, pseudo);
    if (f.proto === IPPROTO_UDP && c === 0) c = 0xffff;
    v.setUint16(off, c);
  }
  return b;
}
