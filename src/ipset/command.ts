// The ipset command line (lib/ipset.c ipset_parser, ipset_cmd): environment options,
// the command and its arguments, the element and its options, then the kernel call.
// Returns what ipset prints; throws IpsetError with ipset's wording.
import * as C from "./consts.ts";
import { createSet, destroySets, flushSets, renameSet, swapSets, adtSet } from "./core.ts";
import { IpsetError, kernelError, notModelled, parameterError, syntaxError } from "./errors.ts";
import { commit, type IpsetRuntime, Txn } from "./store.ts";
import type { SetType } from "./settype.ts";
import { findType, isUnmodelledType } from "./types/index.ts";
import { ADT_FLAGS, CREATE_FLAGS, NFPROTO_IPV4, NFPROTO_UNSPEC, Opt, UserData } from "./user/data.ts";
import { dumpOrder, listSet, type ListOptions } from "./user/list.ts";
import { parseSetname, sepIndex } from "./user/parse.ts";
import { printElem } from "./user/print.ts";
import type { CmdSpec, Keyword } from "./user/spec.ts";
import { HELP } from "./help.ts";
import { restoreIpsets } from "./restore.ts";

/** What persists across the lines of a restore (the libipset session). */
export interface Session {
  exist: boolean;
  sorted: boolean;
  quiet: boolean;
  names: boolean;
  terse: boolean;
  mode: "plain" | "save" | null;
  /** Line number in restore mode, 0 otherwise. */
  line: number;
  /** A restore's draft, shared by its lines; null: each command commits its own. */
  tx: Txn | null;
  /** Standard input (a here-document), what `ipset restore` reads. */
  stdin: string | null;
  /** The exit status of an answer that is not an error: 1 after `ipset test` of a missing element. */
  status: number;
}

export function newSession(): Session {
  return { exist: false, sorted: false, quiet: false, names: false, terse: false, mode: null, line: 0, tx: null, stdin: null, status: 0 };
}

type Cmd = "create" | "add" | "del" | "test" | "destroy" | "list" | "save" | "restore" | "flush" | "rename" | "swap" | "help" | "version" | "quit";
type HasArg = "arg2" | "optional" | "none";

/** ipset_commands[]: order matters for prefix matching. */
const COMMANDS: [Cmd, string[], HasArg][] = [
  ["create", ["create", "new", "-N"], "arg2"],
  ["add", ["add", "-A"], "arg2"],
  ["del", ["del", "-D"], "arg2"],
  ["test", ["test", "-T"], "arg2"],
  ["destroy", ["destroy", "x", "-X"], "optional"],
  ["list", ["list", "-L"], "optional"],
  ["save", ["save", "-S"], "optional"],
  ["restore", ["restore", "-R"], "none"],
  ["flush", ["flush", "-F"], "optional"],
  ["rename", ["rename", "e", "-E"], "arg2"],
  ["swap", ["swap", "w", "-W"], "arg2"],
  ["help", ["help", "-h", "-H"], "optional"],
  ["version", ["version", "-v", "-V"], "none"],
  ["quit", ["quit"], "none"],
];

/** ipset_match_cmd(): a prefix of a command name, two leading dashes ignored. */
function matchCmd(arg: string, names: string[]): boolean {
  const a = arg.startsWith("--") ? arg.slice(2) : arg;
  if (!a.length || arg === "-") return false;
  return names.some((n) => n.startsWith(a));
}

/** ipset_match_envopt(): one of two spellings, one of two leading dashes ignored. */
function matchEnv(arg: string, names: string[]): boolean {
  return names.includes(arg.startsWith("--") ? arg.slice(1) : arg);
}

