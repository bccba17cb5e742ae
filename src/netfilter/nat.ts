// NAT (net/netfilter/nf_nat_core.c): a binding chosen once per connection, a unique
// reply tuple (nf_nat_used_tuple / get_unique_tuple), and the packet rewrite in both
// directions (nf_nat_packet).
import type { Packet } from "../wire/packet.ts";
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from "../wire/packet.ts";
import { type Conn, ConntrackTable, invert, invertInto, IPS_DST_NAT, TcpCt, IPS_DST_NAT_DONE, IPS_SRC_NAT, IPS_SRC_NAT_DONE, type Tuple } from "./conntrack.ts";

export const NF_NAT_MANIP_SRC = 0;
export const NF_NAT_MANIP_DST = 1;

export interface NatRange {
  minIp: number;
  maxIp: number;
  /** NF_NAT_RANGE_MAP_IPS: the address is mapped (else only ports). */
  mapIps: boolean;
  /** NF_NAT_RANGE_PROTO_SPECIFIED */
  protoSpecified: boolean;
  minPort: number;
  maxPort: number;
  random: boolean;
  fully: boolean;
}

export function natInitialized(ct: Conn, manip: number): boolean {
  return (ct.status & (manip === NF_NAT_MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE)) !== 0;
}

function hashTuple(t: Tuple): number {
  let h = (t.src ^ Math.imul(t.dst, 0x9e3779b1) ^ Math.imul(t.sport * 65536 + t.dport, 0x85ebca6b)) >>> 0;
  h ^= h >>> 15;
  return Math.imul(h, 0x2c1b3c6d) >>> 0;
}

function portBased(proto: number): boolean {
  return proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_ICMP;
}

/** NF_NAT_MAX_ATTEMPTS and NF_NAT_HARDER_THRESH of nf_nat_core.c. */
const NF_NAT_MAX_ATTEMPTS = 128;
const NF_NAT_HARDER_THRESH = NF_NAT_MAX_ATTEMPTS / 4;

/** nf_nat_used_tuple(): would this tuple's reply clash with another live connection? (its inverse read in place) */
function usedTuple(t: Tuple, ct: Conn, table: ConntrackTable, now: number): boolean {
  if (t.proto === IPPROTO_ICMP) return table.taken(invert(t), now, ct);
  return table.takenRaw(t.dst, t.dport, t.src, t.sport, t.proto, now, ct);
}

// nf_nat_used_tuple_harder() (Linux 6.4+): in the last attempts of a SYN's search, a
// colliding SNATed entry in TIME_WAIT or CLOSE is evicted and its port reused.
function usedTupleHarder(t: Tuple, ct: Conn, table: ConntrackTable, now: number, attemptsLeft: number): boolean {
  if (attemptsLeft > NF_NAT_HARDER_THRESH || t.proto !== IPPROTO_TCP || ct.tcp !== TcpCt.SynSent) return usedTuple(t, ct, table, now);
  const slot = table.lookup(invert(t), now);
  if (!slot || slot.conn === ct) return false;
  const old = slot.conn;
  // nf_nat_may_kill(): a closing SNATed entry; nf_seq_has_advanced() is taken as true.
  if (slot.dir !== 1 || old.tcp < TcpCt.TimeWait || !(old.status & IPS_SRC_NAT)) return true;
  table.remove(old);
  return false;
}

// in_range(): the tuple's manipulated address and port are within the range.
function inRange(t: Tuple, range: NatRange, manip: number): boolean {
  const a = manip === NF_NAT_MANIP_SRC ? t.src : t.dst;
  const port = manip === NF_NAT_MANIP_SRC ? t.sport : t.dport;
  return (!range.mapIps || (a >= range.minIp && a <= range.maxIp)) && (!range.protoSpecified || (port >= range.minPort && port <= range.maxPort));
}

