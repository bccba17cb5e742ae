// libipset's parsers (lib/parse.c), IPv4 only: numbers, addresses with /cidr or ranges,
// [PROTO:]PORT, ICMP names, interfaces, names. Errors are thrown with ipset's wording;
// where libipset piles up warnings before failing, the message keeps all its lines.
import { IpsetError, syntaxError } from "../errors.ts";
import { IFNAMSIZ, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPSET_MAXNAMELEN, IPSET_MAX_COMMENT_SIZE, IPSET_MAX_TIMEOUT } from "../consts.ts";
import { Opt, UserData, NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_UNSPEC } from "./data.ts";
import { icmpByName, protoByName, protoName, serviceByName } from "../../wire/netdb.ts";

const ULLONG_MAX = (1n << 64n) - 1n;

/** strtoull(str, &end, 0) accepting only a fully consumed number. */
function strtoull(str: string): { value: bigint; range: boolean } | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(str);
  if (!m) return null;
  let v = BigInt(m[2]!.length > 1 && m[2]![0] === "0" && !/[xX]/.test(m[2]!) ? `0o${m[2]!.slice(1)}` : m[2]!);
  const range = v > ULLONG_MAX;
  if (m[1] === "-") v = (ULLONG_MAX + 1n - v) & ULLONG_MAX;
  return { value: v, range };
}

/** string_to_number_ll(): the message it reports, or the number. */
export function numberOrError(str: string, min: bigint, max: bigint): bigint | string {
  const n = strtoull(str);
  if (n && !n.range && n.value >= min && (max === 0n || n.value <= max)) return n.value;
  if (n) return `Syntax error: '${str}' is out of range ${min}-${max === 0n ? ULLONG_MAX : max}`;
  return `Syntax error: '${str}' is invalid as number`;
}

export function parseNumber(str: string, min: number, max: number): number {
  const v = numberOrError(str, BigInt(min), BigInt(max));
  if (typeof v === "string") throw new IpsetError(v);
  return Number(v);
}

/** string_to_cidr() */
function parseCidr(str: string, min: number, max: number): number {
  const v = parseNumber(str, 0, 255);
  if (v < min || v > max) throw syntaxError(`'${str}' is out of range ${min}-${max}`);
  return v;
}

/** ipset_strchr(): a separator that is neither first nor last. */
export function sepIndex(str: string, sep: string): number {
  const i = str.indexOf(sep);
  if (i < 0 || str[0] === sep || str[str.length - 1] === sep) return -1;
  return i;
}

/** escape_range_separator(): whether str holds a (possibly [escaped]) range. */
function hasRange(str: string): boolean {
  if (str.startsWith("[")) {
    const end = str.indexOf("]");
    if (end < 0) return false;
    return sepIndex(str.slice(end), "-") >= 0;
  }
  return sepIndex(str, "-") >= 0;
}

/** find_range_separator(): index of the range dash, -1 when none. */
function findRange(str: string): number {
  if (str.startsWith("[")) {
    const esc = str.indexOf("]");
    if (esc < 0) throw syntaxError(`cannot find closing escape character ']' in ${str}`);
    if (esc === str.length - 1) return -1;
    if (str[esc + 1] !== "-") throw syntaxError(`range separator expected after '${str.slice(0, esc + 1)}'`);
    return esc + 1;
  }
  return sepIndex(str, "-");
}

function stripEscape(str: string): string {
  if (!str.startsWith("[")) return str;
  if (!str.endsWith("]")) throw syntaxError(`cannot find closing escape character ']' in ${str}`);
  return str.slice(1, -1);
}

/** inet_aton(): a, a.b, a.b.c or a.b.c.d with decimal, octal (0..) parts. */
function inetAton(s: string): number | null {
  const parts = s.split(".");
  if (parts.length > 4) return null;
  const vals: number[] = [];
  for (const p of parts) {
    if (!/^(0[0-7]*|[1-9][0-9]*)$/.test(p)) return null;
    vals.push(p.length > 1 && p[0] === "0" ? parseInt(p, 8) : Number(p));
  }
  const last = vals.pop()!;
  for (const v of vals) if (v > 255) return null;
  if (last >= 2 ** (8 * (4 - vals.length))) return null;
  let addr = 0;
  for (let i = 0; i < vals.length; i++) addr += vals[i]! * 2 ** (24 - 8 * i);
  return addr + last;
}

