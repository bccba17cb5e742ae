// Applying parsed nft commands to a ruleset, as the kernel's transaction does
// (nf_tables_api.c nf_tables_newtable/newchain/newrule/newset/newsetelem and their
// delete counterparts): in order, each checked against what the ones before it made.
import type { Loc, NftCmd, ParsedRule, SetBlock, ChainBlock, TableBlock } from "./parser.ts";
import { NftSyntaxError, parseElements } from "./parser.ts";
import { current, isDraft } from "immer";
import { PList } from "../config/plist.ts";
import { CHAIN_CHUNK, type NftChain, type NftElem, type NftFamily, type NftRule, type NftRuleset, type NftSetDef, type NftStmt, type NftTable } from "./types.ts";
import { chainInUse, elemAdded, elemRemoved, markStale, ruleAdded, ruleRemoved, setInUse, tableGone, touched as touchedObj, touchHooks, txOf, verdictTargets, made, pendingTxs, chunkOf, slotOf, posOf, type ChainIndex } from "./graph.ts";

/** An error nft prints with a caret under loc; kernel errors get "Could not process rule: ". */
export class NftError extends Error {
  constructor(
    message: string,
    readonly loc: Loc | null,
    readonly kernel = true,
  ) {
    super(message);
  }
}

const ENOENT = "No such file or directory";
const EEXIST = "File exists";
const EBUSY = "Device or resource busy";
const EOPNOTSUPP = "Operation not supported";
const EINVAL = "Invalid argument";

export interface ApplyEnv {
  now: number;
}

function findTable(rs: NftRuleset, family: NftFamily, name: string): NftTable | undefined {
  return rs.tables.find((t) => t.family === family && t.name === name);
}

function table(rs: NftRuleset, c: { family: NftFamily; table: string; tableLoc: Loc }): NftTable {
  const t = findTable(rs, c.family, c.table);
  if (!t) throw new NftError(ENOENT, c.tableLoc);
  // The references are counted before the command changes anything (graph.ts).
  txOf(t);
  return t;
}

/**
 * A plain view of config data that may be a draft: what the transaction has made of it,
 * read without making a draft proxy per object (immer's current(); unchanged parts are the
 * committed objects themselves).
 */
export function plain<T>(x: T): T {
  return isDraft(x) ? (current(x as never) as T) : x;
}

/**
 * Chains of a table by name (their positions): built once from a plain view, then kept
 * from one committed table to the next (graph.ts), changed in step with the chain array.
 */
function chainIndex(t: NftTable): ChainIndex {
  const tx = txOf(t);
  if (!tx.idx) {
    const names = plain(t.chains).map((ch) => ch.map((c) => c.name));
    const pos = new Map<string, number>();
    names.forEach((ch, k) => ch.forEach((n, o) => pos.set(n, posOf(k, o))));
    tx.idx = { names, pos };
  }
  return tx.idx;
}
export function findChain(t: NftTable, name: string): NftChain | undefined {
  const i = chainIndex(t).pos.get(name);
  return i === undefined ? undefined : t.chains[chunkOf(i)]![slotOf(i)];
}

/** A new chain goes at the end of the last chunk, or of a new one (nf_tables_addchain: list_add_tail). */
function appendChain(t: NftTable, c: NftChain): NftChain {
  const idx = chainIndex(t);
  let k = idx.names.length - 1;
  if (k < 0 || idx.names[k]!.length >= CHAIN_CHUNK) {
    t.chains.push([]);
    idx.names.push([]);
    k++;
  }
  const chunk = t.chains[k]!;
  chunk.push(c);
  idx.pos.set(c.name, posOf(k, idx.names[k]!.length));
  idx.names[k]!.push(c.name);
  return chunk[chunk.length - 1]!;
}