/** Parses the environment options out of args (all positions, as libipset does). */
function envopts(args: string[], s: Session): string[] {
  // (Every environment option starts with a dash: a line without one has none.)
  if (!args.some((a) => a.startsWith("-"))) return args;
  const flags: [string[], keyof Session][] = [
    [["-s", "-sorted"], "sorted"],
    [["-q", "-quiet"], "quiet"],
    [["-!", "-exist"], "exist"],
    [["-n", "-name"], "names"],
    [["-t", "-terse"], "terse"],
  ];
  const out = [...args];
  for (let i = 0; i < out.length; ) {
    if (matchEnv(out[i]!, ["-o", "-output"])) {
      out.splice(i, 1);
      if (i >= out.length) throw parameterError("Missing mandatory argument to option -o");
      const m = out.splice(i, 1)[0]!;
      if (m === "plain" || m === "save") s.mode = m;
      else if (m === "xml" || m === "json") throw notModelled(`-o ${m}`);
      else throw syntaxError(`unknown output mode '${m}'`);
    } else if (matchEnv(out[i]!, ["-r", "-resolve"])) {
      out.splice(i, 1);
    } else if (matchEnv(out[i]!, ["-f", "-file"])) {
      throw notModelled("ipset -file (a scenario has no files)");
    } else {
      const f = flags.find(([n]) => matchEnv(out[i]!, n));
      if (!f) i++;
      else {
        out.splice(i, 1);
        (s as unknown as Record<string, boolean>)[f[1]] = true;
      }
    }
  }
  return out;
}

/** call_parser(): the keywords of a command; the family pass first when pass is true. */
function callParser(args: string[], spec: CmdSpec, d: UserData, familyPass: boolean): void {
  if (!spec.args.length && args.length) throw parameterError(`Unknown argument: \`${args[0]}'`);
  for (let i = 0; i < args.length; ) {
    const optstr = args[i]!;
    const bare = optstr.startsWith("--") ? optstr.slice(2) : optstr;
    const arg: Keyword | undefined = spec.args.find((k) => k.name.includes(bare));
    if (!arg) throw parameterError(`Unknown argument: \`${optstr}'`);
    i++;
    const parse = familyPass === (arg.opt === Opt.FAMILY);
    let value = optstr;
    if (arg.hasArg) {
      if (i >= args.length) throw parameterError(`Missing mandatory argument of option \`${arg.name[0]}'`);
      value = args[i++]!;
    }
    if (!parse) continue;
    if (d.has(arg.opt) && !(arg.opt === Opt.FAMILY && d.isIgnored(Opt.FAMILY))) throw syntaxError(`${arg.name[0]} already specified`);
    arg.parse(d, arg.opt, value);
  }
}

/** check_mandatory() */
function checkMandatory(spec: CmdSpec, d: UserData): void {
  const missing = spec.need.filter((o) => !d.has(o) && !(o === Opt.IP_TO && d.has(Opt.CIDR)));
  if (!missing.length) return;
  const arg = spec.args.find((k) => missing.includes(k.opt));
  if (arg) throw parameterError(`Mandatory option \`${arg.name[0]}' is missing`);
}

function familyName(d: UserData): string {
  return d.family === NFPROTO_IPV4 ? "inet" : d.family === NFPROTO_UNSPEC ? "unspec" : "inet6";
}

/** IPSET_CREATE_FLAGS / IPSET_ADT_FLAGS in option order: check_allowed() names the lowest first. */
const CREATE_ORDER = [...CREATE_FLAGS].sort((a, b) => a - b);
const ADT_ORDER = [...ADT_FLAGS].sort((a, b) => a - b);

/** The options a command spec takes (its full set and its keywords; IP_TO brings CIDR), made once per spec. */
const ALLOWED = new WeakMap<CmdSpec, ReadonlySet<number>>();
function allowedOf(spec: CmdSpec): ReadonlySet<number> {
  let allowed = ALLOWED.get(spec);
  if (!allowed) {
    const a = new Set<number>([...spec.full, ...spec.args.map((k) => k.opt)]);
    if (a.has(Opt.IP_TO)) a.add(Opt.CIDR);
    ALLOWED.set(spec, (allowed = a));
  }
  return allowed;
}

/** check_allowed(): what the command takes (its keywords count, as ipset_type_add() adds them). */
function checkAllowed(type: SetType, cmd: Cmd, spec: CmdSpec, d: UserData): void {
  const allowed = allowedOf(spec);
  for (const o of cmd === "create" ? CREATE_ORDER : ADT_ORDER) {
    if (o < Opt.IP || o >= Opt.FLAGS || allowed.has(o) || !d.has(o)) continue;
    const tail = `is not allowed in command ${cmd} with set type ${type.name} and family ${familyName(d)}`;
    if (o === Opt.CIDR) throw new IpsetError(`IP/CIDR range ${tail}`, "custom");
    if (o === Opt.IP_TO) throw new IpsetError(`FROM-TO IP range ${tail}`, "custom");
    if (o === Opt.PORT_TO) throw new IpsetError(`FROM-TO port range ${tail}`, "custom");
    if (!spec.args.length) throw new IpsetError(`There are not allowed options (${o}) but option list is empty. It's a bug, please report the problem.`, "custom");
    const arg = spec.args.find((k) => k.opt === o);
    if (arg) throw new IpsetError(`${arg.name[0]} parameter ${tail}`, "custom");
    throw new IpsetError(`There are not allowed options (${o}) but can't resolve them. It's a bug, please report the problem.`, "custom");
  }
}