// get_unique_tuple(): keep what we can. A taken tuple is not an error here: the clash
// is found (and the packet dropped) at confirm time, unless a later SNAT moves the port.
// The tuple given is the caller's own copy, changed in place and returned (the kernel
// fills one nf_conntrack_tuple on the stack).
function uniqueTuple(tuple: Tuple, range: NatRange, manip: number, ct: Conn, table: ConntrackTable, now: number, rand: () => number): Tuple {
  const randomAll = range.random || range.fully;
  const key: "sport" | "dport" = manip === NF_NAT_MANIP_SRC ? "sport" : "dport";
  // 1) Source NAT: the original tuple itself when it is in range and unused.
  if (manip === NF_NAT_MANIP_SRC && !randomAll && inRange(tuple, range, manip) && !usedTuple(tuple, ct, table, now)) return tuple;
  // 2) find_best_ips_proto(): a hash of the addresses picks within the range.
  const t: Tuple = tuple;
  if (range.mapIps) {
    const span = range.maxIp - range.minIp + 1;
    const pick = span > 1 ? range.minIp + (hashTuple({ ...tuple, sport: 0, dport: 0 }) % span) : range.minIp;
    if (manip === NF_NAT_MANIP_SRC) t.src = pick;
    else t.dst = pick;
  }
  // 3) Keep the port when it is in range and unique (or the range is one port).
  if (!randomAll) {
    if (range.protoSpecified) {
      if (t[key] >= range.minPort && t[key] <= range.maxPort && (range.minPort === range.maxPort || !usedTuple(t, ct, table, now))) return t;
    } else if (!usedTuple(t, ct, table, now)) return t;
  }
  if (!portBased(t.proto)) return t;
  // nf_nat_l4proto_unique_tuple()
  let min: number;
  let size: number;
  const k: "sport" | "dport" = t.proto === IPPROTO_ICMP ? "sport" : key;
  if (t.proto === IPPROTO_ICMP && !range.protoSpecified) {
    min = 0;
    size = 65536;
  } else if (range.protoSpecified) {
    min = range.minPort;
    size = range.maxPort - range.minPort + 1;
  } else if (manip === NF_NAT_MANIP_DST) {
    return t; // a destination's port is never changed unless a range was given
  } else if (t[k] < 1024) {
    min = t[k] < 512 ? 1 : 600;
    size = t[k] < 512 ? 511 : 424;
  } else {
    min = 1024;
    size = 65535 - 1024 + 1;
  }
  let off = randomAll || manip !== NF_NAT_MANIP_DST ? rand() % 65536 : 0;
  let attempts = Math.min(size, NF_NAT_MAX_ATTEMPTS);
  // Ever smaller windows from new random offsets, so that a full range stays bounded.
  for (;;) {
    for (let i = 0; i < attempts; i++, off++) {
      t[k] = min + (off % size);
      if (manip === NF_NAT_MANIP_SRC ? !usedTupleHarder(t, ct, table, now, attempts - i) : !usedTuple(t, ct, table, now)) return t;
    }
    if (attempts >= size || attempts < 16) return t;
    attempts = Math.floor(attempts / 2);
    off = rand() % 65536;
  }
}

/** The tuple get_unique_tuple() works on (the kernel's on the stack): one, reused. */
const scratch: Tuple = { src: 0, dst: 0, sport: 0, dport: 0, proto: 0 };

/** nf_nat_setup_info(): bind the connection (always: a clash is confirm's business). */
export function natSetupInfo(ct: Conn, range: NatRange, manip: number, table: ConntrackTable, now: number, rand: () => number): boolean {
  const curr = scratch;
  invertInto(curr, ct.tuple[1]);
  const { src, dst, sport, dport } = curr;
  const next = uniqueTuple(curr, range, manip, ct, table, now, rand);
  const changed = next.src !== src || next.dst !== dst || next.sport !== sport || next.dport !== dport;
  if (changed) {
    // nf_conntrack_alter_reply(): the entry is unconfirmed, its reply tuple changed in place.
    invertInto(ct.tuple[1], next);
    ct.status |= manip === NF_NAT_MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
  }
  ct.status |= manip === NF_NAT_MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE;
  return true;
}

/** The range of a null binding (one, refilled per call: get_unique_tuple only reads it). */
const nullRange: NatRange = { minIp: 0, maxIp: 0, mapIps: true, protoSpecified: false, minPort: 0, maxPort: 0, random: false, fully: false };

/** nf_nat_alloc_null_binding(): an identity mapping (that still avoids clashes). */
export function natNullBinding(ct: Conn, manip: number, table: ConntrackTable, now: number, rand: () => number): boolean {
  const ip = manip === NF_NAT_MANIP_SRC ? ct.tuple[1].dst : ct.tuple[1].src;
  nullRange.minIp = nullRange.maxIp = ip;
  return natSetupInfo(ct, nullRange, manip, table, now, rand);
}

/**
 * nf_nat_packet(): rewrite the packet for its direction. Returns true when it changed
 * the address the hook cares about.
 */
export function natPacket(ct: Conn, dir: number, manip: number, pkt: Packet): boolean {
  let statusbit = manip === NF_NAT_MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
  // Reply packets undo the other direction's manipulation.
  if (dir === 1) statusbit = statusbit === IPS_SRC_NAT ? IPS_DST_NAT : IPS_SRC_NAT;
  if (!(ct.status & statusbit)) return false;
  // The target is the inverse of the other direction's tuple (read in place: an ICMP id stays the id).
  const o = ct.tuple[dir === 0 ? 1 : 0];
  const icmp = pkt.proto === IPPROTO_ICMP;
  if (manip === NF_NAT_MANIP_SRC) {
    pkt.saddr = o.dst;
    if (icmp) pkt.icmpId = o.sport;
    else pkt.sport = o.dport;
  } else {
    pkt.daddr = o.src;
    if (icmp) pkt.icmpId = o.sport;
    else pkt.dport = o.sport;
  }
  return true;
}

/**
 * nf_nat_icmp_reply_translation(): an ICMP error about a NATed connection gets its
 * quoted header and outer address translated like the connection's packets.
 */
export function natIcmpError(ct: Conn, dir: number, manip: number, pkt: Packet): void {
  const q = pkt.quoted;
  if (!q) return;
  let statusbit = manip === NF_NAT_MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
  if (dir === 1) statusbit = statusbit === IPS_SRC_NAT ? IPS_DST_NAT : IPS_SRC_NAT;
  if (!(ct.status & statusbit)) return;
  // The quoted packet travels the other way: it gets the opposite manipulation.
  const target = invert(ct.tuple[dir === 0 ? 1 : 0]);
  if (manip === NF_NAT_MANIP_SRC) {
    q.daddr = target.src;
    q.dport = target.sport;
    pkt.saddr = target.src;
  } else {
    q.saddr = target.dst;
    q.sport = target.dport;
    pkt.daddr = target.dst;
  }
}
