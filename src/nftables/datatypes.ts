// nft's data types (src/datatype.c, proto.c, meta.c, ct.c): how a value of each type is
// parsed from a token and printed, and the selectors that read them from a packet.
import { formatIPv4, parseIPv4 } from "../wire/ipv4.ts";
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from "../wire/packet.ts";
import type { NftAtom, NftValue } from "./types.ts";

export type DataType =
  | "ipv4_addr"
  | "inet_service"
  | "inet_proto"
  | "mark"
  | "ifname"
  | "iface_index"
  | "ct_state"
  | "ct_status"
  | "ct_dir"
  | "tcp_flag"
  | "icmp_type"
  | "pkttype"
  | "nf_proto"
  | "fib_addrtype"
  | "integer"
  | "verdict";

/** Widths in bits, for masks and listings. */
export const TYPE_BITS: Record<DataType, number> = {
  ipv4_addr: 32,
  inet_service: 16,
  inet_proto: 8,
  mark: 32,
  ifname: 128,
  iface_index: 32,
  ct_state: 32,
  ct_status: 32,
  ct_dir: 8,
  tcp_flag: 8,
  icmp_type: 8,
  pkttype: 8,
  nf_proto: 8,
  fib_addrtype: 32,
  integer: 32,
  verdict: 32,
};

export const BITMASK_TYPES = new Set<DataType>(["ct_state", "ct_status", "tcp_flag"]);

const SYMBOLS: Partial<Record<DataType, [string, number][]>> = {
  inet_proto: [
    ["icmp", 1],
    ["igmp", 2],
    ["tcp", 6],
    ["udp", 17],
    ["gre", 47],
    ["esp", 50],
    ["ah", 51],
    ["sctp", 132],
  ],
  ct_state: [
    ["invalid", 1],
    ["established", 2],
    ["related", 4],
    ["new", 8],
    ["untracked", 64],
  ],
  ct_status: [
    ["expected", 1],
    ["seen-reply", 2],
    ["assured", 4],
    ["confirmed", 8],
    ["snat", 16],
    ["dnat", 32],
    ["dying", 512],
  ],
  ct_dir: [
    ["original", 0],
    ["reply", 1],
  ],
  tcp_flag: [
    ["fin", 1],
    ["syn", 2],
    ["rst", 4],
    ["psh", 8],
    ["ack", 16],
    ["urg", 32],
    ["ecn", 64],
    ["cwr", 128],
  ],
  icmp_type: [
    ["echo-reply", 0],
    ["destination-unreachable", 3],
    ["source-quench", 4],
    ["redirect", 5],
    ["echo-request", 8],
    ["router-advertisement", 9],
    ["router-solicitation", 10],
    ["time-exceeded", 11],
    ["parameter-problem", 12],
    ["timestamp-request", 13],
    ["timestamp-reply", 14],
    ["info-request", 15],
    ["info-reply", 16],
    ["address-mask-request", 17],
    ["address-mask-reply", 18],
  ],
  pkttype: [
    ["host", 0],
    ["broadcast", 1],
    ["multicast", 2],
    ["other", 3],
  ],
  nf_proto: [
    ["ipv4", 2],
    ["ipv6", 10],
  ],
  fib_addrtype: [
    ["unspec", 0],
    ["unicast", 1],
    ["local", 2],
    ["broadcast", 3],
    ["anycast", 4],
    ["multicast", 5],
    ["blackhole", 6],
    ["unreachable", 7],
    ["prohibit", 8],
  ],
};

/** Service names nft resolves through /etc/services (the common ones). */
const SERVICES: Record<string, number> = { ssh: 22, http: 80, https: 443, domain: 53, smtp: 25, ntp: 123, telnet: 23, ftp: 21 };

export class ValueError extends Error {}

/** What a selector reads: its type, the layer-4 protocol it depends on, and whether it needs conntrack. */
export interface SelectorDef {
  type: DataType;
  /** Payload of this transport protocol only (0: any). */
  l4?: number;
  /** th: TCP, UDP (and SCTP, DCCP, UDP-Lite) ports. */
  th?: boolean;
  ct?: boolean;
}

export const SELECTORS: Record<string, SelectorDef> = {
  "ip saddr": { type: "ipv4_addr" },
  "ip daddr": { type: "ipv4_addr" },
  "ip protocol": { type: "inet_proto" },
  "ip ttl": { type: "integer" },
  "ip length": { type: "integer" },
  "tcp sport": { type: "inet_service", l4: IPPROTO_TCP },
  "tcp dport": { type: "inet_service", l4: IPPROTO_TCP },
  "tcp flags": { type: "tcp_flag", l4: IPPROTO_TCP },
  "udp sport": { type: "inet_service", l4: IPPROTO_UDP },
  "udp dport": { type: "inet_service", l4: IPPROTO_UDP },
  "th sport": { type: "inet_service", th: true },
  "th dport": { type: "inet_service", th: true },
  "icmp type": { type: "icmp_type", l4: IPPROTO_ICMP },
  "icmp code": { type: "integer", l4: IPPROTO_ICMP },
  "meta l4proto": { type: "inet_proto" },
  "meta protocol": { type: "integer" },
  "meta nfproto": { type: "nf_proto" },
  "meta iifname": { type: "ifname" },
  "meta oifname": { type: "ifname" },
  "meta iif": { type: "iface_index" },
  "meta oif": { type: "iface_index" },
  "meta mark": { type: "mark" },
  "meta pkttype": { type: "pkttype" },
  "ct state": { type: "ct_state", ct: true },
  "ct status": { type: "ct_status", ct: true },
  "ct mark": { type: "mark", ct: true },
  "ct direction": { type: "ct_dir", ct: true },
  "ct original ip saddr": { type: "ipv4_addr", ct: true },
  "ct original ip daddr": { type: "ipv4_addr", ct: true },
  "ct reply ip saddr": { type: "ipv4_addr", ct: true },
  "ct reply ip daddr": { type: "ipv4_addr", ct: true },
  "ct original proto-src": { type: "inet_service", ct: true },
  "ct original proto-dst": { type: "inet_service", ct: true },
  "ct reply proto-src": { type: "inet_service", ct: true },
  "ct reply proto-dst": { type: "inet_service", ct: true },
  "fib daddr type": { type: "fib_addrtype" },
  "fib saddr type": { type: "fib_addrtype" },
  "fib daddr . iif type": { type: "fib_addrtype" },
  "fib saddr . iif oif": { type: "iface_index" },
  "fib daddr oif": { type: "iface_index" },
  numgen: { type: "integer" },
  jhash: { type: "integer" },
};