/** The chain at position i leaves the table; those after it in its chunk move down by one. */
function removeChain(t: NftTable, i: number): void {
  const idx = chainIndex(t);
  const k = chunkOf(i);
  const names = idx.names[k]!;
  t.chains[k]!.splice(slotOf(i), 1);
  idx.pos.delete(names[slotOf(i)]!);
  names.splice(slotOf(i), 1);
  for (let j = slotOf(i); j < names.length; j++) idx.pos.set(names[j]!, posOf(k, j));
}

function chainOf(t: NftTable, name: string, loc: Loc): NftChain {
  const c = findChain(t, name);
  if (!c) throw new NftError(ENOENT, loc);
  return c;
}

function setOf(t: NftTable, name: string, loc: Loc): NftSetDef {
  const s = t.sets.find((x) => x.name === name && !x.anonymous);
  if (!s) throw new NftError(ENOENT, loc);
  return s;
}

function addTable(rs: NftRuleset, family: NftFamily, name: string, create: boolean, loc: Loc): NftTable {
  const t = findTable(rs, family, name);
  if (t) {
    if (create) throw new NftError(EEXIST, loc);
    txOf(t);
    return t;
  }
  const nt: NftTable = { family, name, handle: ++rs.tableHandle, hgen: 0, chains: [], sets: [], flags: [] };
  rs.tables.push(nt);
  made(nt, nt);
  return nt;
}

const NAT_HOOKS = new Set(["prerouting", "input", "output", "postrouting"]);

function addChain(rs: NftRuleset, t: NftTable, name: string, block: ChainBlock | null, create: boolean, loc: Loc): NftChain {
  let c = findChain(t, name);
  if (c && create) throw new NftError(EEXIST, loc);
  if (name.length > 255) throw new NftError("Chain name too long", loc);
  const b = block?.base ?? null;
  if (b) {
    if (b.type === "nat" && !NAT_HOOKS.has(b.hook)) throw new NftError(EOPNOTSUPP, block!.loc);
    if (b.type === "nat" && b.prio <= -200) throw new NftError(EOPNOTSUPP, block!.loc);
    if (b.type === "route" && b.hook !== "output") throw new NftError(EOPNOTSUPP, block!.loc);
  }
  if (!c) {
    c = { name, handle: ++t.hgen, base: null, rules: [] };
    if (b) {
      c.base = { type: b.type, hook: b.hook, prio: b.prio, prioText: b.prioText, policy: b.policy ?? "accept", seq: ++rs.hookSeq };
      touchHooks(t);
    }
    made(t, c);
    c = appendChain(t, c);
  } else if (b) {
    // nf_tables_updchain(): a base chain's hook cannot change; its policy can.
    if (!c.base || c.base.hook !== b.hook || c.base.type !== b.type || c.base.prio !== b.prio) throw new NftError(EBUSY, loc);
    if (b.policy) c.base.policy = b.policy;
  }
  if (block?.comment !== undefined) c.comment = block.comment;
  touchedObj(t, "chain", name);
  return c;
}

function hasNat(stmts: NftStmt[]): boolean {
  return stmts.some((s) => s.k === "nat" || s.k === "masquerade" || s.k === "redirect");
}

