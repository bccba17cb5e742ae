// conntrack (conntrack-tools 1.4.7): -L lists, -F flushes, -D deletes, -C counts the
// namespace's connection tracking table, in conntrack's own format.
import type { NetfilterRuntime } from "./runtime.ts";
import { type Conn, IPS_ASSURED, IPS_DST_NAT, IPS_SEEN_REPLY, IPS_SRC_NAT, protoName, TCP_CT_NAMES, type Tuple } from "./conntrack.ts";
import { IPPROTO_ICMP, IPPROTO_TCP } from "../wire/packet.ts";
import { formatIPv4, parseIPv4 } from "../wire/ipv4.ts";
import { ToolError, type Tool } from "../tool/tool.ts";
import { type LongOption, resolveLongOption } from "../tool/getopt.ts";

const VERSION = "conntrack v1.4.7 (conntrack-tools)";

function tuple(t: Tuple): string {
  if (t.proto === IPPROTO_ICMP) return `src=${formatIPv4(t.src)} dst=${formatIPv4(t.dst)} type=${t.dport} code=0 id=${t.sport}`;
  return `src=${formatIPv4(t.src)} dst=${formatIPv4(t.dst)} sport=${t.sport} dport=${t.dport}`;
}

// conntrack's default (plain) output format, as nfct_snprintf writes it.
export function formatConn(c: Conn, now: number): string {
  const proto = c.tuple[0].proto;
  let s = `${protoName(proto).padEnd(8)} ${proto} ${Math.max(0, Math.ceil((c.timeout - now) / 1000))} `;
  if (proto === IPPROTO_TCP) s += `${TCP_CT_NAMES[c.tcp]} `;
  s += tuple(c.tuple[0]) + " ";
  if (!(c.status & IPS_SEEN_REPLY)) s += "[UNREPLIED] ";
  s += tuple(c.tuple[1]) + " ";
  if (c.status & IPS_ASSURED) s += "[ASSURED] ";
  s += `mark=${c.mark} use=1`;
  return s;
}

interface Filter {
  proto: number | null;
  src: Prefix | null;
  dst: Prefix | null;
  replySrc: Prefix | null;
  replyDst: Prefix | null;
  sport: number | null;
  dport: number | null;
  replySport: number | null;
  replyDport: number | null;
  tcpState: number | null;
  /** --src-nat / --dst-nat / --any-nat, with the NAT address when one was given. */
  snat: { addr: number | null } | null;
  dnat: { addr: number | null } | null;
  anyNat: { addr: number | null } | null;
  mark: [number, number] | null;
  status: number | null;
}

interface Prefix {
  addr: number;
  mask: number;
}

function inPrefix(a: number, p: Prefix | null): boolean {
  return p === null || ((a & p.mask) >>> 0) === ((p.addr & p.mask) >>> 0);
}

// conntrack.c filter_nat() / filter_addr / the proto's filter: what -L and -D select.
function matches(c: Conn, f: Filter): boolean {
  const [o, r] = c.tuple;
  if (f.proto !== null && o.proto !== f.proto) return false;
  if (!inPrefix(o.src, f.src) || !inPrefix(o.dst, f.dst) || !inPrefix(r.src, f.replySrc) || !inPrefix(r.dst, f.replyDst)) return false;
  if ((f.sport !== null && o.sport !== f.sport) || (f.dport !== null && o.dport !== f.dport)) return false;
  if ((f.replySport !== null && r.sport !== f.replySport) || (f.replyDport !== null && r.dport !== f.replyDport)) return false;
  if (f.tcpState !== null && (o.proto !== IPPROTO_TCP || c.tcp !== f.tcpState)) return false;
  if (f.mark !== null && ((c.mark & f.mark[1]) >>> 0) !== f.mark[0]) return false;
  if (f.status !== null && (c.status & f.status) !== f.status) return false;
  const isSnat = (c.status & IPS_SRC_NAT) !== 0 && (f.snat?.addr == null || r.dst === f.snat.addr);
  const isDnat = (c.status & IPS_DST_NAT) !== 0 && (f.dnat?.addr == null || r.src === f.dnat.addr);
  if (f.snat && !isSnat) return false;
  if (f.dnat && !isDnat) return false;
  if (f.anyNat) {
    const a = f.anyNat.addr;
    const s = (c.status & IPS_SRC_NAT) !== 0 && (a === null || r.dst === a);
    const d = (c.status & IPS_DST_NAT) !== 0 && (a === null || r.src === a);
    if (!s && !d) return false;
  }
  return true;
}