/** Type names as `type` in a set declaration writes them. */
export const SET_KEY_TYPES = new Set<string>(["ipv4_addr", "inet_service", "inet_proto", "mark", "ifname", "ct_state", "icmp_type", "integer", "iface_index"]);

function symbolOf(type: DataType, text: string): number | undefined {
  const tbl = SYMBOLS[type];
  if (!tbl) return undefined;
  for (const [n, v] of tbl) if (n === text) return v;
  return undefined;
}

function numberOf(text: string): number | null {
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text, 16);
  if (/^[0-9]+$/.test(text)) return Number(text);
  return null;
}

/** The error nft gives for a value that does not parse as TYPE. */
function typeError(type: DataType, text: string): ValueError {
  switch (type) {
    case "ipv4_addr":
      return new ValueError(`Could not resolve hostname: Temporary failure in name resolution`);
    case "inet_service":
      return new ValueError(`Could not resolve service: Servname not supported for ai_socktype`);
    case "inet_proto":
      return new ValueError(`Could not resolve protocol name`);
    case "ct_state":
      return new ValueError(`Could not parse conntrack state`);
    case "ct_status":
      return new ValueError(`Could not parse conntrack status`);
    default:
      return new ValueError(`Could not parse ${DESCRIPTIONS[type] ?? type}`);
  }
}

const DESCRIPTIONS: Partial<Record<DataType, string>> = {
  ct_state: "conntrack state",
  ct_status: "conntrack status",
  tcp_flag: "TCP flag",
  icmp_type: "ICMP type",
  mark: "packet mark",
  integer: "integer",
};

/** Parses one value token of a type (datatype->parse / symbolic_constant_parse). */
export function parseValue(type: DataType, text: string): NftValue {
  if (type === "ifname" || type === "iface_index") return text;
  if (type === "ipv4_addr") {
    const a = parseIPv4(text);
    if (a === null) throw typeError(type, text);
    return a >>> 0;
  }
  const sym = symbolOf(type, text);
  if (sym !== undefined) return sym;
  if (type === "inet_service" && Object.hasOwn(SERVICES, text)) return SERVICES[text]!;
  const n = numberOf(text);
  if (n === null) throw typeError(type, text);
  const bits = TYPE_BITS[type];
  if (type === "inet_service" && n > 65535) throw new ValueError("Service out of range");
  if (bits < 32 && n >= 2 ** bits) throw new ValueError(`Value ${text} exceeds valid range 0-${2 ** bits - 1}`);
  if (n > 0xffffffff) throw new ValueError(`Value ${text} exceeds valid range 0-4294967295`);
  return n;
}

/** Prints a value as nft lists it; numeric (-n) prints numbers where nft does. */
export function formatValue(type: DataType, v: NftValue, numeric = false): string {
  if (typeof v === "string") return type === "iface_index" && (v === "missing" || v === "exists") ? v : `"${v}"`;
  switch (type) {
    case "ipv4_addr":
      return formatIPv4(v);
    case "mark":
    case "ct_status":
      if (type === "ct_status") break;
      return `0x${v.toString(16).padStart(8, "0")}`;
    case "inet_service":
    case "integer":
      return String(v);
    default:
      break;
  }
  const tbl = SYMBOLS[type];
  if (tbl && !(numeric && type === "inet_proto")) {
    if (BITMASK_TYPES.has(type)) {
      const names: string[] = [];
      let rest = v;
      for (const [n, bit] of tbl) {
        if (v & bit) {
          names.push(n);
          rest &= ~bit;
        }
      }
      if (rest === 0 && names.length) return names.join(",");
    } else {
      for (const [n, val] of tbl) if (val === v) return n;
    }
  }
  return type === "tcp_flag" || type === "ct_state" ? `0x${v.toString(16)}` : String(v);
}

export function formatAtom(type: DataType, a: NftAtom, numeric = false): string {
  if (a.k === "val") return formatValue(type, a.v, numeric);
  if (a.k === "prefix") return `${formatIPv4(a.v)}/${a.len}`;
  return `${formatValue(type, a.lo, numeric)}-${formatValue(type, a.hi, numeric)}`;
}

export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}