function makeRule(rs: NftRuleset, t: NftTable, chain: NftChain, pr: ParsedRule, env: ApplyEnv): NftRule {
  for (const v of verdictTargets(pr.stmts)) {
    if (v.chain === undefined) continue;
    const target = findChain(t, v.chain);
    if (!target) throw new NftError(ENOENT, pr.targets?.[v.chain] ?? pr.loc);
    if (target.base) throw new NftError(EOPNOTSUPP, pr.loc);
    if (target === chain) throw new NftError("Too many levels of symbolic links", pr.loc);
  }
  if (hasNat(pr.stmts) && chain.base && chain.base.type !== "nat") throw new NftError(EOPNOTSUPP, pr.loc);
  for (const s of pr.stmts) {
    if (s.k === "reject" && chain.base && !["input", "forward", "output"].includes(chain.base.hook)) throw new NftError(EOPNOTSUPP, pr.loc);
    const ref = s.k === "match" ? s.right : s.k === "vmap" ? s.map : s.k === "nat" && s.map ? s.map.map : null;
    if (ref?.k === "ref") {
      const set = t.sets.find((x) => x.name === ref.name && !x.anonymous);
      if (!set) throw new NftError(ENOENT, pr.loc);
      const left = s.k === "match" ? s.left : s.k === "vmap" ? s.left : s.k === "nat" ? s.map!.left : null;
      if (left && left.sels.length !== set.keyType.length) throw new NftError("datatype mismatch", pr.loc, false);
      if (s.k === "vmap" && set.dataType !== "verdict") throw new NftError("datatype mismatch", pr.loc, false);
    }
    if (s.k === "setupd") {
      const set = t.sets.find((x) => x.name === s.set && !x.anonymous);
      if (!set) throw new NftError(ENOENT, pr.loc);
    }
    // Anonymous sets take a handle of the table (nft_set_alloc_handle) before their rule.
    if ((s.k === "match" && s.right.k === "set") || (s.k === "vmap" && s.map.k === "set")) t.hgen++;
  }
  void rs;
  stampElems(pr.stmts, env);
  const rule: NftRule = { handle: ++t.hgen, stmts: pr.stmts, ...(pr.comment !== undefined ? { comment: pr.comment } : {}) };
  ruleAdded(t, chain.name, rule);
  return rule;
}

function stampElems(stmts: NftStmt[], env: ApplyEnv): void {
  for (const s of stmts) {
    const rhs = s.k === "match" ? s.right : s.k === "vmap" ? s.map : null;
    if (rhs?.k === "set") for (const e of rhs.elems) if (e.timeout) e.expires = env.now + e.timeout;
  }
}

function addSet(t: NftTable, b: SetBlock, create: boolean, env: ApplyEnv): NftSetDef {
  let s = t.sets.find((x) => x.name === b.name && !x.anonymous);
  if (s) {
    if (create) throw new NftError(EEXIST, b.loc);
    if (s.keyType.join(" . ") !== b.keyType.join(" . ") || s.dataType !== b.dataType) throw new NftError(EEXIST, b.loc);
  } else {
    if (b.keyType.length > 1 && b.flags.includes("interval")) throw new NftError("interval concatenations (pipapo) are not modelled by pktpath", b.loc, false);
    s = { name: b.name, handle: ++t.hgen, keyType: b.keyType, dataType: b.dataType, flags: b.flags, timeout: b.timeout, elems: PList.empty(), anonymous: false, ...(b.comment !== undefined ? { comment: b.comment } : {}) };
    t.sets.push(s);
    touchedObj(t, "set", b.name);
  }
  if (b.elems) addElems(t, s, b.elems, false, env, b.loc);
  return s;
}

// Element keys by their text, per element list: a set's elements are a persistent chunked
// list (PList, insertion order, which the listing's sort keeps among equal keys), so a
// command that adds or deletes k elements copies k chunks and the spine, not the set;
// beside it an index by key text, kept with the list it describes (moved to each new
// list, never read through the config draft, which would make a proxy per element).
const keyOf = new WeakMap<NftElem, string>();
const indexOf = new WeakMap<PList<NftElem>, Map<string, NftElem>>();
/** Past this many elements added or deleted by one command, the list is made again whole. */
const BULK = 64;

function deepFreeze(o: object): void {
  if (Object.isFrozen(o)) return;
  Object.freeze(o);
  for (const v of Object.values(o)) if (v !== null && typeof v === "object") deepFreeze(v as object);
}

/**
 * Freezes what the commands made (new tables, chains, rules), so that committing the
 * config draft does not walk them again: immer's commit would walk each (nested draft
 * cleanup) to freeze it; frozen here, it takes them as they are. Set elements are frozen
 * as they go into their list.
 */
export function sealElems(): void {
  for (const [, tx] of pendingTxs()) {
    for (const o of tx.made) if (!isDraft(o)) deepFreeze(o);
    for (const { rule } of tx.added) if (!isDraft(rule)) deepFreeze(rule);
  }
}