// conntrack.c original_opts[] (the options pktpath reads; the others are refused by name).
const LONGS: LongOption[] = [
  { name: "dump", hasArg: 2, val: "L" },
  { name: "create", hasArg: 2, val: "I" },
  { name: "add", hasArg: 2, val: "A" },
  { name: "delete", hasArg: 2, val: "D" },
  { name: "update", hasArg: 2, val: "U" },
  { name: "get", hasArg: 2, val: "G" },
  { name: "flush", hasArg: 2, val: "F" },
  { name: "event", hasArg: 2, val: "E" },
  { name: "counter", hasArg: 2, val: "C" },
  { name: "stats", hasArg: 0, val: "S" },
  { name: "version", hasArg: 0, val: "V" },
  { name: "help", hasArg: 0, val: "h" },
  { name: "orig-src", hasArg: 1, val: "s" },
  { name: "src", hasArg: 1, val: "s" },
  { name: "orig-dst", hasArg: 1, val: "d" },
  { name: "dst", hasArg: 1, val: "d" },
  { name: "reply-src", hasArg: 1, val: "r" },
  { name: "reply-dst", hasArg: 1, val: "q" },
  { name: "protonum", hasArg: 1, val: "p" },
  { name: "timeout", hasArg: 1, val: "t" },
  { name: "status", hasArg: 1, val: "u" },
  { name: "zone", hasArg: 1, val: "w" },
  { name: "event-mask", hasArg: 1, val: "e" },
  { name: "tuple-src", hasArg: 1, val: "[" },
  { name: "tuple-dst", hasArg: 1, val: "]" },
  { name: "mask-src", hasArg: 1, val: "{" },
  { name: "mask-dst", hasArg: 1, val: "}" },
  { name: "nat-range", hasArg: 1, val: "a" },
  { name: "mark", hasArg: 1, val: "m" },
  { name: "secmark", hasArg: 1, val: "c" },
  { name: "id", hasArg: 2, val: "i" },
  { name: "family", hasArg: 1, val: "f" },
  { name: "src-nat", hasArg: 2, val: "n" },
  { name: "dst-nat", hasArg: 2, val: "g" },
  { name: "output", hasArg: 1, val: "o" },
  { name: "buffer-size", hasArg: 1, val: "b" },
  { name: "any-nat", hasArg: 2, val: "j" },
  { name: "zero", hasArg: 0, val: "z" },
  { name: "orig-zone", hasArg: 1, val: "(" },
  { name: "reply-zone", hasArg: 1, val: ")" },
  { name: "label", hasArg: 1, val: "l" },
  { name: "label-add", hasArg: 1, val: "<" },
  { name: "label-del", hasArg: 2, val: ">" },
];
const SHORT = "L::I::U::D::G::E::F::A::hVs:d:r:q:p:t:u:e:a:z[:]:{:}:m:i::f:o:n::g::c:b:C::Sj::w:l:<:>::(:):";

// extensions/libct_proto_tcp.c and udp: the options -p adds (sport/dport are aliases).
const PORT_OPTS: LongOption[] = [
  { name: "orig-port-src", hasArg: 1, val: "1" },
  { name: "orig-port-dst", hasArg: 1, val: "2" },
  { name: "reply-port-src", hasArg: 1, val: "3" },
  { name: "reply-port-dst", hasArg: 1, val: "4" },
  { name: "mask-port-src", hasArg: 1, val: "5" },
  { name: "mask-port-dst", hasArg: 1, val: "6" },
  { name: "tuple-port-src", hasArg: 1, val: "7" },
  { name: "tuple-port-dst", hasArg: 1, val: "8" },
];
const TCP_OPTS: LongOption[] = [...PORT_OPTS, { name: "state", hasArg: 1, val: "9" }, { name: "sport", hasArg: 1, val: "1" }, { name: "dport", hasArg: 1, val: "2" }];
const UDP_OPTS: LongOption[] = [...PORT_OPTS, { name: "sport", hasArg: 1, val: "1" }, { name: "dport", hasArg: 1, val: "2" }];

