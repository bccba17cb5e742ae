// The iptables, iptables-save, iptables-restore and conntrack tools of the netfilter layer.
import type { NetfilterRuntime } from "../runtime.ts";
import type { NetnsConfig } from "../../config/types.ts";
import type { TableConfig, TableName } from "../types.ts";
import { emptyTable, findRule, flushTable, indexOf, IptError, setPolicy, tableOf, TABLES } from "../tables.ts";
import { ParseError } from "../ext.ts";
import { saveTable } from "../save.ts";
import { ToolError, type Tool, type ToolContext } from "../../tool/tool.ts";
import { ShellNotModelled, splitLine } from "../../tool/shell.ts";
import { applyCommand, CommitError, restoreChainLine, RestoreLineFailed } from "./apply.ts";
import { sealEdits } from "../chains.ts";
import { expandRules, IPT_VERSION, iptError, parseIptables } from "./parse.ts";
import { listChains, listRules } from "./list.ts";

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    // nft's "... failed (errno)" exits 4 (RESOURCE_PROBLEM), the kernel's other answers 1.
    if (e instanceof IptError) throw new ToolError(e.message, / failed \(/.test(e.message) ? 4 : 1);
    // An extension's own complaint gets iptables' prefix and hint, as xtables_error() prints it;
    // a PARAMETER_PROBLEM exits 2.
    if (e instanceof ParseError) throw new ToolError(/^(iptables|Bad argument)/.test(e.message) ? e.message : iptError(e.message, true, e.blank).message, e.status);
    throw e;
  } finally {
    // The command's edits are over: the table maps it made are sealed (never changed in place again).
    sealEdits();
  }
}

function lookupSetFor(rt: NetfilterRuntime, ns: string): (name: string) => boolean {
  return (name) => rt.resolveSet(ns, name) !== null;
}

/** The table as it stands, or an empty one when it was never used (listing creates nothing). */
function readTable(ctx: ToolContext, name: TableName): TableConfig {
  return ctx.host.config.netns[ctx.ns]!.ext.netfilter?.tables[name] ?? emptyTable(name);
}