function keyText(e: NftElem): string {
  let k = keyOf.get(e);
  if (k === undefined) {
    k = JSON.stringify(e.key.parts);
    keyOf.set(e, k);
  }
  return k;
}

/**
 * The set's key index, taken from its list for a change: detached first, so that a
 * command failing half-way leaves no list with an index that does not describe it (the
 * committed list's is rebuilt if ever needed again); putElems attaches it to the new list.
 */
function takeIndex(list: PList<NftElem>): Map<string, NftElem> {
  let index = indexOf.get(list);
  if (!index) {
    index = new Map();
    for (const e of list) index.set(keyText(e), e);
  }
  indexOf.delete(list);
  return index;
}

/** For tests: the kept key index of a set's list and the keys of its elements (sorted), or null without one. */
export function keptIndex(s: NftSetDef): [string[], string[]] | null {
  const index = indexOf.get(s.elems);
  if (!index) return null;
  return [[...index.keys()].sort(), s.elems.map(keyText).sort()];
}

function putElems(s: NftSetDef, list: PList<NftElem>, index: Map<string, NftElem>): void {
  indexOf.set(list, index);
  if (list !== s.elems) s.elems = list;
}

function addElems(t: NftTable, s: NftSetDef, elems: NftElem[], create: boolean, env: ApplyEnv, loc: Loc): void {
  const list = s.elems;
  const index = takeIndex(list);
  const interval = s.flags.includes("interval");
  const fresh: NftElem[] = [];
  for (const e of elems) {
    if (!interval && e.key.parts.some((p) => p.k !== "val")) throw new NftError("You must add 'flags interval' to your set declaration if you want to add range elements", loc, false);
    if (e.timeout === undefined && s.timeout) e.timeout = s.timeout;
    if (e.timeout && !s.flags.includes("timeout") && !s.timeout) throw new NftError(EOPNOTSUPP, loc);
    if (e.timeout) e.expires = env.now + e.timeout;
    const k = keyText(e);
    if (index.has(k)) {
      if (create) throw new NftError(EEXIST, loc);
      continue;
    }
    if (interval && e.key.parts.length === 1) overlapCheck(e, list, fresh, loc);
    index.set(k, e);
    deepFreeze(e);
    fresh.push(e);
    elemAdded(t, s.name, e);
  }
  let next = list;
  if (fresh.length > BULK) next = PList.from(list.toArray().concat(fresh));
  else for (const e of fresh) next = next.push(e);
  putElems(s, next, index);
}

/** An interval element may not overlap one the set holds or the command added before it. */
function overlapCheck(e: NftElem, list: PList<NftElem>, fresh: NftElem[], loc: Loc): void {
  const [lo, hi] = span(e);
  const hits = (o: NftElem) => {
    const [olo, ohi] = span(o);
    return lo <= ohi && olo <= hi;
  };
  if (list.some(hits) || fresh.some(hits)) throw new NftError(EEXIST, loc);
}

export function span(e: NftElem): [number, number] {
  const p = e.key.parts[0]!;
  if (p.k === "range") return [p.lo, p.hi];
  if (p.k === "prefix") return [p.v, (p.v | (p.len === 0 ? 0xffffffff : ~((0xffffffff << (32 - p.len)) >>> 0))) >>> 0];
  return [p.v as number, p.v as number];
}

function delElems(t: NftTable, s: NftSetDef, elems: NftElem[], loc: Loc): void {
  const list = s.elems;
  const index = takeIndex(list);
  const gone: NftElem[] = [];
  for (const e of elems) {
    const k = keyText(e);
    const have = index.get(k);
    if (!have) throw new NftError(ENOENT, loc);
    index.delete(k);
    gone.push(have);
    elemRemoved(t, s.name, have);
  }
  let next = list;
  if (gone.length > BULK) {
    const drop = new Set(gone);
    next = list.retain((e) => !drop.has(e));
  } else for (const e of gone) next = next.remove(e);
  putElems(s, next, index);
}

