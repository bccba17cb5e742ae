// Connection tracking (net/netfilter/nf_conntrack_core.c and the tcp/udp/icmp protocol
// trackers): tuples, a table keyed by numbers for both directions, states and timeouts.
import type { Packet } from "../wire/packet.ts";
import { HashIndex } from "./hashindex.ts";
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
  /** [original, reply]: ct->tuplehash[], each tuple with its hash-chain link. */
  tuple: [TupleHash, TupleHash];
  status: number;
  /** Absolute virtual time (ms) it expires at. */
  timeout: number;
  tcp: TcpCt;
  /** The direction whose FIN came first. */
  finDir: number;
  mark: number;
  created: number;
}

/**
 * struct nf_conntrack_tuple_hash: one direction's tuple, the connection it belongs to
 * (nf_ct_tuplehash_to_ctrack) and its link in the table's hash chain (hnnode).
 */
export interface TupleHash extends Tuple {
  readonly conn: Conn;
  /** IP_CT_DIR_ORIGINAL (0) or IP_CT_DIR_REPLY (1). */
  readonly dir: number;
  /** JSON of the tuple alone (not the connection and chain it links to). */
  toJSON(): Tuple;
}

function tupleJSON(this: Tuple): Tuple {
  return { src: this.src, dst: this.dst, sport: this.sport, dport: this.dport, proto: this.proto };
}

// (Entries are object literals, not class instances: V8 pretenures a literal's
// allocation site whose objects all survive, so a table filling up is not copied
// through the young generation object by object.)
function tupleHashOf(conn: Conn, dir: number, src: number, dst: number, sport: number, dport: number, proto: number): TupleHash {
  return { src, dst, sport, dport, proto, conn, dir, toJSON: tupleJSON };
}

/** Stands in for a new entry's tuples while they are made (they point back to it). */
const NO_TUPLES = [] as unknown as [TupleHash, TupleHash];

// __nf_conntrack_alloc(): the entry with both tuples in it (the reply one nf_ct_invert_tuple's), created once.
function newConn(id: number, pkt: Packet, timeout: number, created: number): Conn {
  const c: Conn = { id, tuple: NO_TUPLES, status: 0, timeout, tcp: TcpCt.None, finDir: -1, mark: 0, created };
  const icmp = pkt.proto === IPPROTO_ICMP;
  const sport = icmp ? pkt.icmpId : pkt.sport;
  const dport = icmp ? pkt.icmpType : pkt.dport;
  const rdport = icmp ? (dport === ICMP_ECHO ? ICMP_ECHOREPLY : dport === ICMP_ECHOREPLY ? ICMP_ECHO : dport) : sport;
  c.tuple = [tupleHashOf(c, 0, pkt.saddr, pkt.daddr, sport, dport, pkt.proto), tupleHashOf(c, 1, pkt.daddr, pkt.saddr, icmp ? sport : dport, rdport, pkt.proto)];
  return c;
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

/** nf_ct_invert_tuple() into an existing tuple (no object made). */
export function invertInto(out: Tuple, t: Tuple): void {
  const { src, dst, sport, dport, proto } = t;
  out.src = dst;
  out.dst = src;
  out.proto = proto;
  if (proto === IPPROTO_ICMP) {
    out.sport = sport;
    out.dport = dport === ICMP_ECHO ? ICMP_ECHOREPLY : dport === ICMP_ECHOREPLY ? ICMP_ECHO : dport;
  } else {
    out.sport = dport;
    out.dport = sport;
  }
}

export function tupleEqual(a: Tuple, b: Tuple): boolean {
  return a.src === b.src && a.dst === b.dst && a.sport === b.sport && a.dport === b.dport && a.proto === b.proto;
}

/**
 * hash_conntrack_raw()'s role: a 5-tuple hashed to a small integer (a V8 Smi, so a
 * lookup builds no number on the heap); the table's buckets are indexed by it and a
 * bucket's entries are compared field by field, as the kernel walks its hash chain.
 */
export function tupleHash(src: number, sport: number, dst: number, dport: number, proto: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ dst, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ ((sport << 16) | (dport & 0xffff)), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16) ^ proto, 0x165667b1);
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

function tupleIs(t: TupleHash, src: number, sport: number, dst: number, dport: number, proto: number): boolean {
  return t.src === src && t.sport === sport && t.dst === dst && t.dport === dport && t.proto === proto;
}

/** One namespace's table: both tuples of every confirmed connection, hashed. */
export class ConntrackTable {
  private readonly hash = new HashIndex<TupleHash>();
  private nextId = 1;
  count = 0;

  /** ____nf_conntrack_find(): the chain walk, expired entries included. */
  lookupRaw(src: number, sport: number, dst: number, dport: number, proto: number): TupleHash | undefined {
    const h = tupleHash(src, sport, dst, dport, proto);
    const tab = this.hash;
    for (let i = tab.find(h, h); i >= 0; i = tab.find(h, i + 1)) {
      const t = tab.at(i);
      if (tupleIs(t, src, sport, dst, dport, proto)) return t;
    }
    return undefined;
  }

  /** nf_conntrack_find_get(): expired entries are removed when met. */
  lookup(t: Tuple, now: number): TupleHash | undefined {
    return this.lookupAt(t.src, t.sport, t.dst, t.dport, t.proto, now);
  }

  /** lookup() of a tuple given by its fields (no tuple built). */
  lookupAt(src: number, sport: number, dst: number, dport: number, proto: number, now: number): TupleHash | undefined {
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
    return this.takenRaw(t.src, t.sport, t.dst, t.dport, t.proto, now, except);
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

  /** init_conntrack(): a new, unconfirmed entry for the packet's tuple (generic timeout until the tracker's first packet). */
  create(pkt: Packet, now: number): Conn {
    return newConn(this.nextId++, pkt, now + GENERIC_TIMEOUT_MS, now);
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
      this.hash.add(tupleHash(t.src, t.sport, t.dst, t.dport, t.proto), t);
    }
    c.status |= IPS_CONFIRMED;
    this.count++;
  }

  remove(c: Conn): void {
    if (!(c.status & IPS_CONFIRMED)) return;
    let found = false;
    for (let dir = 0; dir < 2; dir++) {
      // (A hashed tuple never changes: NAT and IPVS alter only an unconfirmed entry's.)
      const t = c.tuple[dir]!;
      if (this.hash.delete(tupleHash(t.src, t.sport, t.dst, t.dport, t.proto), t)) found = true;
    }
    c.status &= ~IPS_CONFIRMED;
    if (found) this.count--;
  }

  /** Live connections, oldest first. */
  list(now: number): Conn[] {
    const out: Conn[] = [];
    for (const t of this.hash.values()) if (t.dir === 0 && t.conn.timeout > now) out.push(t.conn);
    return out.sort((a, b) => a.id - b.id);
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
