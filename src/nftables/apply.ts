// Applying parsed nft commands to a ruleset, as the kernel's transaction does
// (nf_tables_api.c nf_tables_newtable/newchain/newrule/newset/newsetelem and their
// delete counterparts): in order, each checked against what the ones before it made.
import type { Loc, NftCmd, ParsedRule, SetBlock, ChainBlock, TableBlock } from "./parser.ts";
import { NftSyntaxError, parseElements } from "./parser.ts";
import { current, isDraft, original } from "immer";
import type { NftChain, NftElem, NftFamily, NftRule, NftRuleset, NftSetDef, NftStmt, NftTable, NftVerdict } from "./types.ts";

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
 * Chains of a table by name (their positions), built once per transaction from a plain
 * view (a lookup per rule, not a scan, and a draft only of the chains it changes).
 */
const chainIndexes = new WeakMap<NftTable, Map<string, number>>();
function chainIndex(t: NftTable): Map<string, number> {
  let m = chainIndexes.get(t);
  if (!m) chainIndexes.set(t, (m = new Map(plain(t.chains).map((c, i) => [c.name, i]))));
  return m;
}
function findChain(t: NftTable, name: string): NftChain | undefined {
  const i = chainIndex(t).get(name);
  return i === undefined ? undefined : t.chains[i];
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
    return t;
  }
  const nt: NftTable = { family, name, handle: ++rs.tableHandle, hgen: 0, chains: [], sets: [], flags: [] };
  rs.tables.push(nt);
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
    if (b) c.base = { type: b.type, hook: b.hook, prio: b.prio, prioText: b.prioText, policy: b.policy ?? "accept", seq: ++rs.hookSeq };
    t.chains.push(c);
    c = t.chains[t.chains.length - 1]!;
    chainIndex(t).set(name, t.chains.length - 1);
  } else if (b) {
    // nf_tables_updchain(): a base chain's hook cannot change; its policy can.
    if (!c.base || c.base.hook !== b.hook || c.base.type !== b.type || c.base.prio !== b.prio) throw new NftError(EBUSY, loc);
    if (b.policy) c.base.policy = b.policy;
  }
  if (block?.comment !== undefined) c.comment = block.comment;
  return c;
}

function verdictTargets(stmts: NftStmt[]): NftVerdict[] {
  const out: NftVerdict[] = [];
  for (const s of stmts) {
    if (s.k === "verdict") out.push(s.v);
    if (s.k === "vmap" && s.map.k === "set") for (const e of s.map.elems) if (e.data?.k === "verdict") out.push(e.data.v);
  }
  return out;
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
  return { handle: ++t.hgen, stmts: pr.stmts, ...(pr.comment !== undefined ? { comment: pr.comment } : {}) };
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
    s = { name: b.name, handle: ++t.hgen, keyType: b.keyType, dataType: b.dataType, flags: b.flags, timeout: b.timeout, elems: [], anonymous: false, ...(b.comment !== undefined ? { comment: b.comment } : {}) };
    t.sets.push(s);
  }
  if (b.elems) addElems(s, b.elems, false, env, b.loc);
  return s;
}

// Element keys by their text, per element array (the committed one, or the one a
// transaction builds): a command that adds or deletes k elements does O(k) key work, not
// a pass over the whole set (and never reads elements through the config draft, which
// would make a proxy per element).
const keyOf = new WeakMap<NftElem, string>();
const indexOf = new WeakMap<readonly NftElem[], Map<string, NftElem>>();
/** Arrays a transaction changed, with the elements it added (frozen at its end: sealElems). */
const touched = new Map<NftElem[], NftElem[]>();

function deepFreeze(o: object): void {
  if (Object.isFrozen(o)) return;
  Object.freeze(o);
  for (const v of Object.values(o)) if (v !== null && typeof v === "object") deepFreeze(v as object);
}

/**
 * Freezes the element arrays the commands changed (and the elements they added), so that
 * committing the config draft does not walk every element of a large set again.
 */
export function sealElems(): void {
  chainUses = null;
  for (const [arr, added] of touched) {
    for (const e of added) deepFreeze(e);
    Object.freeze(arr);
  }
  touched.clear();
}

function keyText(e: NftElem): string {
  let k = keyOf.get(e);
  if (k === undefined) {
    k = JSON.stringify(e.key.parts);
    keyOf.set(e, k);
  }
  return k;
}

/** The set's elements as a plain array (the draft's base when this transaction has not changed it). */
function rawElems(s: NftSetDef): NftElem[] {
  return isDraft(s.elems) ? (original(s.elems) as NftElem[]) : s.elems;
}

