// ipvsadm 1.31's command line (popt): commands, the virtual service, real-server options.
import { ToolError } from "../../tool/tool.ts";
import { serviceKey } from "../config.ts";
import { parseIPv4 } from "../../wire/ipv4.ts";
import { serviceByName } from "../../wire/netdb.ts";
import { IPPROTO_TCP, IPPROTO_UDP } from "../../wire/packet.ts";
import { IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, IP_VS_SVC_F_SCHED3, type FwdMethod } from "../types.ts";

export type Cmd = "A" | "E" | "D" | "C" | "R" | "S" | "a" | "e" | "d" | "L" | "Z" | "set" | "h" | "v";

export interface Parsed {
  cmd: Cmd | null;
  proto: number;
  vaddr: number;
  vport: number;
  fwmark: number;
  hasService: boolean;
  sched: string | null;
  persistent: number | null;
  netmask: number | null;
  schedFlags: number | null;
  ops: boolean;
  raddr: number | null;
  rport: number;
  fwd: FwdMethod | null;
  weight: number | null;
  uThr: number | null;
  lThr: number | null;
  numeric: boolean;
  connections: boolean;
  stats: boolean;
  rate: boolean;
  exact: boolean;
  thresholds: boolean;
  persistentConn: boolean;
  timeoutList: boolean;
  sort: boolean;
  set: [number, number, number] | null;
}

export const fail = (msg: string) => new ToolError(msg);

// ipvsadm.c parse_service(): the port is a number, else a service name of the service's
// protocol (service_to_port(), getservbyname).
function hostPort(text: string, what: string, needPort: boolean, proto: number = IPPROTO_TCP): [number, number] {
  const m = /^([0-9.]+)(?::([^:]+))?$/.exec(text);
  const addr = m ? parseIPv4(m[1]!) : null;
  if (!m || addr === null) throw fail(`illegal ${what} address[:port] specified`);
  let port = 0;
  if (m[2] !== undefined) {
    const named = /^\d+$/.test(m[2]) ? null : serviceByName(m[2], proto === IPPROTO_UDP ? "udp" : "tcp");
    port = /^\d+$/.test(m[2]) ? Number(m[2]) : (named ?? -1);
  }
  if (port < 0 || port > 65535) throw fail(`illegal ${what} address[:port] specified`);
  if (needPort && m[2] === undefined) return [addr, 0];
  return [addr, port];
}

/** What process_options() starts from: no command, weight and forwarding unset (defaults later). */
export function emptyParsed(): Parsed {
  return {
    cmd: null,
    proto: 0,
    vaddr: 0,
    vport: 0,
    fwmark: 0,
    hasService: false,
    sched: null,
    persistent: null,
    netmask: null,
    schedFlags: null,
    ops: false,
    raddr: null,
    rport: 0,
    fwd: null,
    weight: null,
    uThr: null,
    lThr: null,
    numeric: false,
    connections: false,
    stats: false,
    rate: false,
    exact: false,
    thresholds: false,
    persistentConn: false,
    timeoutList: false,
    sort: true,
    set: null,
  };
}

/** parse_options()' working state: the words and where popt stands. */
interface ParseState {
  args: string[];
  i: number;
  p: Parsed;
}

/** An option's handler; `opt` is how it is named in messages (its short form when it has one). */
type Handler = (st: ParseState, opt: string) => void;

/** poptGetOptArg(): the option's argument, the next word. */
function optArg(st: ParseState, opt: string): string {
  const v = st.args[++st.i];
  if (v === undefined) throw fail(`${opt}: missing argument`);
  return v;
}

/** set_command(): one command a line (the same one twice is the same command). */
function command(cmd: Cmd): Handler {
  return (st) => {
    if (st.p.cmd && st.p.cmd !== cmd) throw fail("You may specify only one command");
    st.p.cmd = cmd;
  };
}

/** --set TCP TCPFIN UDP: the three timeouts (parse_timeout()). */
function optSet(st: ParseState, opt: string): void {
  command("set")(st, opt);
  const t = [optArg(st, opt), optArg(st, opt), optArg(st, opt)].map((x) => {
    if (!/^\d+$/.test(x)) throw fail("illegal timeout specified");
    return Number(x);
  });
  st.p.set = t as [number, number, number];
}

