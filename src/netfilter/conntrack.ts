// Connection tracking (net/netfilter/nf_conntrack_core.c and the tcp/udp/icmp protocol
// trackers): tuples, a table keyed by numbers for both directions, states and timeouts.
import type { Packet } from "../wire/packet.ts";
import { ICMP_ECHO, ICMP_ECHOREPLY, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../wire/packet.ts";

// enum ip_conntrack_info
export const IP_CT_ESTABLISHED = 0;
export const IP_CT_RELATED = 1;
export const IP_CT_NEW = 2;
export const IP_CT_IS_REPLY = 3;
export const IP_CT_ESTABLISHED_REPLY = 3;
export const IP_CT_RELATED_REPLY = 4;
export const IP_CT_UNTRACKED = 7;
/** Not a kernel value: no entry could be made (conntrack's INVALID). */
export const IP_CT_INVALID = 8;

// enum ip_conntrack_status bits
export const IPS_EXPECTED = 1 << 0;
export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
export const IPS_CONFIRMED = 1 << 3;
export const IPS_SRC_NAT = 1 << 4;
export const IPS_DST_NAT = 1 << 5;
export const IPS_SRC_NAT_DONE = 1 << 7;
export const IPS_DST_NAT_DONE = 1 << 8;

export interface Tuple {
  src: number;
  dst: number;
  /** Port, or the ICMP id. */
  sport: number;
  /** Port, or the ICMP type. */
  dport: number;
  proto: number;
}

export const enum TcpCt {
  None,
  SynSent,
  SynRecv,
  Established,
  FinWait,
  CloseWait,
  LastAck,
  TimeWait,
  Close,
}
export const TCP_CT_NAMES = ["NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE"];
// nf_conntrack_proto_tcp.c tcp_timeouts[], in ms
const TCP_TIMEOUTS = [0, 120_000, 60_000, 432_000_000, 120_000, 60_000, 30_000, 120_000, 10_000];
const UDP_UNREPLIED_MS = 30_000;
const UDP_REPLIED_MS = 120_000;
const ICMP_TIMEOUT_MS = 30_000;
const GENERIC_TIMEOUT_MS = 600_000;

export interface Conn {
  id: number;
  /** [original, reply] */
  tuple: [Tuple, Tuple];
  status: number;
  /** Absolute virtual time (ms) it expires at. */
  timeout: number;
  tcp: TcpCt;
  /** The direction whose FIN came first. */
  finDir: number;
  mark: number;
  created: number;
  /** Packets and bytes per direction (for conntrack -L with accounting). */
  packets: [number, number];
  bytes: [number, number];
}


/** The tuple of a packet as nf_ct_get_tuple reads it. */
export function packetTuple(pkt: Packet): Tuple {
  if (pkt.proto === IPPROTO_ICMP) return { src: pkt.saddr, dst: pkt.daddr, sport: pkt.icmpId, dport: pkt.icmpType, proto: pkt.proto };
  return { src: pkt.saddr, dst: pkt.daddr, sport: pkt.sport, dport: pkt.dport, proto: pkt.proto };
}

// nf_ct_invert_tuple(): ICMP echo request <-> echo reply.
export function invert(t: Tuple): Tuple {
  if (t.proto === IPPROTO_ICMP) {
    const type = t.dport === ICMP_ECHO ? ICMP_ECHOREPLY : t.dport === ICMP_ECHOREPLY ? ICMP_ECHO : t.dport;
    return { src: t.dst, dst: t.src, sport: t.sport, dport: type, proto: t.proto };
  }
  return { src: t.dst, dst: t.src, sport: t.dport, dport: t.sport, proto: t.proto };
}

export function tupleEqual(a: Tuple, b: Tuple): boolean {
  return a.src === b.src && a.dst === b.dst && a.sport === b.sport && a.dport === b.dport && a.proto === b.proto;
}

interface Slot {
  conn: Conn;
  dir: number;
}

/**
 * hash_conntrack_raw()'s role: a 5-tuple hashed to a small integer (a V8 Smi, so a
 * lookup builds no number on the heap); the table's buckets are keyed by it and a
 * bucket's entries are compared field by field, as the kernel walks its hash chain.
 */
export function tupleHash(src: number, sport: number, dst: number, dport: number, proto: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ dst, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ ((sport << 16) | (dport & 0xffff)), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16) ^ proto, 0x165667b1);
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