/** gethostbyname2(str, AF_INET): numbers-and-dots via inet_aton, else /etc/hosts. */
export function resolveIPv4(str: string): number {
  if (/^[0-9.]+$/.test(str) && !str.endsWith(".")) {
    const a = inetAton(str);
    if (a !== null) return a;
  } else if (str === "localhost" || str === "localhost.localdomain") return 0x7f000001;
  throw syntaxError(`cannot parse ${str}: resolving to IPv4 address failed`);
}

/** parse_ipaddr(): IP, IP/cidr or IP-IP into opt (IP or IP2) and its cidr/range options. */
function parseIpaddr(d: UserData, opt: Opt, str: string): void {
  const cidrOpt = opt === Opt.IP ? Opt.CIDR : Opt.CIDR2;
  const toOpt = opt === Opt.IP ? Opt.IP_TO : Opt.IP2_TO;
  let tmp = str;
  let range: string | null = null;
  const slash = sepIndex(tmp, "/");
  if (slash >= 0) {
    const m = parseCidr(tmp.slice(slash + 1), 0, 32);
    setIp(d, cidrOpt, m);
    tmp = tmp.slice(0, slash);
  } else {
    const dash = findRange(tmp);
    if (dash >= 0) {
      range = tmp.slice(dash + 1);
      tmp = tmp.slice(0, dash);
    }
  }
  setIp(d, opt, resolveIPv4(stripEscape(tmp)));
  if (range !== null) setIp(d, toOpt, resolveIPv4(stripEscape(range)));
}

function setIp(d: UserData, opt: Opt, v: number): void {
  if (opt === Opt.IP) d.ip = v;
  else if (opt === Opt.IP_TO) d.ipTo = v;
  else if (opt === Opt.CIDR) d.cidr = v;
  else if (opt === Opt.IP2) d.ip2 = v;
  else if (opt === Opt.IP2_TO) d.ip2To = v;
  else if (opt === Opt.CIDR2) d.cidr2 = v;
  d.flag(opt);
}

function inetFamily(d: UserData): void {
  if (d.family === NFPROTO_UNSPEC) {
    d.family = NFPROTO_IPV4;
    d.flag(Opt.FAMILY);
  }
}

type AddrType = "any" | "plain";

function parseIp(d: UserData, opt: Opt, str: string, type: AddrType): void {
  inetFamily(d);
  if (type === "plain" && (hasRange(str) || (sepIndex(str, "/") >= 0 && !str.endsWith("/32")))) {
    throw syntaxError(`plain IP address must be supplied: ${str}`);
  }
  parseIpaddr(d, opt, str);
}

/** ipset_parse_ip / ipset_parse_ip4_single6 / ipset_parse_ip4_net6 for inet. */
export function parseAnyIp(d: UserData, opt: Opt, str: string): void {
  parseIp(d, opt, str, "any");
}

/** ipset_parse_single_ip() */
export function parseSingleIp(d: UserData, opt: Opt, str: string): void {
  parseIp(d, opt, str, "plain");
}

/** ipset_parse_netrange(): the bitmap:ip "range" option. */
export function parseNetrange(d: UserData, opt: Opt, str: string): void {
  if (!(hasRange(str) || sepIndex(str, "/") >= 0)) throw syntaxError(`IP/cidr or IP-IP range must be specified: ${str}`);
  parseIp(d, opt, str, "any");
}

