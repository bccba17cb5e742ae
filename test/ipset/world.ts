// Small helpers for the ipset tests: a host with the ipset layer, ipset lines run as a
// user types them, packets built field by field, addresses as text.
import { Host } from "../../src/host.ts";
import { ipsetLayer } from "../../src/ipset/api.ts";
import type { IpsetRuntime } from "../../src/ipset/store.ts";
import { coreLayer } from "../../src/commands/layer.ts";
import { blankPacket, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, type Packet } from "../../src/wire/packet.ts";
import { formatIPv4, parseIPv4 } from "../../src/wire/ipv4.ts";

/** The ipset layer's runtime of each test host (what the layer's install returns). */
export const ipsetOf = new Map<Host, IpsetRuntime>();

export function ipsetHost(): Host {
  const host = new Host({ layers: [coreLayer] });
  ipsetOf.set(host, ipsetLayer.install(host));
  return host;
}

/** Runs ipset lines; returns what they printed. Throws ToolError like the shell would. */
export function sh(host: Host, ...lines: string[]): string {
  let out = "";
  for (const l of lines) for (const o of host.exec(l)) out += o.stdout;
  return out;
}

export function ip(text: string): number {
  const v = parseIPv4(text);
  if (v === null) throw new Error(`bad address ${text}`);
  return v;
}

export const fmt = formatIPv4;

export interface PacketSpec {
  src: number;
  dst: number;
  proto?: number;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  len?: number;
}

export function packet(p: PacketSpec): Packet {
  const k = blankPacket();
  k.saddr = p.src;
  k.daddr = p.dst;
  k.proto = p.proto ?? IPPROTO_TCP;
  k.sport = p.sport ?? 40000;
  k.dport = p.dport ?? 80;
  k.icmpType = p.icmpType ?? 0;
  k.icmpCode = p.icmpCode ?? 0;
  k.len = p.len ?? 60;
  return k;
}

export const PROTO_NAMES: Record<number, string> = { [IPPROTO_TCP]: "tcp", [IPPROTO_UDP]: "udp", [IPPROTO_ICMP]: "icmp" };

export function maskOf(cidr: number): number {
  return cidr === 0 ? 0 : (0xffffffff << (32 - cidr)) >>> 0;
}

export function inNet(addr: number, net: number, cidr: number): boolean {
  return ((addr & maskOf(cidr)) >>> 0) === ((net & maskOf(cidr)) >>> 0);
}
