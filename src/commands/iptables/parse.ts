// iptables' command line (iptables/xshared.c do_parse): commands, the rule's base
// options, -m matches and -j targets with their own options, "!" inversion.
import { parsePrefix } from "../../wire/ipv4.ts";
import type { MatchSpec, RuleConfig, TableName, TargetSpec } from "../../netfilter/types.ts";
import { isTableName } from "../../netfilter/tables.ts";
import { MATCHES } from "../../netfilter/matches/index.ts";
import { TARGETS } from "../../netfilter/targets/index.ts";
import { type OptionDef, ParseError } from "../../netfilter/ext.ts";

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
}

const LONG: Record<string, string> = {
  "--append": "-A",
  "--insert": "-I",
  "--delete": "-D",
  "--replace": "-R",
  "--new-chain": "-N",
  "--new": "-N",
  "--delete-chain": "-X",
  "--flush": "-F",
  "--zero": "-Z",
  "--policy": "-P",
  "--rename-chain": "-E",
  "--list": "-L",
  "--list-rules": "-S",
  "--check": "-C",
  "--table": "-t",
  "--numeric": "-n",
  "--verbose": "-v",
  "--exact": "-x",
  "--jump": "-j",
  "--goto": "-g",
  "--source": "-s",
  "--src": "-s",
  "--destination": "-d",
  "--dst": "-d",
  "--protocol": "-p",
  "--in-interface": "-i",
  "--out-interface": "-o",
  "--match": "-m",
  "--wait": "-w",
  "--wait-interval": "-W",
  "--set-counters": "-c",
  "--fragment": "-f",
  "--ipv4": "-4",
};

const PROTOS: Record<string, number> = { all: 0, tcp: 6, udp: 17, icmp: 1, sctp: 132, udplite: 136, dccp: 33, gre: 47, esp: 50, ah: 51, ipencap: 4 };

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
  };
  let cmdSet = false;
  let inv = false;
  const loaded: { name: string; spec: MatchSpec }[] = [];
  let target: TargetSpec | null = null;
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
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    if (a === "!") {
      if (inv) throw iptError("multiple consecutive ! not allowed");
      inv = true;
      continue;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const key = eq > 0 ? a.slice(0, eq) : a;
      if (LONG[key]) {
        if (eq > 0) argv = [...argv.slice(0, i), key, a.slice(eq + 1), ...argv.slice(i + 1)];
        a = LONG[key]!;
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
        if (!isTableName(t)) throw iptError(`table '${t}' does not exist\nPerhaps iptables or your kernel needs to be upgraded.`, false);
        c.table = t;
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
        let v = needValue(++i, a);
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
        const m = { addr: (p.addr & (p.plen ? (0xffffffff << (32 - p.plen)) >>> 0 : 0)) >>> 0, plen: p.plen, inv };
        if (a === "-s") c.rule.src = m;
        else c.rule.dst = m;
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
        loaded.push({ name, spec });
        c.rule.matches.push(spec);
        c.hasRule = true;
        continue;
      }
      case "-j":
      case "-g": {
        const name = needValue(++i, a);
        if (target) throw iptError("multiple -j flags not allowed");
        target = { name, opts: {}, goto: a === "-g" };
        c.rule.target = target;
        c.hasRule = true;
        continue;
      }
    }
    if (!a.startsWith("-")) throw iptError(`Bad argument \`${a}'`);
    // An extension option: the target's first, then the matches loaded last first, then -p's implicit match.
    const opt = a.replace(/^--?/, "");
    let handled = false;
    const take = (def: OptionDef): string | null => {
      if (inv && !def.invertible) throw iptError(`cannot have ! before --${opt}`);
      if (!def.arg) return null;
      const v = needValue(++i, a);
      if (def.twoArgs) return `${v} ${needValue(++i, a)}`;
      return v;
    };
    const targetExt = target ? TARGETS.get(target.name) : undefined;
    if (targetExt && targetExt.options[opt]) {
      const def = targetExt.options[opt]!;
      targetExt.parse(target!, opt, take(def), inv);
      handled = true;
    }
    for (let k = loaded.length - 1; k >= 0 && !handled; k--) {
      const ext = MATCHES.get(loaded[k]!.name)!;
      const def = ext.options[opt];
      if (def) {
        ext.parse(loaded[k]!.spec, opt, take(def), inv, c.rule);
        handled = true;
      }
    }
    if (!handled && c.rule.proto && !c.rule.protoInv) {
      const pname = Object.keys(PROTOS).find((k) => PROTOS[k] === c.rule.proto);
      const ext = pname ? MATCHES.get(pname) : undefined;
      if (ext && ext.options[opt] && !loaded.some((l) => l.name === pname)) {
        const spec: MatchSpec = { name: pname!, opts: {} };
        loaded.push({ name: pname!, spec });
        c.rule.matches.push(spec);
        ext.parse(spec, opt, take(ext.options[opt]!), inv, c.rule);
        handled = true;
      }
    }
    if (!handled) throw iptError(`unknown option "${a}"`);
    inv = false;
  }
  if (inv) throw iptError("unexpected ! flag");
  if (!cmdSet) throw iptError("no command specified");
  return c;
}

export { ParseError };