/** parse_port(): a number or a service name of proto; libipset's piled-up lines on failure. */
function parsePort(str: string, proto: string): number {
  const n = numberOrError(str, 0n, 65535n);
  if (typeof n !== "string") return Number(n);
  const lines = [n];
  let protoname = proto;
  const pn = numberOrError(proto, 0n, 255n);
  if (typeof pn === "string") lines.push(pn);
  else protoname = protoName(Number(pn)) ?? "";
  const name = str.startsWith("[") && str.endsWith("]") ? str.slice(1, -1) : str;
  const port = protoname ? serviceByName(name, protoname) : null;
  if (port !== null) return port;
  lines.push(`cannot parse '${str}' as a ${proto} port`);
  throw new IpsetError(lines.join("\n"));
}

/** ipset_parse_tcpudp_port(): PORT or PORT-PORT. */
function parseTcpudpPort(d: UserData, str: string, proto: string): void {
  const dash = findRange(str);
  if (dash >= 0) {
    d.portTo = parsePort(str.slice(dash + 1), proto);
    d.flag(Opt.PORT_TO);
    str = str.slice(0, dash);
  }
  d.port = parsePort(str, proto);
  d.flag(Opt.PORT);
}

/** ipset_parse_proto() */
function parseProto(d: UserData, str: string): void {
  const n = numberOrError(str, 0n, 255n);
  if (typeof n !== "string") {
    d.proto = Number(n);
  } else {
    const p = protoByName(str.toLowerCase() === "icmpv6" ? "ipv6-icmp" : str);
    if (p === null) throw syntaxError(`cannot parse '${str}' as a protocol`);
    if (!p) throw syntaxError(`Unsupported protocol '${str}'`);
    d.proto = p;
  }
  d.flag(Opt.PROTO);
}

/** ipset_parse_icmp() */
function parseIcmp(d: UserData, str: string): void {
  let tc = icmpByName(str);
  if (tc === null) {
    const slash = sepIndex(str, "/");
    if (slash < 0) throw new IpsetError(`Cannot parse ${str} as an ICMP type/code.`);
    tc = (parseNumber(str.slice(0, slash), 0, 255) << 8) | parseNumber(str.slice(slash + 1), 0, 255);
  }
  d.port = tc;
  d.flag(Opt.PORT);
}

/** ipset_parse_proto_port(): [PROTO:]PORT, ICMP type names, PROTO:0. */
export function parseProtoPort(d: UserData, _opt: Opt, str: string): void {
  const colon = sepIndex(str, ":");
  if (colon < 0) {
    d.proto = IPPROTO_TCP;
    d.flag(Opt.PROTO);
    parseTcpudpPort(d, str, "tcp");
    return;
  }
  const proto = str.slice(0, colon);
  const rest = str.slice(colon + 1);
  parseProto(d, proto);
  switch (d.proto) {
    case IPPROTO_TCP:
    case IPPROTO_SCTP:
    case IPPROTO_UDP:
    case IPPROTO_UDPLITE:
      parseTcpudpPort(d, rest, proto);
      return;
    case IPPROTO_ICMP:
      if (d.family !== NFPROTO_IPV4) throw syntaxError("Protocol ICMP can be used with family inet only");
      parseIcmp(d, rest);
      return;
    case IPPROTO_ICMPV6:
      if (d.family !== NFPROTO_IPV6) {
        throw new IpsetError("Syntax error: Protocol ICMPv6 can be used with family inet6 only\nInvalid add command: missing setname");
      }
      return;
    default:
      if (rest !== "0") throw syntaxError(`Protocol ${proto} can be used with pseudo port value 0 only.`);
      d.flag(Opt.PORT);
  }
}

/** ipset_parse_tcp_udp_port(): bitmap:port elements, [tcp|udp:]PORT[-PORT]. */
export function parseTcpUdpPort(d: UserData, opt: Opt, str: string): void {
  parseProtoPort(d, opt, str);
  if (d.proto !== IPPROTO_TCP && d.proto !== IPPROTO_UDP) throw syntaxError("Only protocols TCP and UDP are valid");
  d.unflag(Opt.PROTO);
}

/** ipset_parse_iface() */
export function parseIface(d: UserData, _opt: Opt, str: string): void {
  let name = str;
  if (str.startsWith("physdev:")) {
    name = str.slice(8);
    d.setCadt(Opt.PHYSDEV);
  }
  if (Buffer.byteLength(name, "utf8") > IFNAMSIZ - 1) throw syntaxError(`interface name '${name}' is longer than ${IFNAMSIZ - 1} characters`);
  d.iface = name;
  d.flag(Opt.IFACE);
}

