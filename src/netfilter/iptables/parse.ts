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
 */
function resolveLong(word: string, table: LongOpt[]): LongOpt | null {
  const exact = table.find((o) => o.name === word);
  if (exact) return exact;
  const hits = table.filter((o) => o.name.startsWith(word));
  if (!hits.length) return null;
  const first = hits[0]!;
  const same = (o: LongOpt) => o.owner === first.owner && (o === first || (o.short !== null && o.short === first.short));
  return hits.every(same) ? first : null;
}

const PROTOS: Record<string, number> = { all: 0, tcp: 6, udp: 17, icmp: 1, sctp: 132, udplite: 136, dccp: 33, gre: 47, esp: 50, ah: 51, ipencap: 4 };

/** One address of -s/-d: "A", "A/len" or "A/dotted.mask" (xtables_ipparse_multiple). */
function parseAddrItem(item: string, inv: boolean): AddrMatch {
  let v = item;
  // A dotted netmask (192.168.0.0/255.255.0.0) is a prefix length in disguise.
  const dotted = /^([0-9.]+)\/(\d+\.\d+\.\d+\.\d+)$/.exec(v);
  if (dotted) {
    const m = parsePrefix(dotted[2]!);
    const bits = m ? m.addr.toString(2).replace(/0+$/, "") : "x";
    if (!m || /0/.test(bits)) throw iptError(`invalid mask \`${dotted[2]}' specified`);
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
function unbundle(argv: string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    if (!/^-[A-Za-z0-9]{2,}$/.test(a)) {
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

/** Parses iptables' arguments (after the program name) into one command. */
export function parseIptables(rawArgv: string[], defaultTable: TableName = "filter"): IptCommand {
  let argv = unbundle(rawArgv);
  const c: IptCommand = {
    cmd: "L",
    table: defaultTable,
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
  let cmdSet = false;
  let badTable: string | null = null;
  let inv = false;
  const loaded: { name: string; spec: MatchSpec; at: number }[] = [];
  let target: TargetSpec | null = null;
  let targetAt = 0;
  const setCmd = (cmd: IptCmd) => {
    if (cmdSet) throw iptError("Cannot use -" + cmd + " with -" + c.cmd);
    c.cmd = cmd;
    cmdSet = true;
  };
  const peekOptional = (i: number) => (i < argv.length && !argv[i]!.startsWith("-") && argv[i] !== "!" ? argv[i]! : null);
  const needValue = (i: number, opt: string): string => {
    if (i >= argv.length) throw iptError(`option "${opt}" requires an argument`);
    return argv[i]!;
  };
  // set_option(): -s, -d, -p, -i, -o may be given once.
  const seen = new Set<string>();
  const once = (opt: string) => {
    if (seen.has(opt)) throw iptError(`multiple ${opt} flags not allowed`);
    seen.add(opt);
  };
  // The option table getopt_long searches: the base options, then each extension's as it was loaded.
  const optionTable = (withProto: boolean): LongOpt[] => {
    const t: LongOpt[] = LONG.map(([name, short]) => ({ name, short, owner: "base" as const }));
    const order: { at: number; opts: LongOpt[] }[] = [];
    loaded.forEach((l, k) => order.push({ at: l.at, opts: Object.keys(MATCHES.get(l.name)!.options).map((name) => ({ name, short: null, owner: k })) }));
    const targetExt = target ? TARGETS.get(target.name) : undefined;
    if (targetExt) order.push({ at: targetAt, opts: Object.keys(targetExt.options).map((name) => ({ name, short: null, owner: "target" as const })) });
    order.sort((x, y) => x.at - y.at);
    for (const o of order) t.push(...o.opts);
    const pname = protoName(c.rule.proto);
    if (withProto && c.rule.proto && !c.rule.protoInv && pname && MATCHES.get(pname) && !loaded.some((l) => l.name === pname)) {
      t.push(...Object.keys(MATCHES.get(pname)!.options).map((name) => ({ name, short: null, owner: loaded.length })));
    }
    return t;
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    if (a === "!") {
      if (inv) throw iptError("multiple consecutive ! not allowed");
      inv = true;
      continue;
    }
    // A long option: resolved against the base options and those of the extensions loaded so far.
    let extOpt: LongOpt | null = null;
    if (a.startsWith("--") && a.length > 2) {
      const eq = a.indexOf("=");
      const word = eq > 0 ? a.slice(2, eq) : a.slice(2);
      const table = optionTable(false);
      // command_default(): an unknown option first loads -p's protocol match, then is looked up again.
      const hit = resolveLong(word, table) ?? resolveLong(word, optionTable(true));
      if (!hit) throw iptError(`unknown option "${eq > 0 ? a.slice(0, eq) : a}"`);
      if (eq > 0) argv = [...argv.slice(0, i), a.slice(0, eq), a.slice(eq + 1), ...argv.slice(i + 1)];
      if (hit.owner === "base") a = hit.short!;
      else {
        extOpt = hit;
        a = "--" + hit.name;
      }
    }
    if (a === "--line-numbers") {
      c.lineNumbers = true;
      continue;
    }
    const short = /^-[A-Za-z0-9]$/.test(a) ? a[1]! : null;
    if (short && "AIDRNXFZPELSC".includes(short)) {
      setCmd(short as IptCmd);
      const cmd = short as IptCmd;
      if ("AIDRNPECS".includes(cmd) && cmd !== "S") {
        c.chain = needValue(++i, a);
      } else {
        const opt = peekOptional(i + 1);
        if (opt !== null) {
          c.chain = opt;
          i++;
        }
      }
      if (cmd === "I" || cmd === "D" || cmd === "R" || cmd === "L" || cmd === "S" || cmd === "Z") {
        const n = i + 1 < argv.length && /^\d+$/.test(argv[i + 1]!) ? Number(argv[i + 1]) : null;
        if (n !== null && (cmd !== "L" && cmd !== "S" && cmd !== "Z" ? true : c.chain !== null)) {
          if (n < 1) throw iptError("Invalid rule number `0'");
          c.rulenum = n;
          i++;
        } else if (cmd === "R") throw iptError("-R requires a rule number");
      }
      if (cmd === "P") c.arg2 = needValue(++i, a);
      if (cmd === "E") c.arg2 = needValue(++i, a);
      continue;
    }
    switch (a) {
      case "-t": {
        const t = needValue(++i, a);
        // Checked once the whole line is parsed, as iptables finds out only when it opens the table.
        if (!isTableName(t)) badTable = t;
        else c.table = t;
        continue;
      }
      case "-n":
        c.numeric = true;
        continue;
      case "-v":
        c.verbose = true;
        continue;
      case "-x":
        c.exact = true;
        continue;
      case "-4":
        continue;
      case "-w":
      case "-W":
        if (i + 1 < argv.length && /^\d+$/.test(argv[i + 1]!)) i++;
        continue;
      case "-c": {
        const p = needValue(++i, a);
        const b = needValue(++i, a);
        if (!/^\d+$/.test(p) || !/^\d+$/.test(b)) throw iptError("-c packet counter not numeric");
        c.counters = [Number(p), Number(b)];
        continue;
      }
      case "-s":
      case "-d": {
        once(a);
        // xtables_ipparse_multiple(): a comma list gives one rule per address (and per pair with -d).
        const list = needValue(++i, a)
          .split(",")
          .map((item) => parseAddrItem(item, inv));
        if (a === "-s") {
          c.rule.src = list[0]!;
          c.srcs = list;
        } else {
          c.rule.dst = list[0]!;
          c.dsts = list;
        }
        c.hasRule = true;
        inv = false;
        continue;
      }
      case "-p": {
        once(a);
        const v = needValue(++i, a).toLowerCase();
        const n = PROTOS[v] ?? (/^\d+$/.test(v) && Number(v) < 256 ? Number(v) : null);
        if (n === null) throw iptError(`unknown protocol "${v}" specified`);
        c.rule.proto = n;
        c.rule.protoInv = inv;
        c.hasRule = true;
        inv = false;
        continue;
      }
      case "-i":
      case "-o": {
        once(a);
        const f = parseIface(needValue(++i, a), inv);
        if (a === "-i") c.rule.inIface = f;
        else c.rule.outIface = f;
        c.hasRule = true;
        inv = false;
        continue;
      }
      case "-f":
        throw iptError("pktpath does not model fragments (-f)");
      case "-m": {
        const name = needValue(++i, a);
        if (inv) throw iptError("unexpected ! flag before --match");
        const ext = MATCHES.get(name);
        if (!ext) throw iptError(`Couldn't load match \`${name}':No such file or directory`, true, true);
        const spec: MatchSpec = { name, opts: {} };
        loaded.push({ name, spec, at: i });
        c.rule.matches.push(spec);
        c.hasRule = true;
        continue;
      }
      case "-j":
      case "-g": {
        const name = needValue(++i, a);
        if (target) throw iptError("multiple -j flags not allowed");
        target = { name, opts: {}, goto: a === "-g" };
        targetAt = i;
        c.rule.target = target;
        c.hasRule = true;
        continue;
      }
    }
    // do_parse(): printed without iptables' prefix.
    if (!a.startsWith("-")) throw new ParseError(`Bad argument \`${a}'\nTry \`iptables -h' or 'iptables --help' for more information.`);
    if (extOpt === null) throw iptError(`unknown option "${a}"`);
    const opt = extOpt.name;
    let handled = false;
    const take = (def: OptionDef): string | null => {
      if (inv && !def.invertible) throw iptError(`cannot have ! before --${opt}`);
      if (!def.arg) return null;
      const v = needValue(++i, a);
      if (def.twoArgs) return `${v} ${needValue(++i, a)}`;
      return v;
    };
    if (extOpt.owner === "target") {
      const targetExt = TARGETS.get(target!.name)!;
      targetExt.parse(target!, opt, take(targetExt.options[opt]!), inv);
      handled = true;
    } else if (typeof extOpt.owner === "number") {
      if (extOpt.owner === loaded.length) {
        // The implicit protocol match, loaded now.
        const pname = protoName(c.rule.proto)!;
        const spec: MatchSpec = { name: pname, opts: {} };
        loaded.push({ name: pname, spec, at: i });
        c.rule.matches.push(spec);
      }
      const l = loaded[extOpt.owner]!;
      const ext = MATCHES.get(l.name)!;
      ext.parse(l.spec, opt, take(ext.options[opt]!), inv, c.rule);
      handled = true;
    }
    if (!handled) throw iptError(`unknown option "${a}"`);
    inv = false;
  }
  if (inv) throw iptError("unexpected ! flag");
  if (!cmdSet) throw iptError("no command specified");
  // Checks iptables makes while parsing the target's options: a NAT port needs -p.
  const tgt = c.rule.target;
  const to = tgt?.opts["to"] as number[] | undefined;
  if (tgt && to && to[2]! >= 0 && ["DNAT", "SNAT", "REDIRECT", "MASQUERADE"].includes(tgt.name) && (c.rule.protoInv || ![6, 17, 132, 33, 136].includes(c.rule.proto))) {
    throw iptError("Need TCP, UDP, SCTP or DCCP with port specification");
  }
  // The extensions' final checks (options they require).
  for (const m of c.rule.matches) MATCHES.get(m.name)!.final?.(m);
  if (c.srcs.length > 1 || c.dsts.length > 1) {
    if (c.rule.src?.inv || c.rule.dst?.inv) throw iptError("! not allowed with multiple source or destination IP addresses");
    if (c.cmd === "R") throw iptError("Replacement rule does not specify a unique address");
  }
  // XT_EXTENSION_MAXNAMELEN counts bytes, the name's NUL included; -E's new name is not checked.
  if (c.chain !== null && Buffer.byteLength(c.chain, "utf8") > 28) throw iptError(`chain name \`${c.chain}' too long (must be under 29 chars)`);
  if ("AIDRC".includes(c.cmd) && c.chain !== null) {
    // do_parse(): no output interface before routing, no input interface after it.
    if ((c.chain === "PREROUTING" || c.chain === "INPUT") && c.rule.outIface) throw iptError(`Can't use -o with ${c.chain}\n`);
    if ((c.chain === "POSTROUTING" || c.chain === "OUTPUT") && c.rule.inIface) throw iptError(`Can't use -i with ${c.chain}\n`);
  }
  // do_parse(): no DROP in the nat table, as a rule's target or a chain's policy.
  if (badTable === null && c.table === "nat" && ((c.cmd === "P" && c.arg2 === "DROP") || ("AIRDC".includes(c.cmd) && c.rule.target?.name === "DROP"))) {
    throw iptError(`\nThe "nat" table is not intended for filtering, the use of DROP is therefore inhibited.\n\n`);
  }
  if (badTable !== null) throw new ParseError(iptError(`table '${badTable}' does not exist\nPerhaps iptables or your kernel needs to be upgraded.`, false).message, false, 3);
  return c;
}

export { ParseError };
