// The `nft` tool (nftables userspace, src/main.c and src/libnftables.c): options, input
// from the command line or `-f -` (a here-document), one transaction per input, listings
// and errors as nft prints them, with the caret line under the offending token.
import { ToolError, type Tool } from "../tool/tool.ts";
import type { NftRuntime } from "./runtime.ts";
import { applyCmd, NftError, sealElems } from "./apply.ts";
import { validateTx } from "./validate.ts";
import { abortTx, commitTx } from "./graph.ts";
import { type Loc, type NftCmd, NftSyntaxError, parseNft } from "./parser.ts";
import { chainText, type ListOpts, rulesetText, setText, tableText } from "./list.ts";
import { chainList, emptyRuleset, type NftRuleset } from "./types.ts";
import { iptablesTables, iptablesTableText } from "./iptables.ts";
import { isTableName } from "../netfilter/tables.ts";
import type { NetnsConfig } from "../config/types.ts";

export const NFT_VERSION = "nftables v1.0.6 (Lester Gooch #5)";

export interface NftArgs {
  file: string | null;
  handles: boolean;
  numeric: boolean;
  stateless: boolean;
  check: boolean;
  /** The command line (argv after the options, joined by spaces), when not -f. */
  text: string;
  version: boolean;
}

const SHORT: Record<string, keyof NftArgs> = { a: "handles", n: "numeric", s: "stateless", c: "check" };
const LONG: Record<string, keyof NftArgs> = { "--handle": "handles", "--numeric": "numeric", "--stateless": "stateless", "--check": "check" };

/** nft's getopt loop: options first; what is left is one command line. */
export function parseNftArgs(argv: string[]): NftArgs {
  const a: NftArgs = { file: null, handles: false, numeric: false, stateless: false, check: false, text: "", version: false };
  let i = 1;
  for (; i < argv.length; i++) {
    const o = argv[i]!;
    if (o === "-f" || o === "--file") {
      if (i + 1 >= argv.length) throw new ToolError(`nft: option requires an argument -- 'f'`);
      a.file = argv[++i]!;
    } else if (o.startsWith("--file=")) a.file = o.slice(7);
    else if (o === "-v" || o === "--version") a.version = true;
    else if (LONG[o]) (a[LONG[o]] as boolean) = true;
    else if (o === "-j" || o === "--json") throw new ToolError("nft: --json output is not modelled by pktpath");
    else if (o === "-e" || o === "--echo" || o === "-i" || o === "--interactive" || o === "-I" || o === "--includepath" || o === "-D" || o === "--define") {
      throw new ToolError(`nft: option ${o} is not modelled by pktpath`);
    } else if (/^-[ansc]+$/.test(o) || /^-[ansc]*f$/.test(o)) {
      for (const ch of o.slice(1)) {
        if (ch === "f") {
          if (i + 1 >= argv.length) throw new ToolError(`nft: option requires an argument -- 'f'`);
          a.file = argv[++i]!;
        } else (a[SHORT[ch]!] as boolean) = true;
      }
    } else if (o === "-y" || o === "-N" || o === "-t" || o === "--terse" || o === "-S" || o === "-u" || o === "-T" || o === "-p") {
      // Output and resolution switches that change nothing pktpath prints.
    } else if (o.startsWith("-") && o.length > 1 && !/^-\d/.test(o)) {
      throw new ToolError(`nft: invalid option -- '${o.replace(/^-+/, "")[0]}'`);
    } else break;
  }
  const rest = argv.slice(i);
  if (rest.some((x, k) => k > 0 && /^-[ansc]$/.test(x) && k === rest.length - 1)) {
    const line = rest.join(" ");
    const at = line.lastIndexOf(" -") + 2;
    throw new ToolError(`Error: syntax error, options must be specified before commands\nnft ${line}\n${" ".repeat(at + 3)}^${" ".repeat(Math.max(0, line.length - at - 2))}~~`.trimEnd());
  }
  a.text = rest.join(" ");
  return a;
}