export function iptablesTool(rt: NetfilterRuntime): Tool {
  return (argv, ctx) =>
    wrap(() => {
      const c = parseIptables(argv.slice(1));
      const ns = ctx.ns;
      if (c.cmd === "L" || c.cmd === "S") {
        const t = readTable(ctx, c.table);
        if (c.chain !== null && !t.chains.has(c.chain)) throw new IptError(`iptables ${IPT_VERSION}: chain \`${c.chain}' in table \`${c.table}' is incompatible, use 'nft' tool.`);
        const compiled = rt.compiled(ns, c.table);
        if (c.cmd === "S") return { stdout: listRules(t, c.chain, c.verbose, compiled, c.rulenum) };
        return { stdout: listChains(t, c.chain, c, compiled, c.rulenum) };
      }
      if (c.cmd === "C") {
        const t = readTable(ctx, c.table);
        const chain = t.chains.get(c.chain!);
        // iptables-nft answers a missing chain as a rule it did not find.
        if (!chain) throw new IptError("iptables: Bad rule (does a matching rule exist in that chain?).");
        for (const rule of expandRules(c)) {
          if (findRule(chain, rule) < 0) throw new IptError("iptables: Bad rule (does a matching rule exist in that chain?).");
        }
        return { stdout: "" };
      }
      if (c.cmd === "Z") {
        if (c.chain !== null && !readTable(ctx, c.table).chains.has(c.chain)) throw new IptError("iptables: No chain/target/match by that name.");
        if (ctx.host.config.netns[ns]!.ext.netfilter?.tables[c.table]) {
          ctx.host.change((d) => {
            const t = tableOf(d.netns[ns]!, c.table);
            for (const ch of [...t.chains.values()]) if ((c.chain === null || ch.name === c.chain) && ch.policy !== null && !ch.counted) setPolicy(t, ch.name, ch.policy);
          });
        }
        const compiled = rt.compiled(ns, c.table);
        for (const [name, chain] of compiled?.chains ?? []) {
          if (c.chain !== null && name !== c.chain) continue;
          chain.policyCounters.pkts = chain.policyCounters.bytes = 0;
          chain.rules.forEach((r, i) => {
            if (c.rulenum === null || c.rulenum === i + 1) r.counters.pkts = r.counters.bytes = 0;
          });
        }
        return { stdout: "" };
      }
      // iptables-nft makes a table on its first rule or chain: replacing or deleting in one
      // that was never made finds no chain.
      if (c.cmd === "P" && c.arg2 !== "ACCEPT" && c.arg2 !== "DROP") throw new IptError("iptables: Bad policy name. Run `dmesg' for more information.");
      if (c.cmd === "P" && !TABLES[c.table].chains.some((h) => h.name === c.chain)) throw new IptError("iptables: Bad built-in chain name.");
      if ((c.cmd === "R" || c.cmd === "D") && !ctx.host.config.netns[ns]!.ext.netfilter?.tables[c.table]) {
        throw new IptError("iptables: No chain/target/match by that name.");
      }
      const lookupSet = lookupSetFor(rt, ns);
      const before = ctx.host.config;
      // A comma list of addresses is one rule per address, each applied as its own command.
      const rules = c.hasRule ? expandRules(c) : [c.rule];
      ctx.host.change((draft) => {
        for (const rule of rules) applyCommand(tableOf(draft.netns[ns]!, c.table), { ...c, rule }, lookupSet);
      });
      rt.syncSetRefs(ns, before, ctx.host.config);
      // A rule given with -c starts with those counters.
      if (c.counters && (c.cmd === "A" || c.cmd === "I" || c.cmd === "R")) {
        const chain = rt.compiled(ns, c.table)?.chains.get(c.chain!);
        const idx = c.cmd === "A" ? (chain?.rules.length ?? 1) - 1 : (c.rulenum ?? 1) - 1;
        const r = chain?.rules[idx];
        if (r) [r.counters.pkts, r.counters.bytes] = c.counters;
      }
      return { stdout: "" };
    });
}

/** A date for the banner comments, from the virtual clock (the emulator has no wall time). */
function bannerDate(ms: number): string {
  const d = new Date(Date.UTC(2026, 0, 1) + ms);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

export function iptablesSaveTool(rt: NetfilterRuntime): Tool {
  return (argv, ctx) =>
    wrap(() => {
      let only: TableName | null = null;
      let counters = false;
      for (let i = 1; i < argv.length; i++) {
        const a = argv[i]!;
        if (a === "-t" || a === "--table") {
          const t = argv[++i] ?? "";
          if (!(t in TABLES)) throw new ToolError(`iptables-save ${IPT_VERSION}: Cannot initialize: Table does not exist (do you need to insmod?)`);
          only = t as TableName;
        } else if (a === "-c" || a === "--counters") counters = true;
        else throw new ToolError(`iptables-save ${IPT_VERSION}: unknown option "${a}"`);
      }
      const tables = ctx.host.config.netns[ctx.ns]!.ext.netfilter?.tables ?? {};
      const date = bannerDate(ctx.host.now);
      const out: string[] = [];
      // iptables-nft prints its tables in this fixed order; -t prints the table even when unused.
      for (const name of ["mangle", "raw", "filter", "nat"] as TableName[]) {
        const t = tables[name] ?? (only === name ? emptyTable(name) : undefined);
        if (!t || (only && only !== name)) continue;
        const compiled = rt.compiled(ctx.ns, name);
        const lookup = {
          rule: (chain: string, i: number) => compiled?.chains.get(chain)?.rules[i]?.counters ?? { pkts: 0, bytes: 0 },
          policy: (chain: string) => compiled?.chains.get(chain)?.policyCounters ?? { pkts: 0, bytes: 0 },
        };
        // A kube-proxy table has 100k+ lines: appended one by one (a spread would overflow the call stack).
        out.push(`# Generated by iptables-save ${IPT_VERSION} on ${date}`);
        for (const line of saveTable(t, lookup, counters)) out.push(line);
        out.push(`# Completed on ${date}`);
      }
      return { stdout: out.map((l) => l + "\n").join("") };
    });
}

interface RestoreArgs {
  noflush: boolean;
  counters: boolean;
  /** -T: the one table restored; the others are read and checked, not applied. */
  only: string | null;
}

/** iptables-restore's options (iptables-restore.c's options[]). */
function restoreArgs(argv: string[]): RestoreArgs {
  const out: RestoreArgs = { noflush: false, counters: false, only: null };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-n" || a === "--noflush") out.noflush = true;
    else if (a === "-c" || a === "--counters") out.counters = true;
    else if (a === "-T" || a === "--table") out.only = argv[++i] ?? null;
    else if (a === "-w" || a === "--wait" || a === "-W" || a === "--wait-interval") {
      if (/^\d+$/.test(argv[i + 1] ?? "")) i++;
    } else if (a.startsWith("-")) throw new ToolError(`iptables-restore ${IPT_VERSION}: unknown option "${a}"`);
    else throw new ToolError(`iptables-restore: reading rules from a file is not modelled; give them as a here-document (iptables-restore <<EOF ... EOF)`);
  }
  return out;
}

