// iptables' command line (iptables/xshared.c do_parse): commands, the rule's base
// options, -m matches and -j targets with their own options, "!" inversion.
import { parsePrefix } from "../../wire/ipv4.ts";
import type { AddrMatch, MatchSpec, RuleConfig, TableName, TargetSpec } from "../types.ts";
import { isTableName } from "../tables.ts";
import { MATCHES } from "../matches/index.ts";
import { TARGETS } from "../targets/index.ts";
import { type OptionDef, ParseError } from "../ext.ts";

export const IPT_VERSION = "v1.8.9 (nf_tables)";

export type IptCmd = "A" | "I" | "D" | "R" | "N" | "X" | "F" | "Z" | "P" | "E" | "L" | "S" | "C";

export interface IptCommand {
  cmd: IptCmd;
  table: TableName;
  chain: string | null;
  /** -E's new name, -P's policy. */
  arg2: string | null;
  rulenum: number | null;
  rule: RuleConfig;
  /** Whether the command line gave any rule options (for -D by spec vs by number). */
  hasRule: boolean;
  numeric: boolean;
  verbose: boolean;
  exact: boolean;
  lineNumbers: boolean;
  counters: [number, number] | null;
  /** -s / -d given as comma lists (one rule each); empty when a single address or none. */
  srcs: AddrMatch[];
  dsts: AddrMatch[];
}

// iptables.c original_opts[], in its order: getopt_long takes any unambiguous prefix.
const LONG: [string, string][] = [
  ["append", "-A"],
  ["delete", "-D"],
  ["check", "-C"],
  ["insert", "-I"],
  ["replace", "-R"],
  ["list", "-L"],
  ["list-rules", "-S"],
  ["flush", "-F"],
  ["zero", "-Z"],
  ["new-chain", "-N"],
  ["delete-chain", "-X"],
  ["rename-chain", "-E"],
  ["policy", "-P"],
  ["source", "-s"],
  ["destination", "-d"],
  ["src", "-s"],
  ["dst", "-d"],
  ["protocol", "-p"],
  ["in-interface", "-i"],
  ["jump", "-j"],
  ["table", "-t"],
  ["match", "-m"],
  ["numeric", "-n"],
  ["out-interface", "-o"],
  ["verbose", "-v"],
  ["wait", "-w"],
  ["wait-interval", "-W"],
  ["exact", "-x"],
  ["fragments", "-f"],
  ["version", "-V"],
  ["help", "-h"],
  ["line-numbers", "--line-numbers"],
  ["modprobe", "-M"],
  ["set-counters", "-c"],
  ["goto", "-g"],
  ["ipv4", "-4"],
  ["ipv6", "-6"],
];

/** One entry of the option table getopt_long searches: a base option or an extension's. */
interface LongOpt {
  name: string;
  /** The short form of a base option, or null for an extension's. */
  short: string | null;
  /** The extension: "target", or the index of the loaded match. */
  owner: "base" | "target" | number;
}

/**
 * getopt_long(): an exact name wins; otherwise the one option the word is a prefix of.
 * Several with different meanings is ambiguous, which iptables (opterr = 0) reports as
 * an unknown option. Entries with the same short form are the same option (--src, --source).
 * The table is given as its parts in order (the base options, then each extension's).
 */
function resolveLong(word: string, table: readonly (readonly LongOpt[])[]): LongOpt | null {
  for (const part of table) for (const o of part) if (o.name === word) return o;
  let first: LongOpt | null = null;
  for (const part of table) {
    for (const o of part) {
      if (!o.name.startsWith(word)) continue;
      if (first === null) first = o;
      else if (!(o.owner === first.owner && o.short !== null && o.short === first.short)) return null;
    }
  }
  return first;
}

const PROTOS: Record<string, number> = { all: 0, tcp: 6, udp: 17, icmp: 1, sctp: 132, udplite: 136, dccp: 33, gre: 47, esp: 50, ah: 51, ipencap: 4 };