const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, udplite: 136, sctp: 132, dccp: 33, icmp: 1, icmpv6: 58, gre: 47, unknown: 0 };
const STATUS_BITS: Record<string, number> = { EXPECTED: 1, SEEN_REPLY: 2, ASSURED: 4, CONFIRMED: 8, SRC_NAT: 16, DST_NAT: 32, FIXED_TIMEOUT: 1024, UNSET: 0 };

/** conntrack -h, printed also when no command is given (exit 0). */
const HELP = `Command line interface for the connection tracking system. Version 1.4.7
Usage: conntrack [commands] [options]

Commands:
  -L [table] [options]		List conntrack or expectation table
  -G [table] parameters		Get conntrack or expectation
  -D [table] parameters		Delete conntrack or expectation
  -I [table] parameters		Create a conntrack or expectation
  -U [table] parameters		Update a conntrack
  -E [table] [options]		Show events
  -F [table]			Flush table
  -C [table]			Show counter
  -S				Show statistics

Tables: conntrack, expect, dying, unconfirmed

Conntrack parameters and options:
  -n, --src-nat ip			source NAT ip
  -g, --dst-nat ip			destination NAT ip
  -j, --any-nat ip			source or destination NAT ip
  -m, --mark mark			Set mark
  -c, --secmark secmark			Set selinux secmark
  -e, --event-mask eventmask		Event mask, eg. NEW,DESTROY
  -z, --zero 				Zero counters while listing
  -o, --output type[,...]		Output format, eg. xml
  -l, --label label[,...]		conntrack labels

Expectation parameters and options:
  --tuple-src ip	Source address in expect tuple
  --tuple-dst ip	Destination address in expect tuple

Updating parameters and options:
  --label-add label	Add label
  --label-del label	Delete label

Common parameters and options:
  -s, --src, --orig-src ip		Source address from original direction
  -d, --dst, --orig-dst ip		Destination address from original direction
  -r, --reply-src ip		Source addres from reply direction
  -q, --reply-dst ip		Destination address from reply direction
  -p, --protonum proto		Layer 4 Protocol, eg. 'tcp'
  -f, --family proto		Layer 3 Protocol, eg. 'ipv6'
  -t, --timeout timeout		Set timeout
  -u, --status status		Set status, eg. ASSURED
  -w, --zone value		Set conntrack zone
  --orig-zone value		Set zone for original direction
  --reply-zone value		Set zone for reply direction
  -b, --buffer-size		Netlink socket buffer size
  --mask-src ip			Source mask address
  --mask-dst ip			Destination mask address

`;

/** conntrack.c optflags[]: the name an option is reported by (--orig-src is "src"). */
function optflag(long: string): string {
  const names: Record<string, string> = { "orig-src": "src", "orig-dst": "dst" };
  return names[long] ?? long;
}

function usageError(msg: string): ToolError {
  return new ToolError(`${VERSION}: ${msg}\nTry \`conntrack -h' or 'conntrack --help' for more information.`, 2);
}

/** inet_aton() (it takes "1.2.3"), with an optional /len since 1.4.5. */
function parseAddr(text: string): Prefix {
  const [a, len] = text.split("/");
  const parts = a!.split(".");
  const nums = parts.map((x) => (/^(0x[0-9a-f]+|\d+)$/i.test(x) ? Number(x) : NaN));
  let addr: number | null = null;
  if (nums.every((n) => Number.isFinite(n)) && nums.length >= 1 && nums.length <= 4) {
    if (nums.length === 4 && nums.every((n) => n < 256)) addr = parseIPv4(nums.join("."));
    else if (nums.length === 3 && nums[0]! < 256 && nums[1]! < 256 && nums[2]! < 65536) addr = ((nums[0]! << 24) | (nums[1]! << 16) | nums[2]!) >>> 0;
    else if (nums.length === 2 && nums[0]! < 256 && nums[1]! < 2 ** 24) addr = ((nums[0]! << 24) | nums[1]!) >>> 0;
    else if (nums.length === 1 && nums[0]! < 2 ** 32) addr = nums[0]!;
  }
  if (addr === null || (len !== undefined && !(/^\d+$/.test(len) && Number(len) <= 32))) throw usageError(`Invalid IP address \`${text}'`);
  const plen = len === undefined ? 32 : Number(len);
  return { addr, mask: plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0 };
}

