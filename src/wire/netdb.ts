// Name tables the tools (ipset, iptables, ipvsadm) resolve through libc: getprotobyname() (/etc/protocols),
// getservbyname() (/etc/services, netbase), and libipset's ICMP names (lib/icmp.c).
import { SERVICES } from "./services.ts";

/** /etc/protocols: [name, number, aliases]. */
const PROTOCOLS: readonly [string, number, readonly string[]][] = [
  ["ip", 0, ["IP"]],
  ["hopopt", 0, ["HOPOPT"]],
  ["icmp", 1, ["ICMP"]],
  ["igmp", 2, ["IGMP"]],
  ["ggp", 3, ["GGP"]],
  ["ipencap", 4, ["IP-ENCAP"]],
  ["st", 5, ["ST"]],
  ["tcp", 6, ["TCP"]],
  ["egp", 8, ["EGP"]],
  ["igp", 9, ["IGP"]],
  ["pup", 12, ["PUP"]],
  ["udp", 17, ["UDP"]],
  ["hmp", 20, ["HMP"]],
  ["xns-idp", 22, ["XNS-IDP"]],
  ["rdp", 27, ["RDP"]],
  ["iso-tp4", 29, ["ISO-TP4"]],
  ["dccp", 33, ["DCCP"]],
  ["xtp", 36, ["XTP"]],
  ["ddp", 37, ["DDP"]],
  ["idpr-cmtp", 38, ["IDPR-CMTP"]],
  ["ipv6", 41, ["IPv6"]],
  ["ipv6-route", 43, ["IPv6-Route"]],
  ["ipv6-frag", 44, ["IPv6-Frag"]],
  ["idrp", 45, ["IDRP"]],
  ["rsvp", 46, ["RSVP"]],
  ["gre", 47, ["GRE"]],
  ["esp", 50, ["IPSEC-ESP"]],
  ["ah", 51, ["IPSEC-AH"]],
  ["skip", 57, ["SKIP"]],
  ["ipv6-icmp", 58, ["IPv6-ICMP"]],
  ["ipv6-nonxt", 59, ["IPv6-NoNxt"]],
  ["ipv6-opts", 60, ["IPv6-Opts"]],
  ["rspf", 73, ["RSPF", "CPHB"]],
  ["vmtp", 81, ["VMTP"]],
  ["eigrp", 88, ["EIGRP"]],
  ["ospf", 89, ["OSPFIGP"]],
  ["ax.25", 93, ["AX.25"]],
  ["ipip", 94, ["IPIP"]],
  ["etherip", 97, ["ETHERIP"]],
  ["encap", 98, ["ENCAP"]],
  ["pim", 103, ["PIM"]],
  ["ipcomp", 108, ["IPCOMP"]],
  ["vrrp", 112, ["VRRP"]],
  ["l2tp", 115, ["L2TP"]],
  ["isis", 124, ["ISIS"]],
  ["sctp", 132, ["SCTP"]],
  ["fc", 133, ["FC"]],
  ["mobility-header", 135, ["Mobility-Header"]],
  ["udplite", 136, ["UDPLite"]],
  ["mpls-in-ip", 137, ["MPLS-in-IP"]],
  ["manet", 138, []],
  ["hip", 139, ["HIP"]],
  ["shim6", 140, ["Shim6"]],
  ["wesp", 141, ["WESP"]],
  ["rohc", 142, ["ROHC"]],
  ["ethernet", 143, ["Ethernet"]],
  ["mptcp", 262, ["MPTCP"]],
];


/** getprotobyname(): name or alias to number, null when unknown. */
export function protoByName(name: string): number | null {
  for (const [n, num, aliases] of PROTOCOLS) if (n === name || aliases.includes(name)) return num;
  return null;
}

/** getprotobynumber()->p_name, null when unknown. */
export function protoName(num: number): string | null {
  for (const [n, p] of PROTOCOLS) if (p === num) return n;
  return null;
}

let services: Map<string, number> | null = null;

/** getservbyname(name, proto): the port, null when unknown. */
export function serviceByName(name: string, proto: string): number | null {
  if (!services) {
    services = new Map();
    for (const line of SERVICES.split("\n")) {
      const f = line.split(" ");
      if (f.length < 2) continue;
      const [port, p] = f[1]!.split("/");
      for (const n of [f[0]!, ...f.slice(2)]) if (!services.has(`${n}/${p}`)) services.set(`${n}/${p}`, Number(port));
    }
  }
  return services.get(`${name}/${proto}`) ?? null;
}

/** lib/icmp.c icmp_typecodes[] */
const ICMP_NAMES: readonly [string, number, number][] = [
  ["echo-reply", 0, 0],
  ["pong", 0, 0],
  ["network-unreachable", 3, 0],
  ["host-unreachable", 3, 1],
  ["protocol-unreachable", 3, 2],
  ["port-unreachable", 3, 3],
  ["fragmentation-needed", 3, 4],
  ["source-route-failed", 3, 5],
  ["network-unknown", 3, 6],
  ["host-unknown", 3, 7],
  ["network-prohibited", 3, 9],
  ["host-prohibited", 3, 10],
  ["TOS-network-unreachable", 3, 11],
  ["TOS-host-unreachable", 3, 12],
  ["communication-prohibited", 3, 13],
  ["host-precedence-violation", 3, 14],
  ["precedence-cutoff", 3, 15],
  ["source-quench", 4, 0],
  ["network-redirect", 5, 0],
  ["host-redirect", 5, 1],
  ["TOS-network-redirect", 5, 2],
  ["TOS-host-redirect", 5, 3],
  ["echo-request", 8, 0],
  ["ping", 8, 0],
  ["router-advertisement", 9, 0],
  ["router-solicitation", 10, 0],
  ["ttl-zero-during-transit", 11, 0],
  ["ttl-zero-during-reassembly", 11, 1],
  ["ip-header-bad", 12, 0],
  ["required-option-missing", 12, 1],
  ["timestamp-request", 13, 0],
  ["timestamp-reply", 14, 0],
  ["address-mask-request", 17, 0],
  ["address-mask-reply", 18, 0],
];

/** name_to_icmp(): the first name the text is a case-insensitive prefix of. */
export function icmpByName(text: string): number | null {
  const t = text.toLowerCase();
  for (const [n, type, code] of ICMP_NAMES) if (n.toLowerCase().startsWith(t)) return (type << 8) | code;
  return null;
}

/** icmp_to_name() */
export function icmpName(typecode: number): string | null {
  for (const [n, type, code] of ICMP_NAMES) if (type === typecode >> 8 && code === (typecode & 0xff)) return n;
  return null;
}