/** Counters a restore with -c sets once the tables are compiled: a rule's, or a chain's policy's (index null). */
interface CounterSet {
  table: TableName;
  chain: string;
  index: number | null;
  c: [number, number];
}

/** The restore's reading state (do_command_restore()'s locals in iptables-restore.c). */
interface RestoreState {
  args: RestoreArgs;
  nsc: NetnsConfig;
  lookupSet: (name: string) => boolean;
  lineNo: number;
  table: TableConfig | null;
  tableName: TableName | null;
  counterSets: CounterSet[];
  /** A flushed table's jumps may be checked once, at COMMIT, rather than rule by rule (not on the second reading). */
  mayDefer: boolean;
  /** The table being restored has jumps not checked yet. */
  deferJumps: boolean;
}

/** A table whose jumps were checked at COMMIT failed the check: the input is read again, each rule checked, to name the line. */
class RecheckJumps extends Error {}

/**
 * nft_table_validate() once for the whole table: a table that only grew since its flush
 * is valid after every rule when it is valid at the end (loops.ts JumpGraph.validAll).
 */
function checkDeferredJumps(st: RestoreState): void {
  if (!st.deferJumps) return;
  st.deferJumps = false;
  if (!indexOf(st.table!).graph.validAll()) throw new RecheckJumps();
}

function restoreError(n: number, msg: string): ToolError {
  return new ToolError(`iptables-restore ${IPT_VERSION}: ${msg}\nError occurred at line: ${n}\nTry \`iptables-restore -h' or 'iptables-restore --help' for more information.`);
}

/** "*table": starts the table's batch; without --noflush it replaces the table. */
function restoreTableHeader(st: RestoreState, name: string): void {
  if (!(name in TABLES)) throw restoreError(st.lineNo, `Table '${name}' does not exist`);
  checkDeferredJumps(st);
  const tableName = name as TableName;
  st.tableName = tableName;
  if (st.args.only !== null && st.args.only !== name) {
    st.table = emptyTable(tableName);
    return;
  }
  const table = tableOf(st.nsc, tableName);
  // A restore without --noflush replaces the table: flush everything, drop user chains.
  if (!st.args.noflush) flushTable(table);
  st.table = table;
  // A flushed table has no index yet: none is kept rule by rule, the jumps are checked at COMMIT.
  st.deferJumps = st.mayDefer && !st.args.noflush;
}