function applyTableBlock(rs: NftRuleset, t: NftTable, b: TableBlock, env: ApplyEnv): void {
  // nft_cmd_expand(): chains, then sets, then every chain's rules.
  const made: [NftChain, ChainBlock][] = [];
  for (const c of b.chains) made.push([addChain(rs, t, c.name, c.block, false, c.loc), c.block]);
  for (const s of b.sets) addSet(t, s, false, env);
  for (const [chain, block] of made) for (const r of block.rules) chain.rules.push(makeRule(rs, t, chain, r, env));
  for (const f of b.flags) {
    if (t.flags.includes(f)) continue;
    t.flags.push(f);
    touchHooks(t);
  }
  if (b.comment !== undefined) t.comment = b.comment;
}

/** Applies one command to the ruleset (a draft: the caller throws it away on error). */
export function applyCmd(rs: NftRuleset, c: NftCmd, env: ApplyEnv): void {
  switch (c.op) {
    case "list":
      return;
    case "flush":
      if (c.obj === "ruleset") {
        for (const t of rs.tables) if (c.family === null || t.family === c.family) tableGone(t);
        rs.tables = rs.tables.filter((t) => c.family !== null && t.family !== c.family);
        return;
      }
      flushObj(table(rs, c), c);
      return;
    case "rename": {
      const t = table(rs, c);
      const ch = chainOf(t, c.chain, c.chainLoc);
      if (ch.base) throw new NftError(EOPNOTSUPP, c.chainLoc);
      if (findChain(t, c.newName)) throw new NftError(EEXIST, c.loc);
      const idx = chainIndex(t);
      const at = idx.pos.get(c.chain)!;
      ch.name = c.newName;
      idx.pos.delete(c.chain);
      idx.pos.set(c.newName, at);
      idx.names[chunkOf(at)]![slotOf(at)] = c.newName;
      markStale(t);
      return;
    }
    default:
      break;
  }
  switch (c.obj) {
    case "table": {
      if (c.op === "add" || c.op === "create") {
        const t = addTable(rs, c.family, c.table, c.op === "create", c.tableLoc);
        if (c.block) applyTableBlock(rs, t, c.block, env);
        return;
      }
      const i = rs.tables.findIndex((t) => t.family === c.family && t.name === c.table);
      if (i < 0) {
        if (c.op === "destroy") return;
        throw new NftError(ENOENT, c.tableLoc);
      }
      tableGone(rs.tables[i]!);
      rs.tables.splice(i, 1);
      return;
    }
    case "chain": {
      const t = table(rs, c);
      if (c.op === "add" || c.op === "create") {
        const chain = addChain(rs, t, c.chain, c.block, c.op === "create", c.chainLoc);
        for (const r of c.block?.rules ?? []) chain.rules.push(makeRule(rs, t, chain, r, env));
        return;
      }
      if (c.op === "delete" || c.op === "destroy") deleteChain(t, c);
      return;
    }
    case "rule": {
      const t = table(rs, c);
      const chain = chainOf(t, c.chain, c.chainLoc);
      if (!("rule" in c)) {
        const i = chain.rules.findIndex((r) => r.handle === c.handle);
        if (i < 0) {
          if (c.op === "destroy") return;
          throw new NftError(ENOENT, c.handleLoc);
        }
        ruleRemoved(t, chain.name, plain(chain.rules[i]!));
        chain.rules.splice(i, 1);
        return;
      }
      let at = c.op === "add" ? chain.rules.length : 0;
      if (c.pos) {
        let i: number;
        if (c.pos.kind === "index") {
          i = c.pos.n;
          if (i >= chain.rules.length && !(i === 0 && chain.rules.length === 0)) throw new NftError(ENOENT, c.pos.loc);
        } else {
          i = chain.rules.findIndex((r) => r.handle === c.pos!.n);
          if (i < 0) throw new NftError(ENOENT, c.pos.loc);
        }
        at = c.op === "add" ? i + 1 : i;
      }
      const rule = makeRule(rs, t, chain, c.rule, env);
      if (c.op === "replace") {
        ruleRemoved(t, chain.name, plain(chain.rules[at]!));
        chain.rules[at] = rule;
      }
      else chain.rules.splice(at, 0, rule);
      return;
    }
    case "set":
    case "map": {
      const t = table(rs, c);
      if (c.op === "add" || c.op === "create") {
        if (c.obj === "set") addSet(t, c.set, c.op === "create", env);
        return;
      }
      if (c.op === "delete" || c.op === "destroy") {
        const i = t.sets.findIndex((x) => !x.anonymous && (c.name !== null ? x.name === c.name : x.handle === c.handle));
        if (i < 0) {
          if (c.op === "destroy") return;
          throw new NftError(ENOENT, c.nameLoc);
        }
        const s = t.sets[i]!;
        if (setInUse(t, s.name)) throw new NftError(EBUSY, c.nameLoc);
        for (const e of s.elems) elemRemoved(t, s.name, e);
        touchedObj(t, "set", s.name);
        t.sets.splice(i, 1);
      }
      return;
    }
    case "element": {
      const t = table(rs, c);
      const s = t.sets.find((x) => x.name === c.set && !x.anonymous);
      if (!s) throw new NftError(ENOENT, c.setLoc, false);
      let elems: NftElem[];
      try {
        elems = parseElements(c.elems, s.keyType, c.op === "delete" || c.op === "destroy" ? null : s.dataType, true);
      } catch (e) {
        if (e instanceof NftSyntaxError) throw new NftError(e.message, { line: e.line, col: e.col, end: e.end }, false);
        throw e;
      }
      if (c.op === "delete" || c.op === "destroy") delElems(t, s, elems, c.loc);
      else addElems(t, s, elems, c.op === "create", env, c.loc);
      return;
    }
    default:
      throw new NftError(EINVAL, null);
  }
}