/** The value of one digit run of at most `max` digits at [from, to), or -1. */
function digitsAt(v: string, from: number, to: number, max: number): number {
  if (to <= from || to - from > max) return -1;
  let n = 0;
  for (let k = from; k < to; k++) {
    const c = v.charCodeAt(k);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/** "A" or "A/len" in plain digits (every address of a kube-proxy dump), read without regexes; null for any other form. */
function plainPrefix(v: string): { addr: number; plen: number } | null {
  const slash = v.indexOf("/");
  const end = slash < 0 ? v.length : slash;
  let addr = 0;
  let from = 0;
  for (let k = 0; k < 4; k++) {
    const dot = k < 3 ? v.indexOf(".", from) : end;
    if (dot < 0 || dot > end) return null;
    const octet = digitsAt(v, from, dot, 3);
    if (octet < 0 || octet > 255) return null;
    addr = addr * 256 + octet;
    from = dot + 1;
  }
  const plen = slash < 0 ? 32 : digitsAt(v, slash + 1, v.length, 2);
  return plen < 0 || plen > 32 ? null : { addr, plen };
}

/** One address of -s/-d: "A", "A/len" or "A/dotted.mask" (xtables_ipparse_multiple). */
function parseAddrItem(item: string, inv: boolean): AddrMatch {
  const plain = plainPrefix(item);
  if (plain) return { addr: (plain.addr & (plain.plen ? (0xffffffff << (32 - plain.plen)) >>> 0 : 0)) >>> 0, plen: plain.plen, inv };
  let v = item;
  // A dotted netmask (192.168.0.0/255.255.0.0) is a prefix length in disguise.
  const dotted = /^([0-9.]+)\/(\d+\.\d+\.\d+\.\d+)$/.exec(v);
  if (dotted) {
    const m = parsePrefix(dotted[2]!);
    const bits = m ? m.addr.toString(2).replace(/0+$/, "") : "x";
    if (!m) throw iptError(`invalid mask \`${dotted[2]}' specified`);
    // iptables-nft takes any mask; rules here match on a prefix length.
    if (/0/.test(bits)) throw iptError(`non-contiguous netmask \`${dotted[2]}' is not modelled by pktpath`);
    v = `${dotted[1]}/${m.addr === 0 ? 0 : bits.length}`;
  }
  const slash = v.indexOf("/");
  if (slash >= 0 && /^\d+$/.test(v.slice(slash + 1)) && Number(v.slice(slash + 1)) > 32) throw iptError(`invalid mask \`${v.slice(slash + 1)}' specified`);
  const p = parsePrefix(v);
  if (!p) throw iptError(`host/network \`${v.slice(0, slash >= 0 ? slash : undefined)}' not found`);
  return { addr: (p.addr & (p.plen ? (0xffffffff << (32 - p.plen)) >>> 0 : 0)) >>> 0, plen: p.plen, inv };
}

/** The rules a command stands for: one per source, times one per destination, in iptables' order. */
export function expandRules(c: IptCommand): RuleConfig[] {
  const srcs = c.srcs.length ? c.srcs : [c.rule.src];
  const dsts = c.dsts.length ? c.dsts : [c.rule.dst];
  const out: RuleConfig[] = [];
  for (const s of srcs) for (const d of dsts) out.push({ ...structuredClone(c.rule), src: s, dst: d });
  return out;
}

function protoName(proto: number): string | null {
  return Object.keys(PROTOS).find((k) => PROTOS[k] === proto) ?? null;
}

export function iptError(msg: string, usageHint = true, blank = false): ParseError {
  return new ParseError(`iptables ${IPT_VERSION}: ${msg}${usageHint ? `${blank ? "\n" : ""}\nTry \`iptables -h' or 'iptables --help' for more information.` : ""}`);
}

export function emptyRule(): RuleConfig {
  return { src: null, dst: null, inIface: null, outIface: null, proto: 0, protoInv: false, matches: [], target: null };
}

function parseIface(text: string, inv: boolean) {
  if (text.length > 15) throw iptError(`interface name \`${text}' must be shorter than IFNAMSIZ (15)`);
  const wildcard = text.endsWith("+");
  return { name: wildcard ? text.slice(0, -1) : text, wildcard, inv };
}

const TAKES_ARG = new Set(["A", "I", "D", "R", "N", "P", "E", "C", "t", "s", "d", "p", "i", "o", "j", "g", "m", "c"]);

/** getopt's bundling: "-nvL" is "-n -v -L", "-tnat" is "-t nat". */
function isBundle(a: string): boolean {
  // Most words are not a bundle: only "-" then two or more letters or digits is one.
  return a.length >= 3 && a.charCodeAt(0) === 45 && a.charCodeAt(1) !== 45 && /^-[A-Za-z0-9]{2,}$/.test(a);
}

function unbundle(argv: string[]): string[] {
  // A line without a bundle is taken as it is (a copy of the array only when one is split).
  if (!argv.some(isBundle)) return argv.slice();
  const out: string[] = [];
  for (const a of argv) {
    if (!isBundle(a)) {
      out.push(a);
      continue;
    }
    for (let k = 1; k < a.length; k++) {
      const ch = a[k]!;
      out.push(`-${ch}`);
      if (TAKES_ARG.has(ch) && k + 1 < a.length) {
        out.push(a.slice(k + 1));
        break;
      }
    }
  }
  return out;
}

/** A match loaded with -m (or implicitly by -p), and where on the line. */
interface LoadedMatch {
  name: string;
  spec: MatchSpec;
  at: number;
}

/** do_parse()'s working state: the command being built and where getopt stands. */
interface ParseState {
  argv: string[];
  /** The word being parsed (getopt's optind, less one). */
  i: number;
  c: IptCommand;
  cmdSet: boolean;
  /** -t's table when it does not exist: reported once the whole line is parsed. */
  badTable: string | null;
  /** A "!" waits for the option it inverts. */
  inv: boolean;
  loaded: LoadedMatch[];
  target: TargetSpec | null;
  targetAt: number;
  /** set_option()'s record of the base options given once. */
  seen: Set<string>;
  /** Words after "--", which ends the options. */
  leftover: number;
}

function newState(argv: string[], table: TableName): ParseState {
  const c: IptCommand = {
    cmd: "L",
    table,
    chain: null,
    arg2: null,
    rulenum: null,
    rule: emptyRule(),
    hasRule: false,
    numeric: false,
    verbose: false,
    exact: false,
    lineNumbers: false,
    counters: null,
    srcs: [],
    dsts: [],
  };
  return { argv, i: 0, c, cmdSet: false, badTable: null, inv: false, loaded: [], target: null, targetAt: 0, seen: new Set(), leftover: 0 };
}

/** The option's argument: the next word (getopt's optarg), which must be there. */
function nextArg(st: ParseState, opt: string): string {
  if (++st.i >= st.argv.length) throw iptError(`option "${opt}" requires an argument`);
  return st.argv[st.i]!;
}

/** xs_has_arg(): an optional argument is the next word unless it is an option or "!". */
function optionalArg(st: ParseState): string | null {
  const next = st.argv[st.i + 1];
  if (next === undefined || next.startsWith("-") || next === "!") return null;
  st.i++;
  return next;
}

/**
 * set_option(): an option given once; "!" before it only where inverse_for_options[]
 * allows (-s, -d, -p, -i, -o). `letter` is how iptables names it (-0 for --line-numbers).
 */
function setOption(st: ParseState, letter: string, invertible = true): void {
  if (st.seen.has(letter)) throw iptError(`multiple ${letter} flags not allowed`);
  st.seen.add(letter);
  if (st.inv && !invertible) throw iptError(`cannot have ! before ${letter}`);
}

/** What each command letter takes after it (do_parse()'s case for the letter). */
interface CommandDef {
  chain: "required" | "optional";
  /** A rule number: may follow, must follow (-R), or may follow a chain that was given (-L/-S/-Z). */
  rulenum: "none" | "optional" | "required" | "after-chain";
  /** -P's policy, -E's new name. */
  arg2: boolean;
}

const COMMANDS: Record<IptCmd, CommandDef> = {
  A: { chain: "required", rulenum: "none", arg2: false },
  C: { chain: "required", rulenum: "none", arg2: false },
  D: { chain: "required", rulenum: "optional", arg2: false },
  I: { chain: "required", rulenum: "optional", arg2: false },
  R: { chain: "required", rulenum: "required", arg2: false },
  N: { chain: "required", rulenum: "none", arg2: false },
  P: { chain: "required", rulenum: "none", arg2: true },
  E: { chain: "required", rulenum: "none", arg2: true },
  L: { chain: "optional", rulenum: "after-chain", arg2: false },
  S: { chain: "optional", rulenum: "after-chain", arg2: false },
  Z: { chain: "optional", rulenum: "after-chain", arg2: false },
  F: { chain: "optional", rulenum: "none", arg2: false },
  X: { chain: "optional", rulenum: "none", arg2: false },
};

/** add_command(): one command a line. */
function addCommand(st: ParseState, cmd: IptCmd): void {
  if (st.inv) throw iptError("unexpected '!' flag");
  if (st.cmdSet) throw iptError("Cannot use -" + cmd + " with -" + st.c.cmd);
  st.c.cmd = cmd;
  st.cmdSet = true;
}

/** parse_rulenumber() where the command takes one. */
function ruleNumber(st: ParseState, def: CommandDef): void {
  if (def.rulenum === "none") return;
  const next = st.argv[st.i + 1];
  const n = next !== undefined && /^\d+$/.test(next) ? Number(next) : null;
  if (n !== null && (def.rulenum !== "after-chain" || st.c.chain !== null)) {
    if (n < 1) throw iptError("Invalid rule number `0'");
    st.c.rulenum = n;
    st.i++;
  } else if (def.rulenum === "required") throw iptError("-R requires a rule number");
}

function command(cmd: IptCmd): Handler {
  return (st, opt) => {
    addCommand(st, cmd);
    const def = COMMANDS[cmd];
    st.c.chain = def.chain === "required" ? nextArg(st, opt) : optionalArg(st);
    ruleNumber(st, def);
    if (def.arg2) st.c.arg2 = nextArg(st, opt);
  };
}

/** -t: checked once the whole line is parsed, as iptables finds out only when it opens the table. */
function optTable(st: ParseState, opt: string): void {
  const t = nextArg(st, opt);
  if (st.inv) throw iptError("unexpected ! flag before --table");
  if (!isTableName(t)) st.badTable = t;
  else st.c.table = t;
}

/** -s / -d: xtables_ipparse_multiple(): a comma list gives one rule per address (and per pair with -d). */
function optAddress(st: ParseState, opt: string): void {
  const text = nextArg(st, opt);
  setOption(st, opt);
  const list: AddrMatch[] = [];
  for (const item of text.split(",")) list.push(parseAddrItem(item, st.inv));
  if (opt === "-s") {
    st.c.rule.src = list[0]!;
    st.c.srcs = list;
  } else {
    st.c.rule.dst = list[0]!;
    st.c.dsts = list;
  }
  st.c.hasRule = true;
}

/** -p: a name from PROTOS or a number below 256. */
function optProtocol(st: ParseState, opt: string): void {
  const v = nextArg(st, opt).toLowerCase();
  setOption(st, opt);
  const n = PROTOS[v] ?? (/^\d+$/.test(v) && Number(v) < 256 ? Number(v) : null);
  if (n === null) throw iptError(`unknown protocol "${v}" specified`);
  st.c.rule.proto = n;
  st.c.rule.protoInv = st.inv;
  st.c.hasRule = true;
}

/** -i / -o: an interface name, "+" a wildcard suffix. */
function optInterface(st: ParseState, opt: string): void {
  const name = nextArg(st, opt);
  setOption(st, opt);
  const f = parseIface(name, st.inv);
  if (opt === "-i") st.c.rule.inIface = f;
  else st.c.rule.outIface = f;
  st.c.hasRule = true;
}

/** -c PKTS BYTES: the rule's starting counters (the byte count is the next word, when it is not an option). */
function optCounters(st: ParseState, opt: string): void {
  const p = nextArg(st, opt);
  setOption(st, opt, false);
  const b = optionalArg(st);
  if (b === null) throw iptError("-c requires packet and byte counter");
  if (!/^\d+$/.test(p)) throw iptError("-c packet counter not numeric");
  if (!/^\d+$/.test(b)) throw iptError("-c byte counter not numeric");
  st.c.counters = [Number(p), Number(b)];
}

/** -w / -W: the xtables lock's wait, with an optional number; there is no lock to wait for. */
function optWait(st: ParseState): void {
  const next = st.argv[st.i + 1];
  if (next !== undefined && /^\d+$/.test(next)) st.i++;
}

function loadMatch(st: ParseState, name: string): void {
  const spec: MatchSpec = { name, opts: {} };
  st.loaded.push({ name, spec, at: st.i });
  st.c.rule.matches.push(spec);
}

/** -m NAME: loads the match, whose options getopt_long then knows. */
function optMatch(st: ParseState, opt: string): void {
  const name = nextArg(st, opt);
  if (st.inv) throw iptError("unexpected ! flag before --match");
  if (!MATCHES.get(name)) throw iptError(`Couldn't load match \`${name}':No such file or directory`, true, true);
  loadMatch(st, name);
  st.c.hasRule = true;
}

/** -j / -g NAME: the target, whose options getopt_long then knows. */
function optJump(st: ParseState, opt: string): void {
  const name = nextArg(st, opt);
  // -j and -g are one option to set_option() (OPT_JUMP).
  setOption(st, "-j", false);
  st.target = { name, opts: {}, goto: opt === "-g" };
  st.targetAt = st.i;
  st.c.rule.target = st.target;
  st.c.hasRule = true;
}

type Handler = (st: ParseState, opt: string) => void;

/** -n, -x, --line-numbers: given once, never inverted. */
function flag(key: "numeric" | "exact" | "lineNumbers", letter: string): Handler {
  return (st) => {
    setOption(st, letter, false);
    st.c[key] = true;
  };
}

/** -v: may be repeated (more verbose); only the first is checked for "!". */
function optVerbose(st: ParseState): void {
  if (!st.c.verbose && st.inv) throw iptError("cannot have ! before -v");
  st.c.verbose = true;
}

// do_parse()'s switch: each short option (or the long one without a letter) and its handler.
// Options of original_opts[] not here (-V, -h, -M, -6) are refused as unknown.
const HANDLERS = new Map<string, Handler>([
  ...(Object.keys(COMMANDS) as IptCmd[]).map((cmd): [string, Handler] => [`-${cmd}`, command(cmd)]),
  ["-t", optTable],
  ["-n", flag("numeric", "-n")],
  ["-v", optVerbose],
  ["-x", flag("exact", "-x")],
  ["--line-numbers", flag("lineNumbers", "-0")],
  ["-4", () => {}],
  ["-w", optWait],
  ["-W", optWait],
  ["-c", optCounters],
  ["-s", optAddress],
  ["-d", optAddress],
  ["-p", optProtocol],
  ["-i", optInterface],
  ["-o", optInterface],
  [
    "-f",
    () => {
      throw iptError("pktpath does not model fragments (-f)");
    },
  ],
  ["-m", optMatch],
  ["-j", optJump],
  ["-g", optJump],
]);

/** The base options' entries, made once. */
const BASE_OPTS: readonly LongOpt[] = LONG.map(([name, short]) => ({ name, short, owner: "base" as const }));

/** The base options by exact name (getopt_long's exact match, looked up first). */
const BASE_BY_NAME = new Map(BASE_OPTS.map((o) => [o.name, o]));

/** An extension's entries for one owner, made once per (extension's option table, owner): the table is rebuilt per long option. */
const extOptsCache = new WeakMap<object, Map<LongOpt["owner"], readonly LongOpt[]>>();
function extOpts(options: object, owner: LongOpt["owner"]): readonly LongOpt[] {
  let byOwner = extOptsCache.get(options);
  if (!byOwner) extOptsCache.set(options, (byOwner = new Map()));
  let v = byOwner.get(owner);
  if (!v) byOwner.set(owner, (v = Object.keys(options).map((o) => ({ name: o, short: null, owner }))));
  return v;
}

function named(opts: readonly LongOpt[], name: string): LongOpt | undefined {
  for (const o of opts) if (o.name === name) return o;
  return undefined;
}

/**
 * resolveLong(word, optionTable(st, false)) when the word is exactly the name of an
 * option there (the common case), found without building the table; undefined otherwise.
 */
function exactOption(st: ParseState, word: string): LongOpt | undefined {
  const base = BASE_BY_NAME.get(word);
  if (base) return base;
  const targetExt = st.target ? TARGETS.get(st.target.name) : undefined;
  const inTarget = targetExt !== undefined && Object.hasOwn(targetExt.options, word);
  const loaded = st.loaded;
  for (let k = 0; k < loaded.length; k++) {
    const l = loaded[k]!;
    // The target's options come before those of the matches loaded after it.
    if (inTarget && st.targetAt < l.at) break;
    const options = MATCHES.get(l.name)!.options;
    if (Object.hasOwn(options, word)) return named(extOpts(options, k), word);
  }
  return inTarget ? named(extOpts(targetExt.options, "target"), word) : undefined;
}

/** The option table getopt_long searches: the base options, then each extension's as it was loaded. */
function optionTable(st: ParseState, withProto: boolean): readonly (readonly LongOpt[])[] {
  const targetExt = st.target ? TARGETS.get(st.target.name) : undefined;
  const { proto, protoInv } = st.c.rule;
  const pname = withProto && proto && !protoInv ? protoName(proto) : null;
  const protoExt = pname && !st.loaded.some((l) => l.name === pname) ? MATCHES.get(pname) : undefined;
  const t: (readonly LongOpt[])[] = [BASE_OPTS];
  // Matches are loaded in line order; the target goes where it was given among them.
  let targetDone = !targetExt;
  st.loaded.forEach((l, k) => {
    if (!targetDone && st.targetAt < l.at) {
      t.push(extOpts(targetExt!.options, "target"));
      targetDone = true;
    }
    t.push(extOpts(MATCHES.get(l.name)!.options, k));
  });
  if (!targetDone) t.push(extOpts(targetExt!.options, "target"));
  if (protoExt) t.push(extOpts(protoExt.options, st.loaded.length));
  return t;
}

/**
 * A long option, resolved against the base options and those of the extensions loaded
 * so far: a base option becomes its short form, an extension's is returned as found.
 * "--name=value" is split in two words.
 */
function resolveOption(st: ParseState, a: string): { opt: string; ext: LongOpt | null } {
  if (!a.startsWith("--") || a.length <= 2) return { opt: a, ext: null };
  const eq = a.indexOf("=");
  const word = eq > 0 ? a.slice(2, eq) : a.slice(2);
  // command_default(): an unknown option first loads -p's protocol match, then is looked up again.
  const hit = exactOption(st, word) ?? resolveLong(word, optionTable(st, false)) ?? resolveLong(word, optionTable(st, true));
  if (!hit) throw iptError(`unknown option "${eq > 0 ? a.slice(0, eq) : a}"`);
  // -s, -d, -i, -o, -p and -j read argv[optind - 1]: after "--name=", the whole word.
  const value = hit.owner === "base" && WHOLE_WORD.has(hit.short!) ? a : a.slice(eq + 1);
  if (eq > 0) st.argv = [...st.argv.slice(0, st.i), a.slice(0, eq), value, ...st.argv.slice(st.i + 1)];
  if (hit.owner === "base") return { opt: hit.short!, ext: null };
  return { opt: "--" + hit.name, ext: hit };
}

/**
 * A "!" before an option that takes none: xtables_option_parse() words it for the
 * extensions declared as option tables; libxt_set's set match words it its own way.
 */
function notInvertible(ext: string, opt: string): ParseError {
  if (ext === "set") return iptError(`${opt} flag cannot be inverted`);
  return iptError(`${ext}: option "${opt}" cannot be inverted.`, true, true);
}

/** An extension option's argument(s), after checking a "!" before it is allowed. */
function extensionArg(st: ParseState, ext: string, def: OptionDef, opt: string): string | null {
  // libxt_SET's parser never looks at "!".
  if (st.inv && !def.invertible && ext !== "SET") throw notInvertible(ext, opt);
  if (!def.arg) return null;
  const v = nextArg(st, opt);
  if (def.twoArgs) return `${v} ${nextArg(st, opt)}`;
  return v;
}

/** command_default(): an option of the target or of a loaded match goes to its parser. */
function extensionOption(st: ParseState, ext: LongOpt, opt: string): void {
  if (ext.owner === "target") {
    const targetExt = TARGETS.get(st.target!.name)!;
    targetExt.parse(st.target!, ext.name, extensionArg(st, st.target!.name, targetExt.options[ext.name]!, opt), st.inv);
  } else if (typeof ext.owner === "number") {
    // The implicit protocol match, loaded now.
    if (ext.owner === st.loaded.length) loadMatch(st, protoName(st.c.rule.proto)!);
    const l = st.loaded[ext.owner]!;
    const m = MATCHES.get(l.name)!;
    m.parse(l.spec, ext.name, extensionArg(st, l.name, m.options[ext.name]!, opt), st.inv, st.c.rule);
  } else throw iptError(`unknown option "${opt}"`);
  st.inv = false;
}

const WHOLE_WORD = new Set(["-s", "-d", "-i", "-o", "-p", "-j"]);

/** One word of the line (and the arguments its option takes). */
function parseWord(st: ParseState): void {
  const a = st.argv[st.i]!;
  if (a === "--") {
    // getopt: "--" ends the options; do_parse() refuses what follows.
    st.leftover = st.argv.length - st.i - 1;
    st.i = st.argv.length;
    return;
  }
  if (a === "!") {
    if (st.inv) throw iptError("multiple consecutive ! not allowed");
    st.inv = true;
    return;
  }
  const { opt, ext } = resolveOption(st, a);
  const handler = ext === null ? HANDLERS.get(opt) : undefined;
  if (handler) {
    handler(st, opt);
    // do_parse() clears a "!" once any option is read: what did not take it drops it.
    st.inv = false;
    return;
  }
  // do_parse(): printed without iptables' prefix.
  if (!opt.startsWith("-")) throw new ParseError(`Bad argument \`${opt}'\nTry \`iptables -h' or 'iptables --help' for more information.`);
  if (ext === null) throw iptError(`unknown option "${opt}"`);
  extensionOption(st, ext, opt);
}

const NAT_PORT_TARGETS = new Set(["DNAT", "SNAT", "REDIRECT", "MASQUERADE"]);
const PORT_PROTOS = new Set([6, 17, 132, 33, 136]);

/** XT_EXTENSION_MAXNAMELEN counts bytes, the name's NUL included (a UTF-16 unit is at least one byte). */
function nameTooLong(name: string): boolean {
  if (name.length > 28) return true;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) > 0x7f) return Buffer.byteLength(name, "utf8") > 28;
  return false;
}

