// nft's grammar (src/parser_bison.y), reduced to what pktpath models: commands, table /
// chain / set blocks, rules of expressions and statements. Values are typed here, from
// the selector on the left, as nft's evaluation step types them.
import { type Token, tokenize, LexError } from "./lexer.ts";
import { BITMASK_TYPES, type DataType, parseValue, SELECTORS, SET_KEY_TYPES, ValueError } from "./datatypes.ts";
import type { NftAtom, NftData, NftElem, NftExpr, NftFamily, NftHookName, NftRelOp, NftRhs, NftSel, NftStmt, NftVerdict } from "./types.ts";

export class NftSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly col: number,
    readonly end: number,
    /** A second range nft underlines with ~ (the context of the error). */
    readonly ctx: { col: number; end: number } | null = null,
  ) {
    super(message);
  }
}

export interface Loc {
  line: number;
  col: number;
  end: number;
}

export interface ParsedRule {
  stmts: NftStmt[];
  comment?: string;
  loc: Loc;
  /** Where each jump/goto target was written (nft underlines a missing chain's name). */
  targets?: Record<string, Loc>;
}

export interface ChainBlock {
  base: { type: "filter" | "nat" | "route"; hook: NftHookName; prio: number; prioText: string; policy: "accept" | "drop" | null } | null;
  rules: ParsedRule[];
  comment?: string;
  loc: Loc;
}

export interface SetBlock {
  name: string;
  isMap: boolean;
  keyType: string[];
  dataType: string | null;
  flags: string[];
  timeout: number;
  elems: NftElem[] | null;
  comment?: string;
  loc: Loc;
}

export interface TableBlock {
  chains: { name: string; block: ChainBlock; loc: Loc }[];
  sets: SetBlock[];
  flags: string[];
  comment?: string;
}

interface Where {
  family: NftFamily;
  table: string;
  tableLoc: Loc;
}

export type NftCmd =
  | ({ op: "add" | "create"; obj: "table"; block: TableBlock | null; loc: Loc } & Where)
  | ({ op: "add" | "create"; obj: "chain"; chain: string; chainLoc: Loc; block: ChainBlock | null; loc: Loc } & Where)
  | ({ op: "add" | "insert" | "replace"; obj: "rule"; chain: string; chainLoc: Loc; pos: { kind: "handle" | "position" | "index"; n: number; loc: Loc } | null; rule: ParsedRule; loc: Loc } & Where)
  | ({ op: "add" | "create"; obj: "set"; set: SetBlock; loc: Loc } & Where)
  | ({ op: "add" | "create" | "delete" | "destroy"; obj: "element"; set: string; setLoc: Loc; elems: Token[]; loc: Loc } & Where)
  | ({ op: "delete" | "destroy"; obj: "table" | "chain" | "set" | "map"; name: string | null; handle: number | null; nameLoc: Loc; loc: Loc } & Where)
  | ({ op: "delete" | "destroy"; obj: "rule"; chain: string; chainLoc: Loc; handle: number; handleLoc: Loc; loc: Loc } & Where)
  | ({ op: "flush"; obj: "table" | "chain" | "set" | "map"; name: string; nameLoc: Loc; loc: Loc } & Where)
  | { op: "flush"; obj: "ruleset"; family: NftFamily | null; loc: Loc }
  | ({ op: "rename"; obj: "chain"; chain: string; chainLoc: Loc; newName: string; loc: Loc } & Where)
  | { op: "list"; obj: "ruleset" | "tables" | "chains" | "sets" | "maps"; family: NftFamily | null; loc: Loc }
  | ({ op: "list"; obj: "table" | "chain" | "set" | "map"; name: string; nameLoc: Loc; loc: Loc } & Where);

const FAMILIES = new Set(["ip", "ip6", "inet", "arp", "bridge", "netdev"]);
const HOOKS = new Set(["prerouting", "input", "forward", "output", "postrouting", "ingress", "egress"]);
// Standard priority names (chain_priority_names in rule.c), for ip/inet.
const PRIO_NAMES: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };
const NOT_MODELLED = new Set([
  "queue",
  "flow",
  "synproxy",
  "tproxy",
  "dup",
  "fwd",
  "quota",
  "osf",
  "socket",
  "xfrm",
  "ipsec",
  "exthdr",
  "rt",
  "tunnel",
  "meter",
  "objref",
  "secmark",
  "ct helper",
]);
const KEYWORDS = new Set([
  "table",
  "chain",
  "set",
  "map",
  "rule",
  "element",
  "add",
  "create",
  "insert",
  "replace",
  "delete",
  "destroy",
  "flush",
  "rename",
  "list",
  "ruleset",
  "type",
  "hook",
  "priority",
  "policy",
  "accept",
  "drop",
  "jump",
  "goto",
  "return",
  "continue",
  "counter",
  "log",
  "reject",
  "dnat",
  "snat",
  "masquerade",
  "redirect",
  "notrack",
  "limit",
  "comment",
  "elements",
  "flags",
  "timeout",
  "ip",
  "tcp",
  "udp",
  "th",
  "icmp",
  "meta",
  "ct",
  "fib",
  "numgen",
  "jhash",
  "mark",
  "handle",
  "position",
  "index",
  "vmap",
  "to",
  "with",
  "inet",
  "bridge",
  "ip6",
  "filter",
  "nat",
  "route",
  "update",
  "typeof",
  "iifname",
  "oifname",
  "iif",
  "oif",
  "define",
  "include",
]);