/** htons(atoi(arg)): conntrack takes any text as a port. */
function atoiPort(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  return m ? Number(m[1]) & 0xffff : 0;
}

/** The NAT address of --src-nat/--dst-nat/--any-nat ("ip" or "ip:port"; the port is not compared here). */
function natAddr(arg: string | null): { addr: number | null } {
  if (arg === null) return { addr: null };
  return { addr: parseAddr(arg.split(":")[0]!).addr };
}

type Command = "L" | "F" | "D" | "C" | "h";

/** What the command line has set so far: conntrack.c's cmd, the filter and the options seen. */
interface Parsed {
  cmd: Command | null;
  f: Filter;
  /** The options -p adds to the table (extensions' opts). */
  protoOpts: LongOption[];
  /** The filter options given, by long name, in order (for "Illegal option"). */
  filters: string[];
}

/** One option, as getopt_long hands it to conntrack.c's switch: its letter, name and argument. */
interface Opt {
  val: string;
  long: string;
  arg: string | null;
}

/** Each option's handler: what conntrack.c's case for its letter does (commands get their letter as name). */
type Handler = (p: Parsed, arg: string | null, long: string) => void;

/** The commands pktpath refuses (E, S, I, U, G, A, V). */
const UNMODELLED_COMMANDS = "ESIUGAV";

// conntrack.c's command letters: set the command (only one may be given).
function setCommand(p: Parsed, c: string): void {
  if (p.cmd !== null) throw usageError("Invalid commands combination");
  if (UNMODELLED_COMMANDS.includes(c)) throw new ToolError(`${VERSION}: pktpath does not model conntrack -${c} yet`);
  p.cmd = c as Command;
}

// A command's optional argument is its table: only "conntrack" is modelled.
const commandHandler: Handler = (p, arg, letter) => {
  if (arg !== null && arg !== "conntrack") throw new ToolError(`${VERSION}: pktpath does not model the ${arg} table yet`);
  setCommand(p, letter);
};

/** Options that select nothing: dropped from the filter list once read. */
function unfilter(p: Parsed): void {
  p.filters.pop();
}

function parseProto(p: Parsed, arg: string): void {
  const v = arg.toLowerCase();
  const n = PROTOCOLS[v] ?? (/^\d+$/.test(v) && Number(v) < 256 ? Number(v) : null);
  if (n === null) throw usageError(`\`${arg}' unsupported protocol`);
  p.f.proto = n;
  p.protoOpts = n === 6 ? TCP_OPTS : n === 17 || n === 136 ? UDP_OPTS : [];
}

function parseTcpState(p: Parsed, arg: string): void {
  const st = TCP_CT_NAMES.indexOf(arg);
  if (st < 0 || arg === "NONE") throw usageError(`unknown TCP state \`${arg}'`);
  p.f.tcpState = st;
}

function parseMark(p: Parsed, arg: string): void {
  const [v, m] = arg.split("/");
  const num = (x: string | undefined, d: number) => (x === undefined ? d : /^(0x[0-9a-f]+|\d+)$/i.test(x) ? Number(x) >>> 0 : 0);
  p.f.mark = [num(v, 0), num(m, 0xffffffff)];
}

function parseStatus(p: Parsed, arg: string): void {
  let bits = 0;
  for (const s of arg.split(",")) {
    if (STATUS_BITS[s] === undefined) throw usageError(`Bad parameter \`${s}'`);
    bits |= STATUS_BITS[s]!;
  }
  p.f.status = bits;
}

function parseFamily(p: Parsed, arg: string): void {
  if (arg !== "ipv4" && arg !== "inet") {
    if (arg === "ipv6" || arg === "inet6") throw new ToolError(`${VERSION}: pktpath does not model IPv6 connections`);
    throw usageError(`\`${arg}' unsupported protocol`);
  }
  unfilter(p);
}

function parseOutput(arg: string): never {
  for (const t of arg.split(",")) if (!["xml", "extended", "timestamp", "id", "ktimestamp", "labels", "userspace", "save"].includes(t)) throw usageError(`Bad parameter \`${t}'`);
  throw new ToolError(`${VERSION}: pktpath does not model conntrack -o ${arg} yet`);
}

