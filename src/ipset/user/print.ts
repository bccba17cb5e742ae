// libipset's printers (lib/print.c): elements and header fields as `ipset list` and
// `ipset save` show them, from the data blob.
import { IPPROTO_ICMP, IPPROTO_ICMPV6 } from "../consts.ts";
import { formatIPv4 } from "../../wire/ipv4.ts";
import { Opt, type UserData } from "./data.ts";
import { icmpName, protoName } from "../../wire/netdb.ts";
import type { SetType } from "../settype.ts";

export function printNumber(n: number): string {
  return String(n);
}

export function printHex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
}

/** ipset_print_ip(): IP[/cidr][-IP_TO] of IP or IP2. */
export function printIp(d: UserData, opt: Opt): string {
  const cidrOpt = opt === Opt.IP2 ? Opt.CIDR2 : Opt.CIDR;
  const cidr = d.has(cidrOpt) ? (opt === Opt.IP2 ? d.cidr2 : d.cidr) : 32;
  const suffix = cidr === 32 ? "" : `/${cidr}`;
  let out = formatIPv4(opt === Opt.IP2 ? d.ip2 : d.ip) + suffix;
  if (d.has(Opt.IP_TO)) out += `-${formatIPv4(d.ipTo)}${suffix}`;
  return out;
}

/** ipset_print_port() */
export function printPort(d: UserData): string {
  return d.has(Opt.PORT_TO) ? `${d.port}-${d.portTo}` : String(d.port);
}

/** ipset_print_proto_port() */
export function printProtoPort(d: UserData): string {
  if (!d.has(Opt.PROTO)) return printPort(d);
  const name = protoName(d.proto) ?? String(d.proto);
  if (d.proto === IPPROTO_ICMP || d.proto === IPPROTO_ICMPV6) {
    return `${name}:${icmpName(d.port) ?? `${d.port >> 8}/${d.port & 0xff}`}`;
  }
  return `${name}:${printPort(d)}`;
}

/** ipset_print_iface() */
export function printIface(d: UserData): string {
  return (d.has(Opt.PHYSDEV) ? "physdev:" : "") + d.iface;
}

/** ipset_print_name(): a list:set member, with its reference ("after": the before flag sits where the printer does not look). */
export function printName(d: UserData): string {
  if (!d.has(Opt.NAMEREF)) return d.name;
  return `${d.name} after ${d.nameref}`;
}

export function printComment(d: UserData): string {
  return `"${d.comment}"`;
}

/** ipset_print_elem(): the dimensions joined by commas. */
export function printElem(type: SetType, d: UserData): string {
  return type.user.elem.map((e) => e.print(d, e.opt)).join(",");
}