/** ":chain policy [pkts:bytes]": sets a built-in chain's policy, declares (or flushes) a user chain. */
function restoreChainHeader(st: RestoreState, table: TableConfig, tableName: TableName, line: string): void {
  const m = /^:(\S+)\s+(\S+)(?:\s+\[(\d+):(\d+)\])?$/.exec(line);
  if (!m) throw restoreError(st.lineNo, "Bad chain line");
  const chain = m[1]!;
  let builtin: boolean;
  try {
    builtin = restoreChainLine(table, chain, m[2]!).builtin;
  } catch (e) {
    if (e instanceof RestoreLineFailed) throw new ToolError(`iptables-restore: line ${st.lineNo} failed: ${e.message}`);
    if (e instanceof IptError) throw restoreError(st.lineNo, `${e.message} line ${st.lineNo}: Bad built-in chain name`);
    throw e;
  }
  if (builtin && st.args.counters && m[3] !== undefined) st.counterSets.push({ table: tableName, chain, index: null, c: [Number(m[3]), Number(m[4])] });
}

/**
 * The words of a line splitLine (literal) would split the same way: words of plain
 * characters, '...' and "..." without a backslash. Null when the line has anything else
 * (a backslash, ; & | < > ( ), a # starting a word, an unterminated quote): the shell
 * splitter then reads it. A kube-proxy table is hundreds of thousands of such lines.
 */
function plainWords(text: string): string[] | null {
  const out: string[] = [];
  const n = text.length;
  let word = "";
  let inWord = false;
  for (let i = 0; i < n; ) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9) {
      if (inWord) out.push(word);
      word = "";
      inWord = false;
      i++;
    } else if (c === 39 || c === 34) {
      const end = text.indexOf(c === 39 ? "'" : '"', i + 1);
      if (end < 0) return null;
      const part = text.slice(i + 1, end);
      if (c === 34 && part.includes("\\")) return null;
      word += part;
      inWord = true;
      i = end + 1;
    } else {
      let j = i;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d === 32 || d === 9 || d === 39 || d === 34) break;
        // \ ; & | < > ( ) end the fast path; # only where it starts a word (a comment).
        if (d === 92 || d === 59 || d === 38 || d === 124 || d === 60 || d === 62 || d === 40 || d === 41) return null;
        if (d === 35 && j === i && !inWord) return null;
      }
      word += text.slice(i, j);
      inWord = true;
      i = j;
    }
  }
  if (inWord) out.push(word);
  return out;
}

/** A rule line's words, as the shell gave them to the here-document. */
function restoreWords(lineNo: number, text: string): string[] {
  const fast = plainWords(text);
  if (fast) return fast;
  try {
    return splitLine(text, { literal: true })[0]?.argv ?? [];
  } catch (e) {
    // A here-document's body is expanded by the shell before iptables-restore reads it.
    if (e instanceof ShellNotModelled) throw new ToolError(`iptables-restore: line ${lineNo}: ${e.message}`);
    throw restoreError(lineNo, "unterminated quote");
  }
}

/** "[pkts:bytes] -A chain ...": one iptables command applied to the table being restored. */
function restoreRuleLine(st: RestoreState, table: TableConfig, tableName: TableName, line: string): void {
  // Only a line starting "[" can carry counters.
  const cm = line.charCodeAt(0) === 91 ? /^\[(\d+):(\d+)\]\s+(.*)$/.exec(line) : null;
  const ctr: [number, number] | null = cm ? [Number(cm[1]), Number(cm[2])] : null;
  const words = restoreWords(st.lineNo, cm ? cm[3]! : line);
  let c;
  try {
    c = parseIptables(words, tableName);
    if (c.cmd === "L" || c.cmd === "S" || c.cmd === "Z" || c.cmd === "C") throw new ParseError(`-${c.cmd} is not allowed in iptables-restore`);
    // Only appends and inserts keep the table growing: anything else checks what was deferred first.
    if (st.deferJumps && c.cmd !== "A" && c.cmd !== "I") checkDeferredJumps(st);
    applyCommand(table, c, st.lookupSet, !st.deferJumps);
  } catch (e) {
    // A rule the kernel refused in the batch: iptables-nft names the batch message and its line.
    if (e instanceof CommitError) throw new ToolError(`iptables-restore ${IPT_VERSION}: \nline ${st.lineNo}: ${e.detail}`);
    if (e instanceof IptError || e instanceof ParseError) throw restoreError(st.lineNo, e.message.replace(/^iptables v[^:]*: /, "").split("\n")[0]!);
    throw e;
  }
  const cc = c.counters ?? ctr;
  if (st.args.counters && cc && (c.cmd === "A" || c.cmd === "I")) {
    const chain = table.chains.get(c.chain!)!;
    st.counterSets.push({ table: tableName, chain: c.chain!, index: c.cmd === "A" ? chain.rules.length - 1 : (c.rulenum ?? 1) - 1, c: cc });
  }
}