/** Checks iptables makes while parsing the target's options: a NAT port needs -p. */
function checkNatPort(rule: RuleConfig): void {
  const tgt = rule.target;
  const to = tgt?.opts["to"] as number[] | undefined;
  if (!tgt || !to || to[2]! < 0 || !NAT_PORT_TARGETS.has(tgt.name)) return;
  if (rule.protoInv || !PORT_PROTOS.has(rule.proto)) throw iptError("Need TCP, UDP, SCTP or DCCP with port specification");
}

/** do_parse()'s checks once every option is read, in its order. */
function checkCommand(c: IptCommand): void {
  if (c.srcs.length > 1 || c.dsts.length > 1) {
    if (c.rule.src?.inv || c.rule.dst?.inv) throw iptError("! not allowed with multiple source or destination IP addresses");
    if (c.cmd === "R") throw iptError("Replacement rule does not specify a unique address");
  }
  // XT_EXTENSION_MAXNAMELEN counts bytes, the name's NUL included; -E's new name is not checked.
  if (c.chain !== null && nameTooLong(c.chain)) throw iptError(`chain name \`${c.chain}' too long (must be under 29 chars)`);
  if ("AIDRC".includes(c.cmd) && c.chain !== null) {
    // No output interface before routing, no input interface after it.
    if ((c.chain === "PREROUTING" || c.chain === "INPUT") && c.rule.outIface) throw iptError(`Can't use -o with ${c.chain}\n`);
    if ((c.chain === "POSTROUTING" || c.chain === "OUTPUT") && c.rule.inIface) throw iptError(`Can't use -i with ${c.chain}\n`);
  }
}