/**
 * A chained hash table (the kernel's hlist buckets): buckets keyed by the hash, holding
 * one entry, or several when their hashes meet. (A Map of buckets: measured faster here
 * than an array of 2^k buckets doubled as it fills.)
 */
export class HashChains<E> {
  private readonly m = new Map<number, E | E[]>();

  head(h: number): E | E[] | undefined {
    return this.m.get(h);
  }
  add(h: number, e: E): void {
    const b = this.m.get(h);
    if (b === undefined) this.m.set(h, e);
    else if (Array.isArray(b)) b.push(e);
    else this.m.set(h, [b, e]);
  }
  delete(h: number, e: E): void {
    const b = this.m.get(h);
    if (b === e) this.m.delete(h);
    else if (Array.isArray(b)) {
      const i = b.indexOf(e);
      if (i < 0) return;
      b.splice(i, 1);
      if (b.length === 1) this.m.set(h, b[0]!);
    }
  }
  *values(): IterableIterator<E> {
    for (const b of this.m.values()) {
      if (Array.isArray(b)) yield* b;
      else yield b;
    }
  }
  clear(): void {
    this.m.clear();
  }
}

function slotIs(s: Slot, src: number, sport: number, dst: number, dport: number, proto: number): boolean {
  const t = s.conn.tuple[s.dir]!;
  return t.src === src && t.sport === sport && t.dst === dst && t.dport === dport && t.proto === proto;
}

/** One namespace's table: both tuples of every confirmed connection, hashed. */
export class ConntrackTable {
  private readonly hash = new HashChains<Slot>();
  private nextId = 1;
  count = 0;

  lookupRaw(src: number, sport: number, dst: number, dport: number, proto: number): Slot | undefined {
    const b = this.hash.head(tupleHash(src, sport, dst, dport, proto));
    if (b === undefined) return undefined;
    if (!Array.isArray(b)) return slotIs(b, src, sport, dst, dport, proto) ? b : undefined;
    for (const s of b) if (slotIs(s, src, sport, dst, dport, proto)) return s;
    return undefined;
  }

  /** nf_conntrack_find_get(): expired entries are removed when met. */
  lookup(t: Tuple, now: number): Slot | undefined {
    return this.lookupAt(t.src, t.sport, t.dst, t.dport, t.proto, now);
  }

  /** lookup() of a tuple given by its fields (no tuple built). */
  lookupAt(src: number, sport: number, dst: number, dport: number, proto: number, now: number): Slot | undefined {
    const s = this.lookupRaw(src, sport, dst, dport, proto);
    if (s && s.conn.timeout <= now) {
      this.remove(s.conn);
      return undefined;
    }
    return s;
  }

  /**
   * nf_conntrack_tuple_taken(): is this tuple already some live connection's? Not when
   * that connection has the same original tuple (the same flow: confirm resolves it).
   */
  taken(t: Tuple, now: number, except: Conn | null): boolean {
    const s = this.lookup(t, now);
    if (!s || s.conn === except) return false;
    if (except && tupleEqual(s.conn.tuple[0], except.tuple[0])) return false;
    return true;
  }

  /** taken() for a tuple given by its fields (no tuple built). */
  takenRaw(src: number, sport: number, dst: number, dport: number, proto: number, now: number, except: Conn | null): boolean {
    const s = this.lookupRaw(src, sport, dst, dport, proto);
    if (!s) return false;
    if (s.conn.timeout <= now) {
      this.remove(s.conn);
      return false;
    }
    if (s.conn === except) return false;
    if (except && tupleEqual(s.conn.tuple[0], except.tuple[0])) return false;
    return true;
  }

  create(pkt: Packet, now: number): Conn {
    const orig = packetTuple(pkt);
    return {
      id: this.nextId++,
      tuple: [orig, invert(orig)],
      status: 0,
      timeout: now + GENERIC_TIMEOUT_MS,
      tcp: TcpCt.None,
      finDir: -1,
      mark: 0,
      created: now,
      packets: [0, 0],
      bytes: [0, 0],
    };
  }

