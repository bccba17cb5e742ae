// `nft list ...` output as nft 1.0.6 prints it (src/rule.c table_print/chain_print/
// set_print, expression.c set_expr_print/calculate_delim, statement.c).
import { chainList } from "./types.ts";
import { BITMASK_TYPES, type DataType, formatAtom, formatValue, SELECTORS } from "./datatypes.ts";
import type { NftAtom, NftChain, NftElem, NftExpr, NftRhs, NftRule, NftRuleset, NftSel, NftSetDef, NftStmt, NftTable, NftVerdict } from "./types.ts";

export interface ListOpts {
  handles: boolean;
  numeric: boolean;
  stateless: boolean;
  now: number;
  /** Counter values of a rule's counter statements, by statement index. */
  counter?: (rule: NftRule, i: number) => { packets: number; bytes: number } | null;
  /** Elements a set holds besides its configured ones (added from the packet path). */
  dynamic?: (table: NftTable, set: NftSetDef) => NftElem[];
}

// chain_prio2str(): a standard priority name within 10 of the value, if the hook allows it.
const STD_PRIOS: [string, number, string | null][] = [
  ["raw", -300, null],
  ["mangle", -150, null],
  ["dstnat", -100, "prerouting"],
  ["filter", 0, null],
  ["security", 50, null],
  ["srcnat", 100, "postrouting"],
];

export function prioText(prio: number, hook: string): string {
  for (const [name, val, only] of STD_PRIOS) {
    if (only && only !== hook) continue;
    const off = prio - val;
    if (off === 0) return name;
    if (off >= -10 && off <= 10) return `${name} ${off > 0 ? "+" : "-"} ${Math.abs(off)}`;
  }
  return String(prio);
}

export function formatTime(ms: number): string {
  let out = "";
  let rest = ms;
  for (const [unit, n] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ] as [string, number][]) {
    const q = Math.floor(rest / n);
    if (q) out += `${q}${unit}`;
    rest -= q * n;
  }
  return out || "0s";
}

function selText(s: NftSel): string {
  switch (s.name) {
    case "meta iifname":
    case "meta oifname":
    case "meta iif":
    case "meta oif":
      return s.name.slice(5);
    case "numgen":
      return `numgen ${s.mode} mod ${s.mod}${s.offset ? ` offset ${s.offset}` : ""}`;
    case "jhash":
      return `jhash ${s.of!.map(selText).join(" . ")} mod ${s.mod}${s.seed !== undefined ? ` seed 0x${s.seed.toString(16)}` : ""}${s.offset ? ` offset ${s.offset}` : ""}`;
    default:
      return s.name;
  }
}

function typesOf(e: NftExpr): DataType[] {
  return e.sels.map((s) => SELECTORS[s.name]!.type);
}

function slashForm(e: NftExpr): boolean {
  return e.slash === true || (e.mask !== undefined && BITMASK_TYPES.has(typesOf(e)[0]!));
}

function exprText(e: NftExpr, numeric: boolean): string {
  let t = e.sels.map(selText).join(" . ");
  const ty = typesOf(e)[0]!;
  if (e.mask !== undefined && !slashForm(e)) t += ` & ${formatValue(ty, e.mask, numeric)}`;
  if (e.or !== undefined) t += ` | ${formatValue(ty, e.or, numeric)}`;
  if (e.xor !== undefined) t += ` ^ ${formatValue(ty, e.xor, numeric)}`;
  return t;
}

function verdictText(v: NftVerdict): string {
  return v.chain !== undefined ? `${v.code} ${v.chain}` : v.code;
}

function atomsText(types: DataType[], atoms: NftAtom[], numeric: boolean): string {
  return atoms.map((a, i) => formatAtom(types[i] ?? types[0]!, a, numeric)).join(" . ");
}