/** ipset_parse_elem(): split on commas per the type's dimensions, parse each part. */
function parseElem(type: SetType, d: UserData, str: string): void {
  const a = sepIndex(str, ",");
  let parts: string[];
  if (type.dimension > 1) {
    if (a < 0) throw syntaxError(`Second element is missing from ${str}.`);
    parts = [str.slice(0, a)];
    const rest = str.slice(a + 1);
    const b = sepIndex(rest, ",");
    if (type.dimension > 2) {
      if (b < 0) throw syntaxError(`Third element is missing from ${str}.`);
      parts.push(rest.slice(0, b), rest.slice(b + 1));
      if (sepIndex(rest.slice(b + 1), ",") >= 0) throw syntaxError(`Three elem separators in ${str}, but settype ${type.name} supports two.`);
    } else {
      if (b >= 0) throw syntaxError(`Two elem separators in ${str}, but settype ${type.name} supports one.`);
      parts.push(rest);
    }
  } else if (a >= 0) {
    if (type.user.compatParseElem) return type.user.compatParseElem(d, Opt.NAME, str);
    throw syntaxError(`Elem separator in ${str}, but settype ${type.name} supports none.`);
  } else parts = [str];
  parts.forEach((p, i) => type.user.elem[i]!.parse(d, type.user.elem[i]!.opt, p));
}

function kernel(code: number, cmd: C.IpsetCmd, type: SetType | null): never {
  throw kernelError(-code, cmd, type ? type.name : null);
}

/** Runs one ipset command line (argv without "ipset") in namespace ns. */
export function ipsetCommand(rt: IpsetRuntime, ns: string, argv: string[], s: Session): string {
  const args = envopts(argv, s);
  const entry = args.length ? COMMANDS.find(([, names]) => matchCmd(args[0]!, names)) : undefined;
  if (!entry) {
    if (args.length) throw parameterError(`No command specified: unknown argument ${args[0]}`);
    throw parameterError("No command specified.");
  }
  const [cmd, names, hasArg] = entry;
  if (s.line && (cmd === "restore" || cmd === "version" || cmd === "help")) throw parameterError(`Command \`${names[0]}' is invalid in restore mode.`);
  let rest = args.slice(1);
  let arg0: string | null = null;
  let arg1: string | null = null;
  if (hasArg === "arg2") {
    if (rest.length < 1) throw parameterError(`Missing mandatory argument to command ${cmd}`);
    if (rest.length < 2) throw parameterError(`Missing second mandatory argument to command ${cmd}`);
    [arg0, arg1] = rest;
    rest = rest.slice(2);
  } else if (hasArg === "optional" && rest.length) {
    arg0 = rest[0]!;
    rest = rest.slice(1);
  }
  if (cmd === "version") return `ipset v${C.IPSET_VERSION}, protocol version: ${C.IPSET_PROTOCOL}\n`;
  if (cmd === "help") return HELP;
  if (cmd === "quit") return "";
  if (cmd === "restore") {
    if (rest.length) throw parameterError(`Unknown argument ${rest[0]}`);
    if (s.stdin === null) throw new IpsetError("ipset restore reads its commands from standard input: give them as a here-document (ipset restore <<EOF ... EOF)", "parameter");
    return restoreIpsets(rt, ns, s.stdin, { exist: s.exist });
  }
  const st = rt.netns(ns);
  if (!st) throw new IpsetError("Kernel error received: No such file or directory");
  const now = rt.host.now;
  if (!s.tx) st.gc(now);
  const tx = s.tx ?? new Txn(st, now);
  const flags = s.exist ? C.IPSET_FLAG_EXIST : 0;
  const d = new UserData();
  let out = "";
  if (cmd === "create") createCmd(rt, tx, d, arg0!, arg1!, rest, flags);
  else if (cmd === "add" || cmd === "del" || cmd === "test") out = adtCmd(tx, d, cmd, arg0!, arg1!, rest, flags, s);
  else {
    if (rest.length) throw parameterError(`Unknown argument ${rest[0]}`);
    if (arg0 !== null) parseSetname(d, Opt.SETNAME, arg0);
    if (cmd === "rename" || cmd === "swap") parseSetname(d, Opt.SETNAME2, arg1!);
    const name = arg0;
    let ret = 0;
    if (cmd === "destroy") ret = destroySets(tx, name, flags);
    else if (cmd === "flush") ret = flushSets(tx, name);
    else if (cmd === "rename") ret = renameSet(tx, arg0!, arg1!);
    else if (cmd === "swap") ret = swapSets(tx, arg0!, arg1!);
    else out = listing(tx, name, cmd, s);
    if (ret) kernel(ret, cmd, null);
  }
  if (!s.tx) commit(rt, ns, tx);
  if (d.warnings.length && !s.quiet) out = `Warning: ${d.warnings.join("\n")}\n` + out;
  return out;
}