function checkSetname(str: string): void {
  if (Buffer.byteLength(str, "utf8") > IPSET_MAXNAMELEN - 1) throw syntaxError(`setname '${str}' is longer than ${IPSET_MAXNAMELEN - 1} characters`);
}

/** ipset_parse_setname() into SETNAME, SETNAME2 or NAME. */
export function parseSetname(d: UserData, opt: Opt, str: string): void {
  checkSetname(str);
  if (opt === Opt.SETNAME) d.setname = str;
  else if (opt === Opt.SETNAME2) d.setname2 = str;
  else d.name = str;
  d.flag(opt);
}

/** ipset_parse_name_compat(): list:set "NAME,before|after,NAME". */
export function parseNameCompat(d: UserData, _opt: Opt, str: string): void {
  const a = sepIndex(str, ",");
  if (a < 0) return parseSetname(d, Opt.NAME, str);
  const rest = str.slice(a + 1);
  const b = sepIndex(rest, ",");
  const where = b < 0 ? rest : rest.slice(0, b);
  if (b < 0 || (where !== "before" && where !== "after")) {
    throw new IpsetError("you must specify elements as setname,[before|after],setname");
  }
  parseSetname(d, Opt.NAME, str.slice(0, a));
  const ref = rest.slice(b + 1);
  checkSetname(ref);
  d.nameref = ref;
  d.flag(Opt.NAMEREF);
  if (where === "before") d.setCadt(Opt.BEFORE);
}

/** ipset_parse_before / ipset_parse_after */
export function parseBefore(d: UserData, _opt: Opt, str: string): void {
  if (d.has(Opt.NAMEREF)) throw syntaxError("mixed syntax, before|after option already used");
  checkSetname(str);
  d.setCadt(Opt.BEFORE);
  d.nameref = str;
  d.flag(Opt.NAMEREF);
}

export function parseAfter(d: UserData, _opt: Opt, str: string): void {
  if (d.has(Opt.NAMEREF)) throw syntaxError("mixed syntax, before|after option already used");
  checkSetname(str);
  d.nameref = str;
  d.flag(Opt.NAMEREF);
}

/** ipset_parse_family() */
export function parseFamily(d: UserData, _opt: Opt, str: string): void {
  if (str === "inet" || str === "ipv4" || str === "-4") d.family = NFPROTO_IPV4;
  else if (str === "inet6" || str === "ipv6" || str === "-6") d.family = NFPROTO_IPV6;
  else if (str === "any" || str === "unspec") d.family = NFPROTO_UNSPEC;
  else throw syntaxError(`unknown inet family ${str}`);
  d.flag(Opt.FAMILY);
}

/** ipset_parse_timeout() */
export function parseTimeout(d: UserData, _opt: Opt, str: string): void {
  d.timeout = parseNumber(str, 0, IPSET_MAX_TIMEOUT);
  d.flag(Opt.TIMEOUT);
}

/** ipset_parse_netmask() */
export function parseNetmask(d: UserData, _opt: Opt, str: string): void {
  inetFamily(d);
  try {
    d.netmask = parseCidr(str, 1, 32);
  } catch (e) {
    if (!(e instanceof IpsetError)) throw e;
    throw new IpsetError(`${e.message}\nSyntax error: netmask is out of the inclusive range of 1-32`);
  }
  d.flag(Opt.NETMASK);
}

/** ipset_parse_comment() */
export function parseComment(d: UserData, _opt: Opt, str: string): void {
  if (str.includes('"')) throw syntaxError('" character is not permitted in comments');
  if (Buffer.byteLength(str, "utf8") > IPSET_MAX_COMMENT_SIZE) throw syntaxError(`Comment is longer than the maximum allowed ${IPSET_MAX_COMMENT_SIZE} characters`);
  d.comment = str;
  d.flag(Opt.ADT_COMMENT);
}