function parseZone(p: Parsed, arg: string): void {
  if (arg !== "0") throw new ToolError(`${VERSION}: pktpath does not model conntrack zones`);
  unfilter(p);
}

// Expectation and mask tuples: commands_v_options refuses them for -L, -D, -C, -F.
const illegal: Handler = (_p, _arg, long) => {
  throw usageError(`Illegal option \`--${long}' with this command`);
};

/** conntrack.c's switch on the option letter (and the extensions' parse_options), a handler per option. */
const HANDLERS: Record<string, Handler> = {
  ...Object.fromEntries([..."LIUDGEFACSVh"].map((c) => [c, commandHandler])),
  s: (p, arg) => void (p.f.src = parseAddr(arg!)),
  d: (p, arg) => void (p.f.dst = parseAddr(arg!)),
  r: (p, arg) => void (p.f.replySrc = parseAddr(arg!)),
  q: (p, arg) => void (p.f.replyDst = parseAddr(arg!)),
  p: (p, arg) => parseProto(p, arg!),
  "1": (p, arg) => void (p.f.sport = atoiPort(arg!)),
  "2": (p, arg) => void (p.f.dport = atoiPort(arg!)),
  "3": (p, arg) => void (p.f.replySport = atoiPort(arg!)),
  "4": (p, arg) => void (p.f.replyDport = atoiPort(arg!)),
  "9": (p, arg) => parseTcpState(p, arg!),
  n: (p, arg) => void (p.f.snat = natAddr(arg)),
  g: (p, arg) => void (p.f.dnat = natAddr(arg)),
  j: (p, arg) => void (p.f.anyNat = natAddr(arg)),
  m: (p, arg) => parseMark(p, arg!),
  u: (p, arg) => parseStatus(p, arg!),
  f: (p, arg) => parseFamily(p, arg!),
  o: (_p, arg) => parseOutput(arg!),
  w: (p, arg) => parseZone(p, arg!),
  z: (p) => unfilter(p),
  ...Object.fromEntries([..."5678[]{}"].map((c) => [c, illegal])),
};

/** What an option does: its handler, or the refusal of an option pktpath does not model. */
function applyOption(p: Parsed, o: Opt): void {
  const isCommand = "LIUDGEFACSVh".includes(o.val);
  if (!isCommand) p.filters.push(o.long);
  const handler = HANDLERS[o.val];
  if (handler === undefined) throw new ToolError(`${VERSION}: pktpath does not model conntrack --${o.long} yet`);
  handler(p, o.arg, isCommand ? o.val : o.long);
}

/** getopt's optional argument: the next word when it does not start with "-". */
function optionalArg(args: string[], i: number): string | null {
  return i + 1 < args.length && !args[i + 1]!.startsWith("-") ? args[i + 1]! : null;
}

/** How many arguments a short option takes in SHORT (0, 1, 2 = optional), null if unknown. */
function shortArg(ch: string): 0 | 1 | 2 | null {
  const k = SHORT.indexOf(ch);
  if (k < 0 || ch === ":") return null;
  return SHORT[k + 1] === ":" ? (SHORT[k + 2] === ":" ? 2 : 1) : 0;
}

/** getopt_long on a "--name[=arg]" word; returns the option and how many words it used. */
function readLong(args: string[], i: number, protoOpts: LongOption[]): [Opt, number] {
  const a = args[i]!;
  const eq = a.indexOf("=");
  const word = eq >= 0 ? a.slice(2, eq) : a.slice(2);
  // getopt_long with opterr = 0: an unknown or ambiguous option is conntrack's "unknown option".
  const o = resolveLongOption(word, [...LONGS, ...protoOpts]);
  if (typeof o === "string") throw usageError(`unknown option \`${a}'`);
  if (eq >= 0) return [{ val: o.val, long: o.name, arg: a.slice(eq + 1) }, 1];
  if (o.hasArg === 1) {
    if (i + 1 >= args.length) throw usageError(`option \`${a}' requires an argument`);
    return [{ val: o.val, long: o.name, arg: args[i + 1]! }, 2];
  }
  const opt = o.hasArg === 2 ? optionalArg(args, i) : null;
  return [{ val: o.val, long: o.name, arg: opt }, opt === null ? 1 : 2];
}