/** ipset create SETNAME TYPENAME [create-options]. */
function createCmd(rt: IpsetRuntime, tx: Txn, d: UserData, setname: string, typename: string, rest: string[], flags: number): void {
  parseSetname(d, Opt.SETNAME, setname);
  if (Buffer.byteLength(typename, "utf8") > C.IPSET_MAXNAMELEN - 1) throw syntaxError(`typename '${typename}' is longer than ${C.IPSET_MAXNAMELEN - 1} characters`);
  const t = findType(typename);
  if (!t) {
    if (isUnmodelledType(typename)) throw notModelled(`set type ${typename}`);
    throw syntaxError(`typename '${typename}' is unknown`);
  }
  d.type = t;
  if (t.family !== "unspec") d.family = NFPROTO_IPV4;
  callParser(rest, t.user.create, d, true);
  callParser(rest, t.user.create, d, false);
  checkMandatory(t.user.create, d);
  checkAllowed(t, "create", t.user.create, d);
  if (!d.has(Opt.INITVAL)) d.initval = rt.randomInitval();
  const ret = createSet(tx, t, d, flags);
  if (ret) kernel(ret, "create", t);
}

/** ipset add|del|test SETNAME ENTRY [options]: what test prints. */
function adtCmd(tx: Txn, d: UserData, cmd: "add" | "del" | "test", setname: string, entry: string, rest: string[], flags: number, s: Session): string {
  parseSetname(d, Opt.SETNAME, setname);
  const index = tx.find(setname);
  if (index < 0) kernel(-C.ENOENT, cmd, null);
  const set = tx.get(index)!;
  const type = set.type;
  d.type = type;
  d.family = set.family;
  parseElem(type, d, entry);
  const spec = type.user[cmd];
  callParser(rest, spec, d, false);
  checkMandatory(spec, d);
  checkAllowed(type, cmd, spec, d);
  const ret = adtSet(tx, index, d, cmd === "add" ? C.IPSET_ADD : cmd === "del" ? C.IPSET_DEL : C.IPSET_TEST, flags);
  if (cmd !== "test") {
    if (ret) kernel(ret, cmd, type);
    return "";
  }
  const line = s.quiet ? "" : ret > 0 ? `Warning: ${printElem(type, d)} is in set ${set.name}.\n` : `${printElem(type, d)} is NOT in set ${set.name}.\n`;
  // ipset.c: a test that misses exits 1 (after printing its line).
  if (ret <= 0) s.status = 1;
  return line;
}

/** ipset list / save of one set or of all. */
function listing(tx: Txn, name: string | null, cmd: "list" | "save", s: Session): string {
  const o: ListOptions = { mode: s.mode ?? (cmd === "save" ? "save" : "plain"), terse: s.terse, names: s.names, sorted: s.sorted };
  let indexes: number[];
  if (name === null) indexes = dumpOrder(tx.indexes(), tx);
  else {
    const i = tx.find(name);
    if (i < 0) kernel(-C.ENOENT, cmd, null);
    indexes = [i];
  }
  return indexes.map((i, n) => listSet(tx.get(i)!, tx.refsOf(i), tx, o, n === 0, tx.now)).join("");
}