function tokName(t: Token): string {
  switch (t.kind) {
    case "eof":
      return "end of file";
    case "nl":
      return "newline";
    case "num":
      return "number";
    case "str":
      return "quoted string";
    case "punct":
      return `'${t.text}'`;
    case "addr":
      return "string";
    default:
      return KEYWORDS.has(t.text) ? t.text : "string";
  }
}

function locOf(t: Token): Loc {
  return { line: t.line, col: t.col, end: t.end };
}

/** Units of a time string: 1d2h3m4s5ms (nft's time_parse). */
export function parseTime(text: string): number | null {
  const re = /(\d+)(ms|d|h|m|s)/gy;
  let ms = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const n = Number(m[1]);
    ms += n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as Record<string, number>)[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== text.length || pos === 0) return /^\d+$/.test(text) ? Number(text) * 1000 : null;
  return ms;
}

export class Parser {
  private i = 0;
  private targets: Record<string, Loc> = {};
  constructor(private readonly toks: Token[]) {}

  static of(text: string): Parser {
    try {
      return new Parser(tokenize(text));
    } catch (e) {
      if (e instanceof LexError) throw new NftSyntaxError(e.message, e.line, e.col, e.end);
      throw e;
    }
  }

  private peek(o = 0): Token {
    return this.toks[Math.min(this.i + o, this.toks.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }
  private is(text: string, o = 0): boolean {
    const t = this.peek(o);
    return (t.kind === "word" || t.kind === "punct") && t.text === text;
  }
  private eat(text: string): boolean {
    if (this.is(text)) {
      this.i++;
      return true;
    }
    return false;
  }
  private fail(t: Token, expecting?: string): never {
    throw new NftSyntaxError(`syntax error, unexpected ${tokName(t)}${expecting ? `, expecting ${expecting}` : ""}`, t.line, t.col, t.end);
  }
  private expect(text: string, expecting?: string): Token {
    const t = this.peek();
    if (!this.eat(text)) this.fail(t, expecting ?? (text.length === 1 ? `'${text}'` : text));
    return t;
  }
  private ident(expecting = "string"): Token {
    const t = this.peek();
    if (t.kind === "str" || (t.kind === "word" && !KEYWORDS.has(t.text)) || t.kind === "num") return this.next();
    // Some keywords are accepted as names where nft's grammar has them as identifiers.
    if (t.kind === "word" && ["filter", "nat", "route", "input", "output", "forward", "prerouting", "postrouting", "mark", "ip", "inet"].includes(t.text)) return this.next();
    return this.fail(t, expecting);
  }
  private number(): number {
    const t = this.peek();
    if (t.kind !== "num") this.fail(t, "number");
    this.next();
    return t.text.startsWith("0x") ? parseInt(t.text, 16) : Number(t.text);
  }
  private valueErr(t: Token, e: unknown): never {
    if (e instanceof ValueError) throw new NftSyntaxError(e.message, t.line, t.col, t.end);
    throw e;
  }
  private endOfStmt(): boolean {
    const t = this.peek();
    return t.kind === "nl" || t.kind === "eof" || (t.kind === "punct" && (t.text === ";" || t.text === "}"));
  }
  private skipSeps(): void {
    while (this.peek().kind === "nl" || this.is(";")) this.next();
  }

  /** A whole input: commands separated by newlines or semicolons. */
  parseInput(): NftCmd[] {
    const cmds: NftCmd[] = [];
    for (;;) {
      this.skipSeps();
      if (this.peek().kind === "eof") return cmds;
      cmds.push(this.command());
      const t = this.peek();
      if (!(t.kind === "nl" || t.kind === "eof" || this.is(";"))) this.fail(t, "newline or semicolon");
    }
  }

  private family(): { family: NftFamily; explicit: boolean } {
    const t = this.peek();
    if (t.kind === "word" && FAMILIES.has(t.text) && !(this.peek(1).kind === "nl" || this.peek(1).kind === "eof" || this.peek(1).text === "{")) {
      this.next();
      if (t.text === "ip6" || t.text === "arp" || t.text === "netdev") {
        throw new NftSyntaxError(`family ${t.text} is not modelled by pktpath (IPv4 only: ip, inet)`, t.line, t.col, t.end);
      }
      if (t.text === "bridge" && !this.is("list", -2) && this.toks[0]?.text !== "list") {
        // NFPROTO_BRIDGE base chains would sit on the bridge hooks beside br_netfilter (NF_BR_PRI_BRNF);
        // the dataplane's bridge hooks carry br_netfilter's IPv4 pass only, so nft bridge chains are refused.
        throw new NftSyntaxError(`family bridge is not modelled by pktpath (bridge-family chains beside br_netfilter are not modelled yet)`, t.line, t.col, t.end);
      }
      return { family: t.text as NftFamily, explicit: true };
    }
    return { family: "ip", explicit: false };
  }

  private where(): Where {
    const { family } = this.family();
    const t = this.ident("string");
    return { family, table: t.text, tableLoc: locOf(t) };
  }

  private command(): NftCmd {
    const t = this.peek();
    const loc = locOf(t);
    if (t.kind !== "word") this.fail(t);
    if (t.text === "table") {
      this.next();
      const w = this.where();
      const block = this.is("{") ? this.tableBlock() : null;
      return { op: "add", obj: "table", ...w, block, loc };
    }
    if (t.text === "define" || t.text === "include") throw new NftSyntaxError(`${t.text} is not modelled by pktpath`, t.line, t.col, t.end);
    const op = t.text;
    if (!["add", "create", "insert", "replace", "delete", "destroy", "flush", "rename", "list", "chain", "set", "map"].includes(op)) this.fail(t);
    this.next();
    const o = this.peek();
    const obj = o.text;
    if (op === "list") return this.listCmd(loc);
    if (op === "flush" && obj === "ruleset") {
      this.next();
      const f = this.peek();
      let family: NftFamily | null = null;
      if (f.kind === "word" && FAMILIES.has(f.text)) family = this.family().family;
      return { op: "flush", obj: "ruleset", family, loc };
    }
    this.next();
    switch (obj) {
      case "table": {
        const w = this.where();
        if (op === "add" || op === "create") return { op, obj: "table", ...w, block: this.is("{") ? this.tableBlock() : null, loc };
        if (op === "delete" || op === "destroy") return { op, obj: "table", ...w, name: w.table, handle: null, nameLoc: w.tableLoc, loc };
        if (op === "flush") return { op, obj: "table", ...w, name: w.table, nameLoc: w.tableLoc, loc };
        break;
      }
      case "chain":
        return this.chainCmd(op, loc) ?? this.fail(o);
      case "rule":
        return this.ruleCmd(op, loc) ?? this.fail(o);
      case "set":
      case "map":
        return this.setCmd(op, obj, loc) ?? this.fail(o);
      case "element": {
        const w = this.where();
        const n = this.ident();
        if (op === "add" || op === "create" || op === "delete" || op === "destroy") {
          const start = this.i;
          this.skipBraces();
          return { op, obj: "element", ...w, set: n.text, setLoc: locOf(n), elems: [...this.toks.slice(start, this.i), this.eofAt(this.toks[this.i - 1]!)], loc };
        }
        break;
      }
      default:
        if (NOT_MODELLED.has(obj) || ["counter", "quota", "limit", "flowtable", "ct", "secmark", "synproxy"].includes(obj)) {
          throw new NftSyntaxError(`${op} ${obj}: stateful objects and flowtables are not modelled by pktpath`, o.line, o.col, o.end);
        }
    }
    return this.fail(o);
  }

  /** OP chain ... (after "chain"); null when OP does not apply to chains. */
  private chainCmd(op: string, loc: Loc): NftCmd | null {
    const w = this.where();
    if ((op === "delete" || op === "destroy") && this.is("handle")) {
      this.next();
      const h = this.peek();
      return { op, obj: "chain", ...w, name: null, handle: this.number(), nameLoc: locOf(h), loc };
    }
    const c = this.ident();
    if (op === "add" || op === "create") return { op, obj: "chain", ...w, chain: c.text, chainLoc: locOf(c), block: this.is("{") ? this.chainBlock() : null, loc };
    if (op === "delete" || op === "destroy") return { op, obj: "chain", ...w, name: c.text, handle: null, nameLoc: locOf(c), loc };
    if (op === "flush") return { op, obj: "chain", ...w, name: c.text, nameLoc: locOf(c), loc };
    if (op === "rename") {
      const n = this.ident();
      return { op, obj: "chain", ...w, chain: c.text, chainLoc: locOf(c), newName: n.text, loc };
    }
    return null;
  }

  /** OP rule ... (after "rule"); null when OP does not apply to rules. */
  private ruleCmd(op: string, loc: Loc): NftCmd | null {
    const w = this.where();
    const c = this.ident();
    let pos: { kind: "handle" | "position" | "index"; n: number; loc: Loc } | null = null;
    if (this.is("handle") || this.is("position") || this.is("index")) {
      const k = this.next().text as "handle" | "position" | "index";
      const h = this.peek();
      pos = { kind: k, n: this.number(), loc: locOf(h) };
    }
    if (op === "delete" || op === "destroy") {
      if (!pos || pos.kind !== "handle") this.fail(this.peek(), "handle");
      return { op, obj: "rule", ...w, chain: c.text, chainLoc: locOf(c), handle: pos.n, handleLoc: pos.loc, loc };
    }
    if (op === "add" || op === "insert" || op === "replace") {
      if (op === "replace" && (!pos || pos.kind !== "handle")) this.fail(this.peek(), "handle");
      return { op, obj: "rule", ...w, chain: c.text, chainLoc: locOf(c), pos, rule: this.rule(), loc };
    }
    return null;
  }

  /** OP set|map ... (after the word); null when OP does not apply to sets. */
  private setCmd(op: string, obj: "set" | "map", loc: Loc): NftCmd | null {
    const w = this.where();
    if ((op === "delete" || op === "destroy") && this.is("handle")) {
      this.next();
      const h = this.peek();
      return { op, obj, ...w, name: null, handle: this.number(), nameLoc: locOf(h), loc };
    }
    const n = this.ident();
    if (op === "add" || op === "create") {
      this.expect("{");
      const set = this.setBlock(n.text, obj === "map", locOf(n));
      return { op, obj: "set", ...w, set, loc };
    }
    if (op === "delete" || op === "destroy") return { op, obj, ...w, name: n.text, handle: null, nameLoc: locOf(n), loc };
    if (op === "flush") return { op, obj, ...w, name: n.text, nameLoc: locOf(n), loc };
    return null;
  }

  private eofAt(t: Token): Token {
    return { kind: "eof", text: "", line: t.line, col: t.end + 1, end: t.end + 1 };
  }

  private skipBraces(): void {
    this.expect("{");
    let depth = 1;
    while (depth > 0) {
      const t = this.next();
      if (t.kind === "eof") this.fail(t, "'}'");
      if (t.kind === "punct" && t.text === "{") depth++;
      if (t.kind === "punct" && t.text === "}") depth--;
    }
  }

  private listCmd(loc: Loc): NftCmd {
    const o = this.next();
    const obj = o.text;
    if (obj === "ruleset" || obj === "tables" || obj === "chains" || obj === "sets" || obj === "maps") {
      const f = this.peek();
      let family: NftFamily | null = null;
      if (f.kind === "word" && FAMILIES.has(f.text)) {
        this.next();
        family = f.text as NftFamily;
      }
      return { op: "list", obj, family, loc };
    }
    if (obj === "table") {
      const w = this.where();
      return { op: "list", obj, ...w, name: w.table, nameLoc: w.tableLoc, loc };
    }
    if (obj === "chain" || obj === "set" || obj === "map") {
      const w = this.where();
      const n = this.ident();
      return { op: "list", obj, ...w, name: n.text, nameLoc: locOf(n), loc };
    }
    return this.fail(o);
  }

  private tableBlock(): TableBlock {
    this.expect("{");
    const b: TableBlock = { chains: [], sets: [], flags: [] };
    for (;;) {
      this.skipSeps();
      const t = this.peek();
      if (this.eat("}")) return b;
      if (this.eat("chain")) {
        const n = this.ident();
        b.chains.push({ name: n.text, block: this.chainBlock(), loc: locOf(n) });
      } else if (this.is("set") || this.is("map")) {
        const isMap = this.next().text === "map";
        const n = this.ident();
        this.expect("{");
        b.sets.push(this.setBlock(n.text, isMap, locOf(n)));
      } else if (this.eat("flags")) {
        b.flags.push(this.ident().text);
      } else if (this.eat("comment")) {
        b.comment = this.str();
      } else this.fail(t);
    }
  }

  private str(): string {
    const t = this.peek();
    if (t.kind !== "str" && t.kind !== "word") this.fail(t, "quoted string");
    this.next();
    return t.text;
  }

  chainBlock(): ChainBlock {
    const open = this.expect("{");
    const b: ChainBlock = { base: null, rules: [], loc: locOf(open) };
    for (;;) {
      this.skipSeps();
      if (this.eat("}")) return b;
      if (this.is("type") && !b.base) {
        this.next();
        const ty = this.next();
        if (!["filter", "nat", "route"].includes(ty.text)) throw new NftSyntaxError(`unknown chain type`, ty.line, ty.col, ty.end);
        this.expect("hook");
        const h = this.next();
        if (!HOOKS.has(h.text)) this.fail(h);
        if (h.text === "ingress" || h.text === "egress") throw new NftSyntaxError(`hook ${h.text} is not modelled by pktpath`, h.line, h.col, h.end);
        this.expect("priority");
        const { prio, text } = this.priority();
        b.base = { type: ty.text as "filter", hook: h.text as NftHookName, prio, prioText: text, policy: null };
        if (!this.is("}")) this.expect(";", "newline or semicolon");
      } else if (this.is("policy")) {
        this.next();
        const p = this.next();
        if (p.text !== "accept" && p.text !== "drop") this.fail(p);
        if (b.base) b.base.policy = p.text;
        if (!this.is("}")) this.expect(";", "newline or semicolon");
      } else if (this.is("comment") && this.peek(1).kind === "str" && (this.peek(2).kind === "nl" || this.is(";", 2))) {
        this.next();
        b.comment = this.str();
      } else {
        b.rules.push(this.rule());
        const e = this.peek();
        if (!(e.kind === "nl" || this.is(";"))) this.fail(e, "newline or semicolon");
      }
    }
  }

  private priority(): { prio: number; text: string } {
    const t = this.peek();
    let base: number;
    let text: string;
    if (t.kind === "num") {
      base = this.number();
      text = String(base);
    } else if (this.is("-") && this.peek(1).kind === "num") {
      this.next();
      base = -this.number();
      text = String(base);
    } else if (t.kind === "word" && Object.hasOwn(PRIO_NAMES, t.text)) {
      this.next();
      base = PRIO_NAMES[t.text]!;
      text = t.text;
      if ((this.is("+") || this.is("-")) && this.peek(1).kind === "num") {
        const sign = this.next().text;
        const n = this.number();
        base += sign === "+" ? n : -n;
        if (n !== 0) text += ` ${sign} ${n}`;
      }
    } else if (t.kind === "word") {
      throw new NftSyntaxError(`'${t.text}' is invalid priority in this context.`, t.line, t.col, t.end);
    } else return this.fail(t);
    return { prio: base, text };
  }

  private setBlock(name: string, isMap: boolean, loc: Loc): SetBlock {
    const b: SetBlock = { name, isMap, keyType: [], dataType: null, flags: [], timeout: 0, elems: null, loc };
    let elemToks: { start: number; end: number } | null = null;
    for (;;) {
      this.skipSeps();
      const t = this.peek();
      if (this.eat("}")) break;
      if (this.eat("type")) {
        b.keyType = [this.typeName()];
        while (this.eat(".")) b.keyType.push(this.typeName());
        if (this.eat(":")) {
          const parts = [this.typeName()];
          while (this.eat(".")) parts.push(this.typeName());
          b.dataType = parts.join(" . ");
        }
      } else if (this.eat("typeof")) {
        b.keyType = [this.selectorType(this.selector())];
        while (this.eat(".")) b.keyType.push(this.selectorType(this.selector()));
        if (this.eat(":")) {
          if (this.is("verdict")) {
            this.next();
            b.dataType = "verdict";
          } else b.dataType = this.selectorType(this.selector());
        }
      } else if (this.eat("flags")) {
        do {
          const f = this.next();
          if (!["constant", "interval", "timeout", "dynamic"].includes(f.text)) throw new NftSyntaxError(`set flag ${f.text} is not modelled by pktpath`, f.line, f.col, f.end);
          b.flags.push(f.text);
        } while (this.eat(","));
      } else if (this.eat("timeout")) {
        const tt = this.peek();
        const ms = parseTime(this.next().text);
        if (ms === null) this.fail(tt);
        b.timeout = ms;
      } else if (this.eat("elements")) {
        this.expect("=");
        const start = this.i;
        this.skipBraces();
        elemToks = { start, end: this.i };
      } else if (this.eat("comment")) {
        b.comment = this.str();
      } else if (this.eat("size") || this.eat("gc-interval")) {
        this.next();
      } else if (this.eat("policy")) {
        this.next();
      } else if (this.eat("counter")) {
        // per-element counters: accepted, not kept
      } else this.fail(t);
    }
    if (!b.keyType.length) throw new NftSyntaxError(`set definition does not specify key`, loc.line, loc.col, loc.end);
    if (isMap && !b.dataType) throw new NftSyntaxError(`map definition does not specify mapping data type`, loc.line, loc.col, loc.end);
    if (elemToks) {
      const sub = new Parser([...this.toks.slice(elemToks.start, elemToks.end), this.eofAt(this.toks[elemToks.end - 1]!)]);
      b.elems = sub.elementList(b.keyType as DataType[], b.dataType, b.flags.includes("interval"));
    }
    return b;
  }

  private typeName(): string {
    const t = this.next();
    if (t.text === "verdict") return t.text;
    if (!SET_KEY_TYPES.has(t.text)) throw new NftSyntaxError(`unknown datatype ${t.text}`, t.line, t.col, t.end);
    return t.text;
  }

  private selectorType(s: NftSel): string {
    return SELECTORS[s.name]!.type;
  }

  /** `{ elem, elem ... }` typed by the set's key and data types. */
  elementList(keyType: DataType[], dataType: string | null, interval: boolean): NftElem[] {
    this.expect("{");
    const out: NftElem[] = [];
    for (;;) {
      this.skipSeps();
      if (this.eat("}")) break;
      const parts: NftAtom[] = [];
      for (let k = 0; k < keyType.length; k++) {
        if (k > 0) this.expect(".");
        parts.push(this.atom(keyType[k]!, interval || keyType.length === 1));
      }
      const e: NftElem = { key: { parts } };
      for (;;) {
        if (this.eat("timeout")) {
          const tt = this.peek();
          const ms = parseTime(this.next().text);
          if (ms === null) this.fail(tt);
          e.timeout = ms;
        } else if (this.eat("expires")) this.next();
        else if (this.eat("comment")) e.comment = this.str();
        else break;
      }
      if (dataType) {
        this.expect(":");
        e.data = this.data(dataType);
      }
      out.push(e);
      this.skipSeps();
      if (this.eat("}")) break;
      this.expect(",", "comma or '}'");
    }
    const t = this.peek();
    if (t.kind !== "eof") this.fail(t);
    return out;
  }

  private data(dataType: string): NftData {
    if (dataType === "verdict") return { k: "verdict", v: this.verdict() };
    const types = dataType.split(" . ") as DataType[];
    const parts: NftAtom[] = [];
    for (let k = 0; k < types.length; k++) {
      if (k > 0) this.expect(".");
      parts.push(this.atom(types[k]!, true));
    }
    return { k: "value", parts };
  }

  private verdict(): NftVerdict {
    const t = this.next();
    if (t.text === "accept" || t.text === "drop" || t.text === "continue" || t.text === "return") return { code: t.text };
    if (t.text === "jump" || t.text === "goto") {
      const c = this.ident();
      if (!Object.hasOwn(this.targets, c.text)) this.targets[c.text] = locOf(c);
      return { code: t.text, chain: c.text };
    }
    return this.fail(t);
  }

  /** One value of a type: a constant, a range a-b, or a prefix a/len. */
  private atom(type: DataType, allowRange: boolean): NftAtom {
    const one = (): number | string => {
      const x = this.next();
      if (x.kind === "eof" || x.kind === "nl" || (x.kind === "punct" && x.text !== "*")) this.fail(x);
      try {
        return parseValue(type, x.text);
      } catch (e) {
        return this.valueErr(x, e);
      }
    };
    const v = one();
    if (allowRange && this.is("/") && type === "ipv4_addr") {
      this.next();
      const lt = this.peek();
      const len = this.number();
      if (len > 32) throw new NftSyntaxError(`Value ${len} exceeds valid range 0-32`, lt.line, lt.col, lt.end);
      return { k: "prefix", v: (v as number) & (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0), len };
    }
    if (allowRange && this.is("-") && typeof v === "number") {
      this.next();
      const hi = one() as number;
      if (hi < v) throw new NftSyntaxError(`Range has zero or negative size`, this.peek(-1).line, this.peek(-1).col, this.peek(-1).end);
      return { k: "range", lo: v, hi };
    }
    return { k: "val", v };
  }

  /** A selector: payload, meta, ct, fib, numgen, jhash. */
  private selector(): NftSel {
    const t = this.next();
    const w = t.text;
    const word = (): string => this.next().text;
    const need = (name: string): NftSel => {
      if (!Object.hasOwn(SELECTORS, name)) throw new NftSyntaxError(`syntax error, unexpected ${name.split(" ").pop()}`, t.line, t.col, this.peek(-1).end);
      return { name };
    };
    switch (w) {
      case "ip":
      case "tcp":
      case "udp":
      case "th":
      case "icmp":
        return need(`${w} ${word()}`);
      case "meta":
        return need(`meta ${word()}`);
      case "mark":
      case "iifname":
      case "oifname":
      case "iif":
      case "oif":
      case "pkttype":
        return { name: `meta ${w}` };
      case "ct": {
        const k = word();
        if (k === "original" || k === "reply") {
          if (this.eat("ip")) return need(`ct ${k} ip ${word()}`);
          return need(`ct ${k} ${word()}`);
        }
        if (k === "helper" || k === "zone" || k === "label" || k === "expiration") throw new NftSyntaxError(`ct ${k} is not modelled by pktpath`, t.line, t.col, this.peek(-1).end);
        return need(`ct ${k}`);
      }
      case "fib": {
        const flags = [word()];
        while (this.eat(".")) flags.push(word());
        const res = word();
        return need(`fib ${flags.join(" . ")} ${res}`);
      }
      case "numgen":
        return this.numgen();
      case "jhash":
        return this.jhash();
      default:
        if (NOT_MODELLED.has(w)) throw new NftSyntaxError(`${w} is not modelled by pktpath`, t.line, t.col, t.end);
        return this.fail(t);
    }
  }

  /** numgen random|inc mod N [offset N], after "numgen". */
  private numgen(): NftSel {
    const mode = this.next().text;
    if (mode !== "random" && mode !== "inc") this.fail(this.peek(-1));
    this.expect("mod");
    const mod = this.number();
    let offset = 0;
    if (this.eat("offset")) offset = this.number();
    return { name: "numgen", mode, mod, offset };
  }

  /** jhash SEL [. SEL ...] mod N [seed N] [offset N], after "jhash". */
  private jhash(): NftSel {
    const of = [this.selector()];
    while (this.eat(".")) of.push(this.selector());
    this.expect("mod");
    const mod = this.number();
    let seed: number | undefined;
    let offset = 0;
    for (;;) {
      if (this.eat("seed")) seed = this.number();
      else if (this.eat("offset")) offset = this.number();
      else break;
    }
    return { name: "jhash", mod, offset, of, ...(seed !== undefined ? { seed } : {}) };
  }

  private expr(): NftExpr {
    const sels = [this.selector()];
    while (this.is(".") ) {
      this.next();
      sels.push(this.selector());
    }
    const e: NftExpr = { sels };
    if (this.is("&") || this.is("|") || this.is("^") || this.is("and") || this.is("or") || this.is("xor")) {
      const op = ({ and: "&", or: "|", xor: "^" } as Record<string, string>)[this.peek().text] ?? this.peek().text;
      this.next();
      const t = this.peek();
      let v = 0;
      const paren = this.eat("(");
      try {
        do v |= parseValue(this.typeOf(e)[0]!, this.next().text) as number;
        while (paren && this.eat("|"));
      } catch (err) {
        return this.valueErr(t, err);
      }
      if (paren) this.expect(")");
      if (op === "&") e.mask = v;
      else if (op === "|") e.or = v;
      else e.xor = v;
    }
    return e;
  }

  private typeOf(e: NftExpr): DataType[] {
    return e.sels.map((s) => SELECTORS[s.name]!.type);
  }

  /** The right-hand side of a relation, typed by the left. */
  private rhs(types: DataType[], dataType: string | null): NftRhs {
    if (this.is("@")) {
      this.next();
      return { k: "ref", name: this.ident().text };
    }
    if (this.is("{")) {
      const start = this.i;
      this.skipBraces();
      const sub = new Parser([...this.toks.slice(start, this.i), this.eofAt(this.toks[this.i - 1]!)]);
      const elems = sub.elementList(types, dataType, true);
      // expr_evaluate_set(): an anonymous set of one element on a single (not concatenated)
      // key becomes that element (`ip daddr { 10.0.0.0/8 }` lists as `ip daddr 10.0.0.0/8`).
      if (dataType === null && types.length === 1 && elems.length === 1 && !elems[0]!.data) return { k: "atoms", atoms: elems[0]!.key.parts };
      return { k: "set", elems };
    }
    const atoms: NftAtom[] = [];
    for (let k = 0; k < types.length; k++) {
      if (k > 0) this.expect(".");
      atoms.push(this.atom(types[k]!, true));
    }
    if (types.length === 1 && BITMASK_TYPES.has(types[0]!) && this.is(",")) {
      let bits = (atoms[0] as { v: number }).v;
      while (this.eat(",")) bits |= (this.atom(types[0]!, false) as { v: number }).v;
      return { k: "atoms", atoms: [{ k: "val", v: bits }], list: true };
    }
    return { k: "atoms", atoms };
  }

  private bitmaskList(type: DataType): number {
    let bits = (this.atom(type, false) as { v: number }).v;
    while (this.eat(",")) bits |= (this.atom(type, false) as { v: number }).v;
    return bits;
  }

  private ports(): [number, number] {
    const lo = this.number();
    let hi = lo;
    if (this.eat("-")) hi = this.number();
    return [lo, hi];
  }

  private natFlags(): string[] {
    const flags: string[] = [];
    for (;;) {
      if (this.is("random") || this.is("fully-random") || this.is("persistent")) flags.push(this.next().text);
      else if (this.eat(",")) continue;
      else return flags;
    }
  }

  /** A rule: statements up to the end of the line, `;` or `}`. */
  rule(): ParsedRule {
    const first = this.peek();
    this.targets = {};
    const r: RuleParts = { stmts: [] };
    while (!this.endOfStmt()) this.ruleItem(r);
    const { stmts, comment } = r;
    if (!stmts.length && comment === undefined) this.fail(this.peek());
    const last = this.peek(-1);
    const targets = this.targets;
    return { stmts, ...(comment !== undefined ? { comment } : {}), loc: { line: first.line, col: first.col, end: last.line === first.line ? last.end : first.end }, ...(Object.keys(targets).length ? { targets } : {}) };
  }

  /** One statement (or the comment) of a rule, added to R. */
  private ruleItem(r: RuleParts): void {
    const t = this.peek();
    const w = t.kind === "word" ? t.text : "";
    if (this.keywordStmt(w, t, r)) return;
    if ((w === "add" || w === "update") && this.is("@", 1)) r.stmts.push(this.setUpdateStmt(w));
    else if (this.isMarkSet(w)) r.stmts.push(this.markSetStmt(w));
    else if (t.kind === "word" && SELECTORS_START.has(w)) r.stmts.push(this.matchStmt());
    else if (t.kind === "word" && NOT_MODELLED.has(w)) throw new NftSyntaxError(`${w} is not modelled by pktpath`, t.line, t.col, t.end);
    else this.fail(t);
  }

  /** The statements that start with their own keyword W (false: W starts none). */
  private keywordStmt(w: string, t: Token, r: RuleParts): boolean {
    switch (w) {
      case "accept":
      case "drop":
      case "continue":
      case "return":
      case "jump":
      case "goto":
        r.stmts.push({ k: "verdict", v: this.verdict() });
        return true;
      case "comment":
        this.next();
        r.comment = this.str();
        return true;
      case "notrack":
        this.next();
        r.stmts.push({ k: "notrack" });
        return true;
      case "dnat":
      case "snat":
        r.stmts.push(this.natStmt(w, t, r.stmts));
        return true;
      case "masquerade":
      case "redirect":
        r.stmts.push(this.masqRedirectStmt(w, t, r.stmts));
        return true;
      case "counter":
        r.stmts.push(this.counterStmt());
        return true;
      case "log":
        r.stmts.push(this.logStmt());
        return true;
      case "reject":
        r.stmts.push(this.rejectStmt());
        return true;
      case "limit":
        r.stmts.push(this.limitStmt());
        return true;
    }
    return false;
  }

  /** counter [packets N bytes N], at "counter". */
  private counterStmt(): NftStmt {
    this.next();
    let packets = 0;
    let bytes = 0;
    if (this.eat("packets")) {
      packets = this.number();
      this.expect("bytes");
      bytes = this.number();
    }
    return { k: "counter", packets, bytes };
  }

  /** log [prefix STR] [level L], at "log". */
  private logStmt(): NftStmt {
    this.next();
    const s: NftStmt = { k: "log" };
    for (;;) {
      if (this.eat("prefix")) s.prefix = this.str();
      else if (this.eat("level")) s.level = this.next().text;
      else break;
    }
    return s;
  }

  /** reject [with tcp reset | with icmp[x] [type] CODE], at "reject". */
  private rejectStmt(): NftStmt {
    this.next();
    if (!this.eat("with")) return { k: "reject", with: "icmp", code: 3 };
    if (this.eat("tcp")) {
      this.expect("reset");
      return { k: "reject", with: "tcp reset" };
    }
    const fam = this.next();
    if (fam.text !== "icmp" && fam.text !== "icmpx") this.fail(fam);
    this.eat("type");
    const c = this.next();
    const codes: Record<string, number> = { "net-unreachable": 0, "host-unreachable": 1, "prot-unreachable": 2, "port-unreachable": 3, "net-prohibited": 9, "host-prohibited": 10, "admin-prohibited": 13, "no-route": 0 };
    const code = Object.hasOwn(codes, c.text) ? codes[c.text] : c.kind === "num" ? Number(c.text) : undefined;
    if (code === undefined) throw new NftSyntaxError(`Could not parse ICMP reject code`, c.line, c.col, c.end);
    return { k: "reject", with: "icmp", code };
  }

  /** limit rate [over] N/UNIT [burst N packets], at "limit". */
  private limitStmt(): NftStmt {
    this.next();
    this.expect("rate");
    const over = this.eat("over");
    const rate = this.number();
    this.expect("/");
    const unit = this.next().text;
    if (!["second", "minute", "hour", "day", "week"].includes(unit)) this.fail(this.peek(-1));
    let burst: number | undefined;
    if (this.eat("burst")) {
      burst = this.number();
      this.expect("packets");
    }
    return { k: "limit", rate, unit, over, ...(burst !== undefined ? { burst } : {}) };
  }

  /** A port in a nat statement needs a transport match before it (PT: the port, T: the statement's keyword). */
  private requireL4Match(stmts: NftStmt[], pt: Token, t: Token): void {
    if (!stmts.some((x) => x.k === "match" && x.left.sels.some((sel) => /^(ip protocol|meta l4proto|tcp|udp|th) /.test(sel.name + " ")))) {
      throw new NftSyntaxError("transport protocol mapping is only valid after transport protocol match", pt.line, pt.col, this.peek(-1).end, { col: t.col, end: t.end });
    }
  }

  /** dnat|snat [ip] to ADDR[:PORT] | to EXPR map SET [flags], at "dnat"/"snat" (T); STMTS: the rule's so far. */
  private natStmt(w: "dnat" | "snat", t: Token, stmts: NftStmt[]): NftStmt {
    this.next();
    this.eat("ip");
    this.expect("to");
    if (this.peek().kind === "word" && SELECTORS_START.has(this.peek().text)) {
      const left = this.expr();
      this.expect("map");
      const map = this.rhs(this.typeOf(left), "ipv4_addr . inet_service");
      return { k: "nat", type: w, map: { left, map }, flags: this.natFlags() };
    }
    const addr = this.is(":") ? undefined : this.atom("ipv4_addr", true);
    let port: NftAtom | undefined;
    if (this.is(":")) {
      this.next();
      const pt = this.peek();
      port = this.atom("inet_service", true);
      this.requireL4Match(stmts, pt, t);
    }
    return { k: "nat", type: w, ...(addr ? { addr } : {}), ...(port ? { port } : {}), flags: this.natFlags() };
  }

  /** masquerade|redirect [to :PORT[-PORT]] [flags], at the keyword (T); STMTS: the rule's so far. */
  private masqRedirectStmt(w: "masquerade" | "redirect", t: Token, stmts: NftStmt[]): NftStmt {
    this.next();
    let ports: [number, number] | undefined;
    if (this.eat("to")) {
      this.expect(":");
      const pt = this.peek();
      ports = this.ports();
      this.requireL4Match(stmts, pt, t);
    }
    const flags = this.natFlags();
    return w === "masquerade" ? { k: "masquerade", flags, ...(ports ? { ports } : {}) } : { k: "redirect", flags, ...(ports ? { ports } : {}) };
  }

  /** add|update @SET { EXPR [timeout T] }, at "add"/"update". */
  private setUpdateStmt(w: "add" | "update"): NftStmt {
    this.next();
    this.next();
    const set = this.ident().text;
    this.expect("{");
    const key = this.expr();
    let timeout: number | undefined;
    if (this.eat("timeout")) {
      const tt = this.peek();
      const ms = parseTime(this.next().text);
      if (ms === null) this.fail(tt);
      timeout = ms;
    }
    this.expect("}");
    return { k: "setupd", op: w, set, key, ...(timeout !== undefined ? { timeout } : {}) };
  }

  /** meta mark set / mark set / ct mark set, at W. */
  private isMarkSet(w: string): boolean {
    return (w === "meta" && this.is("mark", 1) && this.is("set", 2)) || (w === "mark" && this.is("set", 1)) || (w === "ct" && this.is("mark", 1) && this.is("set", 2));
  }

  /** [meta|ct] mark set N|EXPR, at W. */
  private markSetStmt(w: string): NftStmt {
    const ct = w === "ct";
    this.next();
    if (w !== "mark") this.next();
    this.next();
    const v = this.peek();
    let value: NftExpr | number;
    if (v.kind === "num") {
      const n = this.number();
      value = n;
      if (this.is("|") || this.is("&")) throw new NftSyntaxError(`syntax error, unexpected ${this.peek().text}`, this.peek().line, this.peek().col, this.peek().end);
    } else value = this.expr();
    return { k: "mark", ct, value };
  }

  /** EXPR vmap MAP | EXPR [OP] RHS[/MASK], at the selector. */
  private matchStmt(): NftStmt {
    const left = this.expr();
    const types = this.typeOf(left);
    if (this.eat("vmap")) return { k: "vmap", left, map: this.rhs(types, "verdict") };
    if (this.is("map")) throw new NftSyntaxError(`a map lookup outside a statement is not modelled by pktpath`, this.peek().line, this.peek().col, this.peek().end);
    let op: NftRelOp = "implicit";
    const o = this.peek();
    if ((o.kind === "punct" || o.kind === "word") && Object.hasOwn(REL_OPS, o.text)) {
      this.next();
      op = REL_OPS[o.text]!;
    }
    if (this.endOfStmt()) this.fail(this.peek());
    const right = this.rhs(types, null);
    if (this.is("/") && types.length === 1 && BITMASK_TYPES.has(types[0]!) && right.k === "atoms") {
      this.next();
      left.mask = this.bitmaskList(types[0]!);
      left.slash = true;
      if (op === "implicit") op = "==";
    }
    return { k: "match", left, op, right };
  }
}

/** A rule's statements and comment, as they are parsed. */
interface RuleParts {
  stmts: NftStmt[];
  comment?: string;
}

const REL_OPS: Record<string, NftRelOp> = { "==": "==", eq: "==", "!=": "!=", ne: "!=", "<": "<", lt: "<", ">": ">", gt: ">", "<=": "<=", le: "<=", ">=": ">=", ge: ">=" };

const SELECTORS_START = new Set(["ip", "tcp", "udp", "th", "icmp", "meta", "mark", "iifname", "oifname", "iif", "oif", "pkttype", "ct", "fib", "numgen", "jhash"]);

/** Parses a whole input (a file or a command line). */
export function parseNft(text: string): NftCmd[] {
  return Parser.of(text).parseInput();
}

/** Parses the `{ ... }` of an add/delete element command against the set's types. */
export function parseElements(toks: Token[], keyType: string[], dataType: string | null, interval: boolean): NftElem[] {
  return new Parser(toks).elementList(keyType as DataType[], dataType, interval);
}