/** The caret line: ~ under the context, ^ under the error (erec_print). */
export function caretLine(loc: Loc, ctx: { col: number; end: number } | null): string {
  const width = Math.max(loc.end, ctx?.end ?? 0);
  const chars: string[] = Array.from({ length: width }, () => " ");
  if (ctx) for (let c = ctx.col; c <= ctx.end; c++) chars[c - 1] = "~";
  for (let c = loc.col; c <= Math.max(loc.col, loc.end); c++) chars[c - 1] = "^";
  return chars.join("").replace(/\s+$/, "");
}

export function formatError(input: string, name: string | null, msg: string, loc: Loc | null, ctx: { col: number; end: number } | null = null): string {
  if (!loc) return `Error: ${msg}`;
  const line = input.split("\n")[loc.line - 1] ?? "";
  const head = name !== null ? `${name}:${loc.line}:${loc.col}-${Math.max(loc.col, loc.end)}: ` : "";
  return `${head}Error: ${msg}\n${line}\n${caretLine(loc, ctx)}`;
}

/** What `nft` runs: the parsed commands of one input, or the refusal. */
export interface NftInput {
  args: NftArgs;
  text: string;
  name: string | null;
  cmds: NftCmd[];
}

/** Reads and parses what nft would: the command line, or `-f -` (stdin). */
export function parseNftInput(argv: string[], stdin: string | null): NftInput {
  const args = parseNftArgs(argv);
  let text = args.text;
  let name: string | null = null;
  if (args.file !== null) {
    if (args.file !== "-" && args.file !== "/dev/stdin") {
      throw new ToolError(`nft -f ${args.file}: reading a file is not modelled by pktpath; give the ruleset as a here-document (nft -f - <<EOF)`);
    }
    if (stdin === null) throw new ToolError(`nft -f ${args.file}: no standard input (give the ruleset as a here-document: nft -f - <<EOF)`);
    text = stdin;
    name = "/dev/stdin";
  }
  try {
    return { args, text, name, cmds: parseNft(text) };
  } catch (e) {
    if (e instanceof NftSyntaxError) throw new ToolError(formatError(text, name, e.message, { line: e.line, col: e.col, end: e.end }, e.ctx));
    throw e;
  }
}

function listOpts(rt: NftRuntime, ns: string, a: NftArgs): ListOpts {
  return {
    handles: a.handles,
    numeric: a.numeric,
    stateless: a.stateless,
    now: rt.host.now,
    counter: (r, i) => rt.counterOf(r, i),
    dynamic: (t, s) => rt.dynamicElems(ns, t, s),
  };
}

/** iptables-nft's tables are nf_tables tables: listed with the ruleset (approximately). */
function iptablesText(rt: NftRuntime, ns: string, family: string | null, stateless: boolean): string {
  if (family !== null && family !== "ip") return "";
  return iptablesTables(rt.host.config, ns)
    .map((t) => iptablesTableText(rt.nf(), ns, t, { stateless }))
    .join("");
}

/** Commands that reach iptables-nft's tables: flush ruleset, delete/flush table ip filter|nat|mangle|raw. */
function applyIptables(n: NetnsConfig, rs: NftRuleset, c: NftCmd): boolean {
  const tables = n.ext.netfilter?.tables;
  if (!tables) return false;
  if (c.op === "flush" && c.obj === "ruleset") {
    if (c.family === null || c.family === "ip") for (const k of Object.keys(tables)) delete tables[k as keyof typeof tables];
    return false;
  }
  if ((c.op === "delete" || c.op === "destroy" || c.op === "flush") && c.obj === "table" && c.family === "ip" && isTableName(c.table) && tables[c.table]) {
    if (rs.tables.some((t) => t.family === "ip" && t.name === c.table)) return false;
    if (c.op === "flush") for (const ch of Object.values(tables[c.table]!.chains)) ch.rules = [];
    else delete tables[c.table];
    return true;
  }
  return false;
}