/** Key bytes of an element as the kernel stores them: 4-byte registers, network order. */
function keyBytes(types: DataType[], e: NftElem): number[] {
  const out: number[] = [];
  e.key.parts.forEach((p, i) => {
    const v = p.k === "val" ? p.v : p.k === "range" ? p.lo : p.v;
    const bits = types[i] === "inet_service" ? 16 : types[i] === "inet_proto" ? 8 : 32;
    const n = typeof v === "number" ? v : 0;
    const bytes = bits === 32 ? [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255] : bits === 16 ? [(n >>> 8) & 255, n & 255, 0, 0] : [n & 255, 0, 0, 0];
    out.push(...bytes);
  });
  return out;
}

/** list_expr_sort(): by value; a concatenation compares as one host-order (little-endian) number. */
export function sortElems(types: DataType[], elems: NftElem[]): NftElem[] {
  if (types.length === 1) {
    const v = (e: NftElem): number | string => {
      const p = e.key.parts[0]!;
      return p.k === "val" ? p.v : p.k === "range" ? p.lo : p.v;
    };
    return [...elems].sort((a, b) => {
      const x = v(a);
      const y = v(b);
      return typeof x === "number" && typeof y === "number" ? x - y : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
    });
  }
  const keys = new Map(elems.map((e) => [e, keyBytes(types, e)]));
  return [...elems].sort((a, b) => {
    const x = keys.get(a)!;
    const y = keys.get(b)!;
    for (let i = x.length - 1; i >= 0; i--) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return 0;
  });
}

function perLine(types: DataType[]): number {
  if (types.length !== 1) return 1;
  const t = types[0]!;
  if (["integer", "inet_proto", "inet_service", "tcp_flag", "mark", "iface_index", "ct_dir", "nf_proto"].includes(t)) return 5;
  if (["ipv4_addr", "ct_state", "ifname"].includes(t)) return 2;
  return 1;
}

function elemText(types: DataType[], dataType: string | null, e: NftElem, o: ListOpts, setTimeout: number): string {
  let t = atomsText(types, e.key.parts, o.numeric);
  if (e.timeout && e.timeout !== setTimeout) t += ` timeout ${formatTime(e.timeout)}`;
  if (e.expires !== undefined && e.timeout) t += ` expires ${formatTime(Math.max(0, e.expires - o.now))}`;
  if (e.comment !== undefined) t += ` comment "${e.comment}"`;
  if (e.data) t += ` : ${e.data.k === "verdict" ? verdictText(e.data.v) : atomsText((dataType ?? "").split(" . ") as DataType[], e.data.parts, o.numeric)}`;
  return t;
}

/** set_expr_print(): anonymous sets on one line; named ones wrapped by calculate_delim(). */
function elemsText(types: DataType[], dataType: string | null, elems: NftElem[], o: ListOpts, anonymous: boolean, setTimeout: number): string {
  const sorted = sortElems(types, elems);
  const n = perLine(types);
  let out = "{ ";
  let count = 0;
  sorted.forEach((e, i) => {
    if (i > 0) {
      if (anonymous || count < n) out += ", ";
      else {
        out += ",\n\t\t\t     ";
        count = 0;
      }
    }
    out += elemText(types, dataType, e, o, setTimeout);
    count++;
  });
  return out + " }";
}

function rhsText(types: DataType[], r: NftRhs, o: ListOpts, dataType: string | null): string {
  if (r.k === "ref") return `@${r.name}`;
  if (r.k === "set") return elemsText(types, dataType, r.elems, o, true, 0);
  return atomsText(types, r.atoms, o.numeric);
}

const L4_OF: Record<string, number> = { tcp: 6, udp: 17, icmp: 1 };