/** The end of the line: a dangling "!", no command, then the checks of the whole command. */
function finish(st: ParseState): IptCommand {
  const c = st.c;
  if (st.inv) throw iptError("nothing appropriate following !");
  if (st.leftover > 0) throw iptError("unknown arguments found on commandline");
  if (!st.cmdSet) throw iptError("no command specified");
  checkNatPort(c.rule);
  // The extensions' final checks (options they require).
  for (const m of c.rule.matches) MATCHES.get(m.name)!.final?.(m);
  checkCommand(c);
  // do_parse(): no DROP in the nat table, as a rule's target or a chain's policy.
  if (st.badTable === null && c.table === "nat" && ((c.cmd === "P" && c.arg2 === "DROP") || ("AIRDC".includes(c.cmd) && c.rule.target?.name === "DROP"))) {
    throw iptError(`\nThe "nat" table is not intended for filtering, the use of DROP is therefore inhibited.\n\n`);
  }
  if (st.badTable !== null) throw new ParseError(iptError(`table '${st.badTable}' does not exist\nPerhaps iptables or your kernel needs to be upgraded.`, false).message, false, 3);
  return c;
}

/** Parses iptables' arguments (after the program name) into one command (xshared.c do_parse()). */
export function parseIptables(argv: string[], defaultTable: TableName = "filter"): IptCommand {
  const st = newState(unbundle(argv), defaultTable);
  for (; st.i < st.argv.length; st.i++) parseWord(st);
  return finish(st);
}

export { ParseError };