/** One line of the input: a comment, a table header, COMMIT, a chain line or a rule. */
function restoreLine(st: RestoreState, raw: string): void {
  const line = raw.trim();
  if (!line || line.startsWith("#")) return;
  if (line.startsWith("*")) return restoreTableHeader(st, line.slice(1));
  const { table, tableName } = st;
  if (!table || !tableName) throw restoreError(st.lineNo, "no table specified");
  if (line === "COMMIT") {
    checkDeferredJumps(st);
    st.table = null;
  }
  else if (line.startsWith(":")) restoreChainHeader(st, table, tableName, line);
  else restoreRuleLine(st, table, tableName, line);
}

/** -c: the counters the input gave, set on the compiled rules and policies. */
function setRestoredCounters(rt: NetfilterRuntime, ns: string, sets: CounterSet[]): void {
  for (const s of sets) {
    const chain = rt.compiled(ns, s.table)?.chains.get(s.chain);
    const counters = s.index === null ? chain?.policyCounters : chain?.rules[s.index]?.counters;
    if (counters) [counters.pkts, counters.bytes] = s.c;
  }
}

/**
 * The input applied as one change. With mayDefer, a flushed table's jumps are checked at
 * its COMMIT; an error while some were still unchecked (a rule before it may be the one
 * the kernel refuses) throws RecheckJumps, and nothing is changed.
 */
function restoreInput(ctx: ToolContext, text: string, args: RestoreArgs, counterSets: CounterSet[], rt: NetfilterRuntime, mayDefer: boolean): void {
  const ns = ctx.ns;
  ctx.host.change((draft) => {
    const lookupSet = (name: string) => rt.resolveSet(ns, name) !== null;
    const st: RestoreState = { args, nsc: draft.netns[ns]!, lookupSet, lineNo: 0, table: null, tableName: null, counterSets, mayDefer, deferJumps: false };
    try {
      // Line by line without an array of them all (a kube-proxy table is 600k+ lines).
      for (let at = 0; at <= text.length; ) {
        let end = text.indexOf("\n", at);
        if (end < 0) end = text.length;
        st.lineNo++;
        restoreLine(st, text.slice(at, end));
        at = end + 1;
      }
      if (st.table) throw restoreError(st.lineNo, "COMMIT expected at line " + st.lineNo);
    } catch (e) {
      throw st.deferJumps ? new RecheckJumps() : e;
    }
  });
}

export function iptablesRestoreTool(rt: NetfilterRuntime): Tool {
  return (argv, ctx) =>
    wrap(() => {
      const args = restoreArgs(argv);
      if (ctx.stdin === null) throw new ToolError("iptables-restore: no input: give the rules as a here-document (iptables-restore <<EOF ... EOF)");
      const ns = ctx.ns;
      const text = ctx.stdin;
      const before = ctx.host.config;
      const counterSets: CounterSet[] = [];
      try {
        restoreInput(ctx, text, args, counterSets, rt, true);
      } catch (e) {
        if (!(e instanceof RecheckJumps)) throw e;
        // Read again checking each rule's jumps as it comes: the same answer, with its line.
        counterSets.length = 0;
        restoreInput(ctx, text, args, counterSets, rt, false);
      }
      rt.syncSetRefs(ns, before, ctx.host.config);
      setRestoredCounters(rt, ns, counterSets);
      return { stdout: "" };
    });
}