/** netlink_delinearize's payload dependency removal: `ip protocol tcp tcp dport 80` lists as `tcp dport 80`. */
function isDependency(s: NftStmt, next: NftStmt | undefined): boolean {
  if (s.k !== "match" || !next || next.k !== "match") return false;
  if (s.left.sels.length !== 1 || s.left.mask !== undefined || (s.op !== "implicit" && s.op !== "==")) return false;
  const n = s.left.sels[0]!.name;
  if (n !== "ip protocol" && n !== "meta l4proto") return false;
  if (s.right.k !== "atoms" || s.right.atoms.length !== 1 || s.right.atoms[0]!.k !== "val") return false;
  const proto = s.right.atoms[0]!.v;
  const first = next.left.sels[0]!.name.split(" ")[0]!;
  return L4_OF[first] === proto;
}

export function stmtText(s: NftStmt, o: ListOpts, counter: { packets: number; bytes: number } | null, inet: boolean): string {
  switch (s.k) {
    case "match": {
      const types = typesOf(s.left);
      let op = "";
      if (s.op === "!=") op = "!= ";
      else if (s.op === "==" && s.left.mask !== undefined && !slashForm(s.left)) op = "== ";
      else if (s.op !== "implicit" && s.op !== "==") op = `${s.op} `;
      let t = `${exprText(s.left, o.numeric)} ${op}${rhsText(types, s.right, o, null)}`;
      if (slashForm(s.left) && s.left.mask !== undefined) t += ` / ${formatValue(types[0]!, s.left.mask, o.numeric)}`;
      return t;
    }
    case "verdict":
      return verdictText(s.v);
    case "vmap":
      return `${exprText(s.left, o.numeric)} vmap ${rhsText(typesOf(s.left), s.map, o, "verdict")}`;
    case "counter":
      return o.stateless ? "counter" : `counter packets ${counter?.packets ?? s.packets} bytes ${counter?.bytes ?? s.bytes}`;
    case "log":
      return `log${s.prefix !== undefined ? ` prefix "${s.prefix}"` : ""}${s.level !== undefined ? ` level ${s.level}` : ""}`;
    case "reject":
      if (s.with === "tcp reset") return "reject with tcp reset";
      if (s.code === 3) return "reject";
      return `reject with icmp ${["net-unreachable", "host-unreachable", "prot-unreachable", "port-unreachable"][s.code!] ?? { 9: "net-prohibited", 10: "host-prohibited", 13: "admin-prohibited" }[s.code!] ?? s.code}`;
    case "mark":
      return `${s.ct ? "ct" : "meta"} mark set ${typeof s.value === "number" ? formatValue("mark", s.value) : exprText(s.value, o.numeric)}`;
    case "nat": {
      const to = s.map
        ? `${exprText(s.map.left, o.numeric)} map ${rhsText(typesOf(s.map.left), s.map.map, o, "ipv4_addr . inet_service")}`
        : `${s.addr ? formatAtom("ipv4_addr", s.addr) : ""}${s.port ? `:${formatAtom("inet_service", s.port)}` : ""}`;
      return `${s.type}${inet ? " ip" : ""} to ${to}${s.flags.length ? ` ${s.flags.join(",")}` : ""}`;
    }
    case "masquerade":
    case "redirect":
      return `${s.k}${s.ports ? ` to :${s.ports[0]}${s.ports[1] !== s.ports[0] ? `-${s.ports[1]}` : ""}` : ""}${s.flags.length ? ` ${s.flags.join(",")}` : ""}`;
    case "notrack":
      return "notrack";
    case "limit":
      return `limit rate ${s.over ? "over " : ""}${s.rate}/${s.unit}${s.burst !== undefined && s.burst !== 5 ? ` burst ${s.burst} packets` : ""}`;
    case "setupd":
      return `${s.op} @${s.set} { ${exprText(s.key, o.numeric)}${s.timeout ? ` timeout ${formatTime(s.timeout)}` : ""} }`;
  }
}

export function ruleText(r: NftRule, o: ListOpts, inet: boolean): string {
  const parts: string[] = [];
  r.stmts.forEach((s, i) => {
    if (isDependency(s, r.stmts[i + 1])) return;
    parts.push(stmtText(s, o, o.counter ? o.counter(r, i) : null, inet));
  });
  if (r.comment !== undefined) parts.push(`comment "${r.comment}"`);
  return parts.join(" ");
}

