// The interface every match and target extension fills in (libxt_*.c + xt_*.c in one):
// parse its options, save and list them as iptables prints them, compile to a function.
import type { Packet } from "../wire/packet.ts";
import type { HookState } from "../dataplane/hooks.ts";
import type { MatchSpec, RuleConfig, TableName, TargetSpec } from "./types.ts";
import type { NetfilterRuntime } from "./runtime.ts";
import { serviceByName } from "../wire/netdb.ts";

export class ParseError extends Error {
  /** xtables_error() from an extension prints an empty line before the usage hint. */
  constructor(
    message: string,
    readonly blank = false,
    /** iptables' exit status: PARAMETER_PROBLEM (2), or OTHER_PROBLEM (3) for a missing table. */
    readonly status = 2,
  ) {
    super(message);
  }
}

export interface OptionDef {
  /** Takes a value. */
  arg: boolean;
  invertible?: boolean;
  /** Takes two values (--tcp-flags MASK COMP); they reach parse joined by a space. */
  twoArgs?: boolean;
}

/** What compiled matches and targets can reach when they run. */
export interface CompileCtx {
  rt: NetfilterRuntime;
  ns: string;
  table: TableName;
}

export type MatchFn = (pkt: Packet, st: HookState) => boolean;

export interface MatchExt {
  name: string;
  options: Record<string, OptionDef>;
  /** Records one option into spec.opts; throws ParseError with iptables' wording. */
  parse(spec: MatchSpec, opt: string, value: string | null, inv: boolean, rule: RuleConfig): void;
  /** xtables' final check of the options alone (XTOPT_MAND): at parse time, before the table is read. */
  final?(spec: MatchSpec): void;
  /** Checks the whole match once all options are read. */
  check?(spec: MatchSpec, rule: RuleConfig, ctx: CheckCtx): void;
  /** iptables-save form of the options, after "-m NAME". */
  save(spec: MatchSpec): string;
  /** iptables -L form. */
  list(spec: MatchSpec, numeric: boolean): string;
  compile(spec: MatchSpec, ctx: CompileCtx): MatchFn;
  /** The match needs connection tracking (nf_ct_netns_get). */
  conntrack?: boolean;
}

/** What a target returns to the walker. */
export const enum TV {
  Accept = 1,
  Drop = 0,
  /** Non-terminal: go on with the next rule. */
  Continue = -1,
  Return = -2,
  Stolen = 2,
}

export type TargetFn = (pkt: Packet, st: HookState) => TV;

export interface CheckCtx {
  table: TableName;
  chain: string;
  /** The hook chains the rule can be reached from (for "only valid in" checks). */
  lookupSet?: (name: string) => boolean;
}

export interface TargetExt {
  name: string;
  options: Record<string, OptionDef>;
  parse(spec: TargetSpec, opt: string, value: string | null, inv: boolean): void;
  check?(spec: TargetSpec, rule: RuleConfig, ctx: CheckCtx): void;
  save(spec: TargetSpec): string;
  list(spec: TargetSpec, numeric: boolean): string;
  compile(spec: TargetSpec, ctx: CompileCtx): TargetFn;
  conntrack?: boolean;
  /** Valid only in these tables (e.g. DNAT: nat). */
  tables?: TableName[];
  /** Valid only in these built-in chains (xt_target.hooks). */
  chains?: string[];
}

export function num(v: unknown): number {
  return typeof v === "number" ? v : Number(v);
}

/**
 * "80", "80:90", ":90", "80:", "ssh", "ssh:http" -> [lo, hi], as xtables_parse_port() and
 * parse_tcp_ports(): a number, else a service name of `proto` (getservbyname); with
 * `ordered`, a range whose low end is above its high end is refused.
 */
export function parsePortRange(text: string, what = "port", proto: string | null = null, ordered = false): [number, number] {
  const m = /^([^:]*)(?::([^:]*))?$/.exec(text);
  if (!m) throw new ParseError(`invalid ${what}/service \`${text}' specified`);
  const one = (p: string): number => {
    if (/^\d+$/.test(p) && Number(p) <= 65535) return Number(p);
    // xtables_service_to_port(): the protocol's entry, else (as measured) any protocol's.
    const n = proto !== null ? (serviceByName(p, proto) ?? serviceByName(p, "tcp") ?? serviceByName(p, "udp")) : null;
    if (n === null) throw new ParseError(`invalid ${what}/service \`${p}' specified`);
    return n;
  };
  if (m[2] === undefined) {
    const p = one(m[1]!);
    return [p, p];
  }
  const lo = m[1] === "" ? 0 : one(m[1]!);
  const hi = m[2] === "" ? 65535 : one(m[2]!);
  if (ordered && lo > hi) throw new ParseError("invalid portrange (min > max)");
  return [lo, hi];
}

/** The /etc/services names (Debian's netbase) that -L without -n prints for common ports. */
const SERVICES: Record<number, string> = {
  20: "ftp-data", 21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 53: "domain", 67: "bootps", 68: "bootpc", 69: "tftp",
  80: "http", 110: "pop3", 123: "ntp", 143: "imap2", 161: "snmp", 179: "bgp", 389: "ldap", 443: "https", 465: "submissions",
  514: "syslog", 587: "submission", 636: "ldaps", 993: "imaps", 995: "pop3s", 1194: "openvpn", 2049: "nfs", 3306: "mysql",
  4789: "4789", 5432: "postgresql", 6443: "6443", 8080: "http-alt", 8081: "tproxy",
};

export function portName(port: number, numeric: boolean): string {
  return numeric ? String(port) : (SERVICES[port] ?? String(port));
}

export function formatPortRange(r: [number, number]): string {
  return r[0] === r[1] ? String(r[0]) : `${r[0]}:${r[1]}`;
}

/** xtables_save_string(): quote when the string has anything but safe characters. */
export function saveString(s: string): string {
  if (/^[A-Za-z0-9_.:\/\-+=@,]+$/.test(s)) return s;
  return `"${s.replace(/(["\\])/g, "\\$1")}"`;
}

export function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16);
}

export function parseMarkValue(text: string): [number, number] | null {
  const m = /^(0x[0-9a-fA-F]+|\d+)(?:\/(0x[0-9a-fA-F]+|\d+))?$/.exec(text);
  if (!m) return null;
  const v = Number(m[1]);
  const mask = m[2] === undefined ? 0xffffffff : Number(m[2]);
  if (v > 0xffffffff || mask > 0xffffffff) return null;
  return [v >>> 0, mask >>> 0];
}
