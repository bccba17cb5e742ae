// Real-kernel mode runs `nft -f -` with a here-document rebuilt from our parsed form, not
// the scenario's text: each command printed back in nft's own syntax (the listing code,
// whose output nft -f takes back: see the round-trip test).
import { chainList, chunked } from "./types.ts";
import { PList } from "../config/plist.ts";
import type { NftCmd, SetBlock, ChainBlock } from "./parser.ts";
import type { Token } from "./lexer.ts";
import { chainText, elemsForRebuild, ruleText, type ListOpts } from "./list.ts";
import type { NftChain, NftRule, NftSetDef, NftTable } from "./types.ts";

const OPTS: ListOpts = { handles: false, numeric: false, stateless: true, now: 0 };

function tableOf(family: NftTable["family"], name: string): NftTable {
  return { family, name, handle: 0, hgen: 0, chains: [], sets: [], flags: [] };
}

function chainOf(name: string, b: ChainBlock | null): NftChain {
  return {
    name,
    handle: 0,
    base: b?.base ? { ...b.base, policy: b.base.policy ?? "accept", seq: 0 } : null,
    rules: (b?.rules ?? []).map((r, i): NftRule => ({ handle: i + 1, stmts: r.stmts, ...(r.comment !== undefined ? { comment: r.comment } : {}) })),
    ...(b?.comment !== undefined ? { comment: b.comment } : {}),
  };
}

function setBody(t: NftTable, b: SetBlock): string {
  const s: NftSetDef = { name: b.name, handle: 0, keyType: b.keyType, dataType: b.dataType, flags: b.flags, timeout: b.timeout, elems: PList.from(b.elems ?? []), anonymous: false, ...(b.comment !== undefined ? { comment: b.comment } : {}) };
  let out = `\t\ttype ${s.keyType.join(" . ")}${s.dataType ? ` : ${s.dataType}` : ""}\n`;
  if (s.flags.length) out += `\t\tflags ${s.flags.join(",")}\n`;
  if (s.timeout) out += `\t\ttimeout ${s.timeout}ms\n`;
  if (s.comment !== undefined) out += `\t\tcomment "${s.comment}"\n`;
  if (s.elems.length) out += `\t\telements = ${elemsForRebuild(t, s, OPTS)}\n`;
  return out;
}

function tokensText(toks: Token[]): string {
  return toks
    .filter((t) => t.kind !== "eof" && t.kind !== "nl")
    .map((t) => (t.kind === "str" ? `"${t.text}"` : t.text))
    .join(" ");
}

function where(c: { family: string; table: string }): string {
  return `${c.family} ${c.table}`;
}

/** One command in nft's syntax. */
function cmdText(c: NftCmd): string {
  switch (c.op) {
    case "list":
      return "";
    case "flush":
      if (c.obj === "ruleset") return `flush ruleset${c.family ? ` ${c.family}` : ""}`;
      return c.obj === "table" ? `flush table ${where(c)}` : `flush ${c.obj} ${where(c)} ${c.name}`;
    case "rename":
      return `rename chain ${where(c)} ${c.chain} ${c.newName}`;
    default:
      break;
  }
  switch (c.obj) {
    case "table": {
      if (c.op === "delete" || c.op === "destroy") return `${c.op} table ${where(c)}`;
      if (c.op !== "add" && c.op !== "create") return "";
      const t = tableOf(c.family, c.table);
      if (!c.block) return `${c.op} table ${where(c)}`;
      let out = `${c.op === "create" ? "create table" : "table"} ${where(c)} {\n`;
      if (c.block.flags.length) out += `\tflags ${c.block.flags.join(",")}\n`;
      if (c.block.comment !== undefined) out += `\tcomment "${c.block.comment}"\n`;
      t.chains = chunked(c.block.chains.map((ch) => chainOf(ch.name, ch.block)));
      for (const s of c.block.sets) out += `\t${s.isMap ? "map" : "set"} ${s.name} {\n${setBody(t, s)}\t}\n`;
      for (const ch of chainList(t)) out += chainText(t, ch, OPTS);
      return out + "}";
    }
    case "chain": {
      if (!("chain" in c)) return c.name !== null ? `${c.op} chain ${where(c)} ${c.name}` : `${c.op} chain ${where(c)} handle ${c.handle}`;
      const t = tableOf(c.family, c.table);
      const ch = chainOf(c.chain, c.block);
      const lines = [`${c.op} chain ${where(c)} ${c.chain}${ch.base ? ` { type ${ch.base.type} hook ${ch.base.hook} priority ${ch.base.prio}; policy ${ch.base.policy}; }` : ""}`];
      for (const r of ch.rules) lines.push(`add rule ${where(c)} ${c.chain} ${ruleText(r, OPTS, t.family === "inet")}`);
      return lines.join("\n");
    }
    case "rule": {
      if (!("rule" in c)) return `${c.op} rule ${where(c)} ${c.chain} handle ${c.handle}`;
      const r: NftRule = { handle: 0, stmts: c.rule.stmts, ...(c.rule.comment !== undefined ? { comment: c.rule.comment } : {}) };
      return `${c.op} rule ${where(c)} ${c.chain}${c.pos ? ` ${c.pos.kind} ${c.pos.n}` : ""} ${ruleText(r, OPTS, c.family === "inet")}`;
    }
    case "set": {
      if (!("set" in c)) return c.name !== null ? `${c.op} set ${where(c)} ${c.name}` : `${c.op} set ${where(c)} handle ${c.handle}`;
      const t = tableOf(c.family, c.table);
      return `${c.op} ${c.set.isMap ? "map" : "set"} ${where(c)} ${c.set.name} {\n${setBody(t, c.set)}}`;
    }
    case "element":
      return `${c.op} element ${where(c)} ${c.set} ${tokensText(c.elems)}`;
    case "map":
      return c.name !== null ? `${c.op} map ${where(c)} ${c.name}` : `${c.op} map ${where(c)} handle ${c.handle}`;
  }
}

/** The input nft -f - gets in real-kernel mode: every parsed command, printed back. */
export function rebuildNft(cmds: NftCmd[]): string {
  return cmds
    .map(cmdText)
    .filter((x) => x)
    .join("\n") + "\n";
}