function handle(o: ListOpts, h: number): string {
  return o.handles ? ` # handle ${h}` : "";
}

export function chainText(t: NftTable, c: NftChain, o: ListOpts, rules = true): string {
  let out = `\tchain ${c.name} {${handle(o, c.handle)}\n`;
  if (c.comment !== undefined) out += `\t\tcomment "${c.comment}"\n`;
  if (c.base) out += `\t\ttype ${c.base.type} hook ${c.base.hook} priority ${o.numeric ? c.base.prio : prioText(c.base.prio, c.base.hook)}; policy ${c.base.policy};\n`;
  if (rules) for (const r of c.rules) out += `\t\t${ruleText(r, o, t.family === "inet")}${handle(o, r.handle)}\n`;
  return out + "\t}\n";
}

const FLAG_ORDER = ["constant", "dynamic", "interval", "timeout"];

export function setText(t: NftTable, s: NftSetDef, o: ListOpts): string {
  const kind = s.dataType ? "map" : "set";
  let out = `\t${kind} ${s.name} {${handle(o, s.handle)}\n`;
  out += `\t\ttype ${s.keyType.join(" . ")}${s.dataType ? ` : ${s.dataType}` : ""}\n`;
  const dynamic = isDynamic(t, s);
  const flags = FLAG_ORDER.filter((f) => s.flags.includes(f) || (f === "dynamic" && dynamic));
  if (dynamic) out += `\t\tsize 65535\n`;
  if (flags.length) out += `\t\tflags ${flags.join(",")}\n`;
  if (s.timeout) out += `\t\ttimeout ${formatTime(s.timeout)}\n`;
  if (s.comment !== undefined) out += `\t\tcomment "${s.comment}"\n`;
  const elems = [...s.elems.filter((e) => e.expires === undefined || e.expires > o.now), ...(o.dynamic ? o.dynamic(t, s) : [])];
  if (elems.length) out += `\t\telements = ${elemsText(s.keyType as DataType[], s.dataType, elems, o, false, s.timeout)}\n`;
  return out + "\t}\n";
}

function isDynamic(t: NftTable, s: NftSetDef): boolean {
  return t.chains.some((ch) => ch.some((c) => c.rules.some((r) => r.stmts.some((x) => x.k === "setupd" && x.set === s.name))));
}

export function tableText(t: NftTable, o: ListOpts, what: "all" | "chains" | "sets" | "maps" = "all"): string {
  let out = `table ${t.family} ${t.name} {${handle(o, t.handle)}\n`;
  const blocks: string[] = [];
  if (t.flags.length && what === "all") out += `\tflags ${t.flags.join(",")}\n`;
  if (t.comment !== undefined && what === "all") out += `\tcomment "${t.comment}"\n`;
  for (const s of t.sets) {
    if (s.anonymous) continue;
    if (what === "all" || (what === "sets" && !s.dataType) || (what === "maps" && s.dataType)) blocks.push(setText(t, s, o));
  }
  if (what === "all" || what === "chains") for (const c of chainList(t)) blocks.push(chainText(t, c, o, what === "all"));
  out += blocks.join(what === "all" ? "\n" : "");
  return out + "}\n";
}

export function rulesetText(rs: NftRuleset, o: ListOpts, family: string | null, what: "all" | "chains" | "sets" | "maps" = "all"): string {
  let out = "";
  for (const t of rs.tables) if (family === null || t.family === family) out += tableText(t, o, what);
  return out;
}

export { BITMASK_TYPES };

/** A named set's elements in nft -f syntax (for rebuilt input). */
export function elemsForRebuild(_t: NftTable, s: NftSetDef, o: ListOpts): string {
  return elemsText(s.keyType as DataType[], s.dataType, s.elems.toArray(), o, false, s.timeout);
}