/** flush table / chain / set: the rules or elements go, and their references with them. */
function flushObj(t: NftTable, c: Exclude<Extract<NftCmd, { op: "flush" }>, { obj: "ruleset" }>): void {
  const flushChain = (ch: NftChain) => {
    for (const r of plain(ch.rules)) ruleRemoved(t, ch.name, r);
    touchedObj(t, "chain", ch.name);
    ch.rules = [];
  };
  if (c.obj === "table") for (const chunk of t.chains) for (const ch of chunk) flushChain(ch);
  else if (c.obj === "chain") flushChain(chainOf(t, c.name, c.nameLoc));
  else {
    const s = setOf(t, c.name, c.nameLoc);
    for (const e of s.elems) elemRemoved(t, s.name, e);
    touchedObj(t, "set", s.name);
    s.elems = PList.empty();
  }
}

/** The position of the chain with this handle (delete chain ... handle N), or -1. */
function handlePos(t: NftTable, handle: number): number {
  const chunks = plain(t.chains);
  for (let k = 0; k < chunks.length; k++) {
    const o = chunks[k]!.findIndex((x) => x.handle === handle);
    if (o >= 0) return posOf(k, o);
  }
  return -1;
}

/** delete / destroy chain: only an empty chain nothing jumps to (chain->use), by name or handle. */
function deleteChain(t: NftTable, c: { op: string; name: string | null; handle: number | null; nameLoc: Loc }): void {
  const i = c.name !== null ? (chainIndex(t).pos.get(c.name) ?? -1) : handlePos(t, c.handle!);
  if (i < 0) {
    if (c.op === "destroy") return;
    throw new NftError(ENOENT, c.nameLoc);
  }
  const ch = t.chains[chunkOf(i)]![slotOf(i)]!;
  if (ch.rules.length || chainInUse(t, ch.name)) throw new NftError(EBUSY, c.nameLoc);
  touchedObj(t, "chain", ch.name);
  if (ch.base) touchHooks(t);
  removeChain(t, i);
}