  /** The live connection that already holds one of c's tuples (expired ones are removed). */
  clashOf(c: Conn, now: number): Conn | null {
    for (let dir = 0; dir < 2; dir++) {
      const s = this.lookup(c.tuple[dir]!, now);
      if (s && s.conn !== c) return s.conn;
    }
    return null;
  }

  /** Hashes both tuples of c: the caller (confirm) found no clash with clashOf() first. */
  insert(c: Conn): void {
    for (let dir = 0; dir < 2; dir++) {
      const t = c.tuple[dir]!;
      this.hash.add(tupleHash(t.src, t.sport, t.dst, t.dport, t.proto), { conn: c, dir });
    }
    c.status |= IPS_CONFIRMED;
    this.count++;
  }

  remove(c: Conn): void {
    if (!(c.status & IPS_CONFIRMED)) return;
    for (let dir = 0; dir < 2; dir++) {
      const t = c.tuple[dir]!;
      const s = this.lookupRaw(t.src, t.sport, t.dst, t.dport, t.proto);
      if (s?.conn === c) this.hash.delete(tupleHash(t.src, t.sport, t.dst, t.dport, t.proto), s);
    }
    c.status &= ~IPS_CONFIRMED;
    this.count--;
  }

  /** Live connections, oldest first. */
  list(now: number): Conn[] {
    const seen = new Set<Conn>();
    for (const s of this.hash.values()) if (s.conn.timeout > now) seen.add(s.conn);
    return [...seen].sort((a, b) => a.id - b.id);
  }

  flush(): void {
    this.hash.clear();
    this.count = 0;
  }
}

// tcp_packet(): a reduced tcp_conntracks[][] walk, with the kernel's timeouts.
function tcpUpdate(c: Conn, dir: number, flags: number, now: number): void {
  let s = c.tcp;
  if (flags & TCP_RST) s = TcpCt.Close;
  else if ((flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
    if (dir === 0 && (s === TcpCt.None || s === TcpCt.TimeWait || s === TcpCt.Close)) s = TcpCt.SynSent;
  } else if ((flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) {
    if (dir === 1 && s === TcpCt.SynSent) s = TcpCt.SynRecv;
  } else if (flags & TCP_FIN) {
    if (s === TcpCt.Established || s === TcpCt.SynRecv) {
      s = TcpCt.FinWait;
      c.finDir = dir;
    } else if ((s === TcpCt.FinWait || s === TcpCt.CloseWait) && dir !== c.finDir) s = TcpCt.LastAck;
  } else if (flags & TCP_ACK) {
    if (s === TcpCt.SynRecv && dir === 0) s = TcpCt.Established;
    else if (s === TcpCt.FinWait && dir !== c.finDir) s = TcpCt.CloseWait;
    else if (s === TcpCt.LastAck) s = TcpCt.TimeWait;
    else if (s === TcpCt.None) s = TcpCt.Established; // nf_conntrack_tcp_loose: picked up mid-stream
  }
  if (s === TcpCt.Established && c.tcp !== TcpCt.Established) c.status |= IPS_ASSURED;
  c.tcp = s;
  c.timeout = now + TCP_TIMEOUTS[s]!;
}

/** The protocol tracker's packet function: state and timeout after one packet in dir. */
export function ctPacket(c: Conn, dir: number, pkt: Packet, now: number): void {
  c.packets[dir]!++;
  c.bytes[dir]! += pkt.len;
  if (dir === 1) c.status |= IPS_SEEN_REPLY;
  switch (pkt.proto) {
    case IPPROTO_TCP:
      return tcpUpdate(c, dir, pkt.tcpFlags, now);
    case IPPROTO_UDP:
      c.timeout = now + (c.status & IPS_SEEN_REPLY && now - c.created > 2000 ? UDP_REPLIED_MS : UDP_UNREPLIED_MS);
      if (c.status & IPS_SEEN_REPLY && now - c.created > 2000) c.status |= IPS_ASSURED;
      return;
    case IPPROTO_ICMP:
      c.timeout = now + ICMP_TIMEOUT_MS;
      return;
    default:
      c.timeout = now + GENERIC_TIMEOUT_MS;
  }
}

export function protoName(proto: number): string {
  return proto === IPPROTO_TCP ? "tcp" : proto === IPPROTO_UDP ? "udp" : proto === IPPROTO_ICMP ? "icmp" : "unknown";
}
