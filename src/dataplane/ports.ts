// Local ports for connecting sockets: __inet_hash_connect() (TCP) and
// udp_lib_get_port() (UDP), with a seeded PRNG standing in for the kernel's secrets so
// that a scenario picks the same ports on every run.
import { IPPROTO_TCP, IPPROTO_UDP } from "../wire/packet.ts";
import type { NetnsView } from "./view.ts";
import type { NetnsDataplane } from "./dataplane.ts";

/** INET_TABLE_PERTURB_SIZE (1 << CONFIG_INET_TABLE_PERTURB_ORDER). */
const TABLE_PERTURB_SIZE = 1 << 16;

/** A namespace's own seeded state (mulberry32), so one namespace's traffic never moves another's ports. */
export function nsRandom(st: NetnsDataplane): number {
  let t = (st.portSeed = (st.portSeed + 0x6d2b79f5) >>> 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

export function seedFor(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

// secure_ipv4_port_ephemeral(): a keyed hash of (saddr, daddr, dport); 48 bits kept as
// the kernel's u64 is used: the low bits index table_perturb, the high 32 add to it.
function portOffset(st: NetnsDataplane, saddr: number, daddr: number, dport: number): { index: number; high: number } {
  let a = (saddr ^ st.secret) >>> 0;
  let b = (daddr ^ Math.imul(st.secret, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < 3; i++) {
    a = Math.imul(a ^ (b >>> 13), 0x85ebca6b) >>> 0;
    b = Math.imul(b ^ (a >>> 16) ^ dport, 0xc2b2ae35) >>> 0;
  }
  return { index: a & (TABLE_PERTURB_SIZE - 1), high: b };
}

/** Is lport bound by a listener (bind() ports are never shared by connect()). */
function boundByListener(st: NetnsDataplane, proto: number, lport: number): boolean {
  return !!st.sockets.listeners.get(proto * 65536 + lport)?.length;
}

// __inet_hash_connect(): start at an offset per destination, walk ports of one parity
// by two, then the other; a port is free when no listener holds it and the 4-tuple is
// unique (check_established). 0 when the range is exhausted (EADDRNOTAVAIL).
export function inetHashConnect(ns: NetnsView, st: NetnsDataplane, saddr: number, daddr: number, dport: number): number {
  const low = ns.portLow;
  const high = ns.portHigh + 1;
  let remaining = high - low;
  if (remaining > 1) remaining &= ~1;
  if (remaining <= 0) return 0;
  const { index, high: h } = portOffset(st, saddr, daddr, dport);
  let offset = (((st.perturb.get(index) ?? st.perturbInit(index)) + h) >>> 0) % remaining;
  offset &= ~1;
  for (let pass = 0; pass < 2; pass++, offset++) {
    let port = low + offset;
    for (let i = 0; i < remaining; i += 2, port += 2) {
      if (port >= high) port -= remaining;
      if (boundByListener(st, IPPROTO_TCP, port)) continue;
      if (st.sockets.lookupTcp(saddr, port, daddr, dport)) continue;
      // Some randomness in the next choice: low contention moves it most.
      const step = Math.max(i, (nsRandom(st) % 8) * 2);
      st.perturb.set(index, ((st.perturb.get(index) ?? 0) + step + 2) >>> 0);
      return port;
    }
    if (remaining <= 1) break;
  }
  return 0;
}

// udp_lib_get_port(): a random first port in the range, then the next free one.
export function udpGetPort(ns: NetnsView, st: NetnsDataplane): number {
  const low = ns.portLow;
  const remaining = ns.portHigh - low + 1;
  if (remaining <= 0) return 0;
  const first = low + (nsRandom(st) % remaining);
  for (let i = 0; i < remaining; i++) {
    const port = low + ((first - low + i) % remaining);
    if (boundByListener(st, IPPROTO_UDP, port) || st.sockets.udpClients.has(port)) continue;
    return port;
  }
  return 0;
}