/** -t / -u / --sctp-service ADDR[:PORT]: the virtual service (parse_service()). */
function service(proto: number): Handler {
  return (st, opt) => {
    const [addr, port] = hostPort(optArg(st, opt), "virtual server", true, proto === IPPROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP);
    st.p.proto = proto;
    st.p.vaddr = addr;
    st.p.vport = port;
    st.p.hasService = true;
  };
}

/** -f MARK: a firewall-mark service (parse_fwmark()). */
function optFwmark(st: ParseState, opt: string): void {
  const v = optArg(st, opt);
  if (!/^\d+$/.test(v) || Number(v) === 0) throw fail("illegal virtual server fwmark specified");
  st.p.fwmark = Number(v);
  st.p.hasService = true;
}

/** -p [TIMEOUT]: persistence, 300 seconds unless a number follows. */
function optPersistent(st: ParseState): void {
  const next = st.args[st.i + 1];
  if (next === undefined || !/^\d+$/.test(next)) {
    st.p.persistent = 300;
    return;
  }
  st.p.persistent = Number(next);
  st.i++;
  if (st.p.persistent < 1) throw fail("illegal timeout for persistent service specified");
}

/** -M MASK: a dotted netmask or a prefix length (parse_netmask()). */
function optNetmask(st: ParseState, opt: string): void {
  const v = optArg(st, opt);
  const len = /^\d+$/.test(v) && Number(v) <= 32 ? Number(v) : null;
  const m = parseIPv4(v) ?? (len === null ? null : len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
  if (m === null) throw fail("illegal virtual server persistent mask specified");
  st.p.netmask = m;
}

/** -b FLAG[,FLAG]: the scheduler's flags (parse_sched_flags()). */
function optSchedFlags(st: ParseState, opt: string): void {
  let f = 0;
  for (const flag of optArg(st, opt).split(",")) {
    if (flag === "sh-fallback" || flag === "mh-fallback" || flag === "flag-1") f |= IP_VS_SVC_F_SCHED1;
    else if (flag === "sh-port" || flag === "mh-port" || flag === "flag-2") f |= IP_VS_SVC_F_SCHED2;
    else if (flag === "flag-3") f |= IP_VS_SVC_F_SCHED3;
    else throw fail(`invalid scheduling flag: ${flag}`);
  }
  st.p.schedFlags = f;
}

/** -r ADDR[:PORT]: the real server; a service name is looked up for the service's protocol. */
function optRealServer(st: ParseState, opt: string): void {
  const [addr, port] = hostPort(optArg(st, opt), "server", false, st.p.proto || IPPROTO_TCP);
  st.p.raddr = addr;
  st.p.rport = port;
}

function optWeight(st: ParseState, opt: string): void {
  const v = optArg(st, opt);
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw fail("illegal weight specified");
  st.p.weight = Number(v);
}

function threshold(key: "uThr" | "lThr", word: string): Handler {
  return (st, opt) => {
    const v = optArg(st, opt);
    if (!/^\d+$/.test(v)) throw fail(`illegal ${word} specified`);
    st.p[key] = Number(v);
  };
}

type FlagKey = "ops" | "numeric" | "connections" | "stats" | "rate" | "exact" | "thresholds" | "persistentConn" | "timeoutList" | "sort";

function flag(key: FlagKey, value = true): Handler {
  return (st) => {
    st.p[key] = value;
  };
}

function forwarding(fwd: FwdMethod): Handler {
  return (st) => {
    st.p.fwd = fwd;
  };
}

const refuseIpv6: Handler = () => {
  throw fail("pktpath does not model IPv6 services yet");
};

// ipvsadm.c options_table[]: long name, short letter, what it does. popt takes long names
// whole (no abbreviations) and bundles short letters (-Ln).
const OPTIONS: [long: string | null, short: string | null, handle: Handler][] = [
  ["add-service", "A", command("A")],
  ["edit-service", "E", command("E")],
  ["delete-service", "D", command("D")],
  ["clear", "C", command("C")],
  ["list", "L", command("L")],
  [null, "l", command("L")],
  ["zero", "Z", command("Z")],
  ["add-server", "a", command("a")],
  ["edit-server", "e", command("e")],
  ["delete-server", "d", command("d")],
  ["set", null, optSet],
  ["help", "h", command("h")],
  ["version", "v", command("v")],
  ["restore", "R", command("R")],
  ["save", "S", command("S")],
  ["tcp-service", "t", service(IPPROTO_TCP)],
  ["udp-service", "u", service(IPPROTO_UDP)],
  ["sctp-service", null, service(132)],
  ["fwmark-service", "f", optFwmark],
  ["scheduler", "s", (st, opt) => void (st.p.sched = optArg(st, opt))],
  ["persistent", "p", optPersistent],
  ["netmask", "M", optNetmask],
  ["real-server", "r", optRealServer],
  ["masquerading", "m", forwarding("masq")],
  ["ipip", "i", forwarding("tunnel")],
  ["gatewaying", "g", forwarding("droute")],
  ["weight", "w", optWeight],
  ["u-threshold", "x", threshold("uThr", "u_threshold")],
  ["l-threshold", "y", threshold("lThr", "l_threshold")],
  ["numeric", "n", flag("numeric")],
  ["connection", "c", flag("connections")],
  ["sched-flags", "b", optSchedFlags],
  ["ops", "o", flag("ops")],
  ["stats", null, flag("stats")],
  ["rate", null, flag("rate")],
  ["exact", null, flag("exact")],
  ["thresholds", null, flag("thresholds")],
  ["persistent-conn", null, flag("persistentConn")],
  ["timeout", null, flag("timeoutList")],
  ["nosort", null, flag("sort", false)],
  ["sort", null, flag("sort")],
  [null, "6", refuseIpv6],
  ["ipv6", null, refuseIpv6],
];

/** A long name with a short letter stands for the letter (and is named by it in messages). */
const LONG = new Map(OPTIONS.filter(([l, s]) => l !== null && s !== null).map(([l, s]) => [`--${l}`, `-${s}`]));
const HANDLERS = new Map(OPTIONS.map(([l, s, h]) => [s !== null ? `-${s}` : `--${l}`, h]));

/** popt's words: bundled short letters apart (-Ln, -Lcn), long names as their letters. */
function words(argv: string[]): string[] {
  const args: string[] = [];
  for (const a of argv) {
    if (/^-[A-Za-z]{2,}$/.test(a)) for (const ch of a.slice(1)) args.push(`-${ch}`);
    else args.push(LONG.get(a) ?? a);
  }
  return args;
}

function unknownOption(a: string): ToolError {
  if (a.startsWith("--start-daemon") || a.startsWith("--stop-daemon") || a === "--daemon") return fail("pktpath does not model the IPVS sync daemon");
  return fail(`ipvsadm: invalid option -- '${a.replace(/^-+/, "")}'`);
}

/** ipvsadm.c parse_options(): every option through its handler, in order. */
export function parse(argv: string[]): Parsed {
  const st: ParseState = { args: words(argv), i: 0, p: emptyParsed() };
  for (; st.i < st.args.length; st.i++) {
    const a = st.args[st.i]!;
    const handle = HANDLERS.get(a);
    if (!handle) throw unknownOption(a);
    handle(st, a);
  }
  return st.p;
}

/** The last key needService() built: the lines of a restore name one service many times. */
const lastKey = { proto: -1, vaddr: -1, vport: -1, fwmark: -1, key: "" };

/** The virtual service the command names, as the key of the configuration. */
export function needService(p: Parsed): string {
  if (!p.hasService) throw fail("You must specify a virtual service, with -t, -u or -f");
  const k = lastKey;
  if (k.proto !== p.proto || k.vaddr !== p.vaddr || k.vport !== p.vport || k.fwmark !== p.fwmark) {
    k.key = serviceKey(p.proto, p.vaddr, p.vport, p.fwmark);
    k.proto = p.proto;
    k.vaddr = p.vaddr;
    k.vport = p.vport;
    k.fwmark = p.fwmark;
  }
  return k.key;
}