/** getopt on a "-x[arg]" word (bundled flags such as -Lz are split into the next word). */
function readShort(args: string[], i: number): [Opt, number] {
  const a = args[i]!;
  const ch = a[1]!;
  const has = shortArg(ch);
  if (has === null) throw usageError(`unknown option \`${a}'`);
  const long = LONGS.find((o) => o.val === ch)?.name ?? ch;
  if (has === 0 && a.length > 2) {
    args.splice(i + 1, 0, "-" + a.slice(2));
    return [{ val: ch, long, arg: null }, 1];
  }
  if (a.length > 2) return [{ val: ch, long, arg: a.slice(2) }, 1];
  if (has === 1) {
    if (i + 1 >= args.length) throw usageError(`option \`${a}' requires an argument`);
    return [{ val: ch, long, arg: args[i + 1]! }, 2];
  }
  const opt = has === 2 ? optionalArg(args, i) : null;
  return [{ val: ch, long, arg: opt }, opt === null ? 1 : 2];
}

/** One option at args[i], read as getopt_long reads it. */
function readOption(args: string[], i: number, protoOpts: LongOption[]): [Opt, number] {
  const a = args[i]!;
  if (a.startsWith("--") && a.length > 2) return readLong(args, i, protoOpts);
  if ((a.startsWith("-") && a.length === 2) || /^-[LIUDGEFACSVhz]+$/.test(a) || (a.startsWith("-") && a.length > 2 && shortArg(a[1]!) !== 0)) return readShort(args, i);
  throw usageError(`unknown option \`${a}'`);
}

/** conntrack.c main()'s getopt loop plus commands_v_options: the command and its filter. */
function parseArgs(argv: string[]): Parsed {
  const f: Filter = { proto: null, src: null, dst: null, replySrc: null, replyDst: null, sport: null, dport: null, replySport: null, replyDport: null, tcpState: null, snat: null, dnat: null, anyNat: null, mark: null, status: null };
  const p: Parsed = { cmd: null, f, protoOpts: [], filters: [] };
  const args = argv.slice(1);
  for (let i = 0; i < args.length; ) {
    const [o, used] = readOption(args, i, p.protoOpts);
    applyOption(p, o);
    i += used;
  }
  if (p.cmd === null && p.filters.length) throw usageError(`Illegal option \`--${optflag(p.filters[0]!)}' with this command`);
  return p;
}

/** commands_v_options for the modelled commands: -C and -F take no filter; --state needs -p tcp. */
function checkCommand(p: Parsed): void {
  if ((p.cmd === "C" || p.cmd === "F") && p.filters.length) throw usageError(`Illegal option \`--${optflag(p.filters[0]!)}' with this command`);
  if (p.f.tcpState !== null && p.f.proto !== 6) throw usageError("unknown option `--state'");
}

function listing(conns: Conn[], now: number): string {
  return conns.map((c) => formatConn(c, now) + "\n").join("");
}

// -D: each deleted entry is printed as -L prints it (the count goes to stderr).
function deleteConns(rt: NetfilterRuntime, ns: string, conns: Conn[], now: number): { stdout: string } {
  if (!conns.length) throw new ToolError(`${VERSION}: 0 flow entries have been deleted.`);
  const st = rt.state(ns);
  for (const c of conns) st.ct.remove(c);
  return { stdout: listing(conns, now) };
}

// -F: empty the table.
function flushTable(rt: NetfilterRuntime, ns: string): { stdout: string } {
  rt.state(ns).ct.flush();
  return { stdout: `${VERSION}: connection tracking table has been emptied.\n` };
}

export function conntrackTool(rt: NetfilterRuntime): Tool {
  return (argv, ctx) => {
    const p = parseArgs(argv);
    if (p.cmd === null || p.cmd === "h") return { stdout: HELP };
    checkCommand(p);
    rt.state(ctx.ns);
    const now = ctx.host.now;
    const conns = rt.connections(ctx.ns).filter((c) => matches(c, p.f));
    // -L: the summary goes to stderr in the real tool; the emulator keeps it out of stdout too.
    if (p.cmd === "L") return { stdout: listing(conns, now) };
    if (p.cmd === "C") return { stdout: `${conns.length}\n` };
    if (p.cmd === "F") return flushTable(rt, ctx.ns);
    return deleteConns(rt, ctx.ns, conns, now);
  };
}