/**
 * The set's elements as an array this transaction may change, with its key index: the
 * first change in a transaction copies the array once (pointers only), and the index moves
 * to the copy (the old array's is dropped: rebuilt if ever needed again).
 */
function ownElems(s: NftSetDef): { arr: NftElem[]; index: Map<string, NftElem>; added: NftElem[] } {
  const base = rawElems(s);
  let index = indexOf.get(base);
  if (!index) {
    index = new Map();
    for (const e of base) index.set(keyText(e), e);
  }
  if (!isDraft(s.elems) && !Object.isFrozen(base)) {
    indexOf.set(base, index);
    if (!touched.has(base)) touched.set(base, []);
    return { arr: base, index, added: touched.get(base)! };
  }
  const arr = base.slice();
  indexOf.delete(base);
  indexOf.set(arr, index);
  s.elems = arr;
  const added: NftElem[] = [];
  touched.set(arr, added);
  return { arr, index, added };
}

function addElems(s: NftSetDef, elems: NftElem[], create: boolean, env: ApplyEnv, loc: Loc): void {
  const { arr, index, added } = ownElems(s);
  const interval = s.flags.includes("interval");
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
    if (interval && e.key.parts.length === 1) {
      const [lo, hi] = span(e);
      for (const o of arr) {
        const [olo, ohi] = span(o);
        if (lo <= ohi && olo <= hi) throw new NftError(EEXIST, loc);
      }
    }
    index.set(k, e);
    arr.push(e);
    added.push(e);
  }
}

export function span(e: NftElem): [number, number] {
  const p = e.key.parts[0]!;
  if (p.k === "range") return [p.lo, p.hi];
  if (p.k === "prefix") return [p.v, (p.v | (p.len === 0 ? 0xffffffff : ~((0xffffffff << (32 - p.len)) >>> 0))) >>> 0];
  return [p.v as number, p.v as number];
}

function delElems(s: NftSetDef, elems: NftElem[], loc: Loc): void {
  const { arr, index } = ownElems(s);
  for (const e of elems) {
    const k = keyText(e);
    const have = index.get(k);
    if (!have) throw new NftError(ENOENT, loc);
    index.delete(k);
    arr.splice(arr.indexOf(have), 1);
  }
}

/**
 * The chains rules and verdict maps refer to (chain->use), counted once for a run of
 * chain deletions: an empty chain refers to nothing, so deleting one changes no count;
 * any other command drops the count (applyCmd).
 */
let chainUses: { t: NftTable; names: Set<string> } | null = null;

function chainInUse(draft: NftTable, name: string): boolean {
  if (chainUses?.t !== draft) {
    const t = plain(draft);
    const names = new Set<string>();
    for (const c of t.chains) for (const r of c.rules) for (const v of verdictTargets(r.stmts)) if (v.chain !== undefined) names.add(v.chain);
    for (const s of t.sets) for (const e of rawElems(s)) if (e.data?.k === "verdict" && e.data.v.chain !== undefined) names.add(e.data.v.chain);
    chainUses = { t: draft, names };
  }
  return chainUses.names.has(name);
}

function setInUse(draft: NftTable, name: string): boolean {
  const t = plain(draft);
  for (const c of t.chains) {
    for (const r of c.rules) {
      for (const s of r.stmts) {
        if ((s.k === "match" && s.right.k === "ref" && s.right.name === name) || (s.k === "vmap" && s.map.k === "ref" && s.map.name === name)) return true;
        if (s.k === "setupd" && s.set === name) return true;
      }
    }
  }
  return false;
}

function applyTableBlock(rs: NftRuleset, t: NftTable, b: TableBlock, env: ApplyEnv): void {
  // nft_cmd_expand(): chains, then sets, then every chain's rules.
  const made: [NftChain, ChainBlock][] = [];
  for (const c of b.chains) made.push([addChain(rs, t, c.name, c.block, false, c.loc), c.block]);
  for (const s of b.sets) addSet(t, s, false, env);
  for (const [chain, block] of made) for (const r of block.rules) chain.rules.push(makeRule(rs, t, chain, r, env));
  for (const f of b.flags) if (!t.flags.includes(f)) t.flags.push(f);
  if (b.comment !== undefined) t.comment = b.comment;
}