function list(rt: NftRuntime, ns: string, rs: NftRuleset, c: Extract<NftCmd, { op: "list" }>, input: NftInput): string {
  const o = listOpts(rt, ns, input.args);
  const fail = (loc: Loc): never => {
    throw new ToolError(formatError(input.text, input.name, "No such file or directory", loc));
  };
  switch (c.obj) {
    case "ruleset":
      return iptablesText(rt, ns, c.family, o.stateless) + rulesetText(rs, o, c.family);
    case "tables":
      return (c.family === null || c.family === "ip" ? iptablesTables(rt.host.config, ns).map((t) => `table ip ${t.name}\n`).join("") : "") + rs.tables
        .filter((t) => c.family === null || t.family === c.family)
        .map((t) => `table ${t.family} ${t.name}\n`)
        .join("");
    case "chains":
    case "sets":
    case "maps":
      return rulesetText(rs, o, c.family, c.obj);
    default: {
      const t = rs.tables.find((x) => x.family === c.family && x.name === c.table);
      if (!t && c.obj === "table" && c.family === "ip" && isTableName(c.table)) {
        const ipt = iptablesTables(rt.host.config, ns).find((x) => x.name === c.table);
        if (ipt) return iptablesTableText(rt.nf(), ns, ipt, { stateless: o.stateless });
      }
      if (!t) return fail(c.tableLoc);
      if (c.obj === "table") return tableText(t, o);
      if (c.obj === "chain") {
        const ch = chainList(t).find((x) => x.name === c.name);
        if (!ch) return fail(c.nameLoc);
        return `table ${t.family} ${t.name} {\n${chainText(t, ch, o)}}\n`;
      }
      const s = t.sets.find((x) => x.name === c.name && !x.anonymous && (c.obj === "map") === (x.dataType !== null));
      if (!s) return fail(c.nameLoc);
      return `table ${t.family} ${t.name} {\n${setText(t, s, o)}}\n`;
    }
  }
}

export function nftTool(rt: NftRuntime): Tool {
  return (argv, ctx) => {
    const input = parseNftInput(argv, ctx.stdin);
    if (input.args.version) return { stdout: `${NFT_VERSION}\n` };
    const ns = ctx.ns;
    let out = "";
    const apply = (rs: NftRuleset, n: NetnsConfig | null) => {
      for (const c of input.cmds) {
        if (c.op === "list") out += list(rt, ns, rs, c, input);
        else if (!(n && applyIptables(n, rs, c))) applyCmd(rs, c, { now: rt.host.now });
      }
      const last = [...input.cmds].reverse().find((c) => c.op !== "list");
      if (last) {
        // The kernel refuses the batch at commit; nft underlines the whole command.
        const line = input.text.split("\n")[last.loc.line - 1] ?? "";
        validateTx({ line: last.loc.line, col: last.loc.col, end: line.trimEnd().length + 1 });
      }
      sealElems();
    };
    const before = ctx.host.config;
    try {
      if (input.cmds.every((c) => c.op === "list")) {
        apply(ctx.host.config.netns[ns]!.ext.nftables ?? emptyRuleset(), null);
      } else if (input.args.check) {
        // -c: the transaction is checked and thrown away (NFT_BATCH check, nothing committed).
        apply(structuredClone(ctx.host.config.netns[ns]!.ext.nftables ?? emptyRuleset()), null);
      } else {
        ctx.host.change((d) => {
          const n = d.netns[ns]!;
          n.ext.nftables ??= emptyRuleset();
          apply(n.ext.nftables, n);
        });
        // The references and chain index go with the committed tables (nf_tables_commit).
        commitTx(ctx.host.config.netns[ns]!.ext.nftables);
        // Rules that used ipsets give their references back (ip_set_nfnl_put).
        rt.nf().syncSetRefs(ns, before, ctx.host.config);
      }
    } catch (e) {
      // nf_tables_abort(): every reference count the batch changed is put back.
      abortTx();
      if (e instanceof NftError) throw new ToolError(formatError(input.text, input.name, e.kernel ? `Could not process rule: ${e.message}` : e.message, e.loc));
      throw e;
    } finally {
      // A check (-c) or a listing commits nothing.
      abortTx();
      sealElems();
    }
    return { stdout: out };
  };
}