/** Applies one command to the ruleset (a draft: the caller throws it away on error). */
export function applyCmd(rs: NftRuleset, c: NftCmd, env: ApplyEnv): void {
  if (!(c.op === "delete" || c.op === "destroy") || c.obj !== "chain") chainUses = null;
  switch (c.op) {
    case "list":
      return;
    case "flush":
      if (c.obj === "ruleset") {
        rs.tables = rs.tables.filter((t) => c.family !== null && t.family !== c.family);
        return;
      }
      {
        const t = table(rs, c);
        if (c.obj === "table") for (const ch of t.chains) ch.rules = [];
        else if (c.obj === "chain") chainOf(t, c.name, c.nameLoc).rules = [];
        else setOf(t, c.name, c.nameLoc).elems = [];
      }
      return;
    case "rename": {
      const t = table(rs, c);
      const ch = chainOf(t, c.chain, c.chainLoc);
      if (ch.base) throw new NftError(EOPNOTSUPP, c.chainLoc);
      if (plain(t.chains).some((x) => x.name === c.newName)) throw new NftError(EEXIST, c.loc);
      ch.name = c.newName;
      chainIndexes.delete(t);
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
      if (c.op === "delete" || c.op === "destroy") {
        const i = plain(t.chains).findIndex((x) => (c.name !== null ? x.name === c.name : x.handle === c.handle));
        if (i < 0) {
          if (c.op === "destroy") return;
          throw new NftError(ENOENT, c.nameLoc);
        }
        const ch = t.chains[i]!;
        if (ch.rules.length || chainInUse(t, ch.name)) throw new NftError(EBUSY, c.nameLoc);
        t.chains.splice(i, 1);
        chainIndexes.delete(t);
      }
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
      if (c.op === "replace") chain.rules[at] = rule;
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
        if (setInUse(t, t.sets[i]!.name)) throw new NftError(EBUSY, c.nameLoc);
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
      if (c.op === "delete" || c.op === "destroy") delElems(s, elems, c.loc);
      else addElems(s, elems, c.op === "create", env, c.loc);
      return;
    }
    default:
      throw new NftError(EINVAL, null);
  }
}

/**
 * nf_tables_validate() at commit: from each base chain, every chain it reaches by jump,
 * goto or verdict map must hold only expressions its type and hook allow (nft_nat_validate,
 * nft_reject_validate), and no chain may reach itself (nf_tables_check_loops: ELOOP).
 */
export function validateRuleset(draft: NftRuleset, loc: Loc | null): void {
  const rs = plain(draft);
  for (const t of rs.tables) {
    const byName = new Map(t.chains.map((c) => [c.name, c]));
    const setByName = new Map(t.sets.map((x) => [x.name, x]));
    const targetsOf = new Map<NftChain, NftChain[]>();
    const targets = (c: NftChain): NftChain[] => {
      let out = targetsOf.get(c);
      if (out) return out;
      out = [];
      for (const r of c.rules) {
        for (const v of verdictTargets(r.stmts)) if (v.chain !== undefined && byName.get(v.chain)) out.push(byName.get(v.chain)!);
        for (const s of r.stmts) {
          if (s.k === "vmap" && s.map.k === "ref") {
            const m = setByName.get(s.map.name);
            for (const e of m ? rawElems(m) : []) if (e.data?.k === "verdict" && e.data.v.chain !== undefined && byName.get(e.data.v.chain)) out.push(byName.get(e.data.v.chain)!);
          }
        }
      }
      targetsOf.set(c, out);
      return out;
    };
    // A chain checked for what one base chain allows (nat, reject) is checked for every
    // base chain that allows the same: one walk per kind, not per base chain.
    const doneFor = new Map<string, Set<NftChain>>();
    for (const base of t.chains) {
      if (!base.base) continue;
      const b = base.base;
      const natOk = b.type === "nat";
      const rejectOk = ["input", "forward", "output"].includes(b.hook);
      const kind = `${natOk}/${rejectOk}`;
      let done = doneFor.get(kind);
      if (!done) doneFor.set(kind, (done = new Set<NftChain>()));
      const seen = done;
      const walk = (c: NftChain, path: Set<NftChain>): void => {
        // nft_chain_validate(): a loop runs the jump depth past NFT_JUMP_STACK_SIZE (EMLINK).
        if (path.has(c) || path.size > 16) throw new NftError("Too many links", loc);
        if (seen.has(c)) return;
        for (const r of c.rules) {
          if (!natOk && hasNat(r.stmts)) throw new NftError(EOPNOTSUPP, loc);
          if (!rejectOk && r.stmts.some((s) => s.k === "reject")) throw new NftError(EOPNOTSUPP, loc);
        }
        path.add(c);
        for (const n of targets(c)) walk(n, path);
        path.delete(c);
        seen.add(c);
      };
      walk(base, new Set());
    }
  }
}
