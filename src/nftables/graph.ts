// The references between a table's objects (nf_tables_api.c chain->use, set->use, and the
// jump graph nf_tables_check_loops / nft_chain_validate walk), kept from one committed
// table to the next: a transaction records what its rules and elements add and remove, so
// `delete chain` asks "is it in use" and the commit validates only what the transaction
// added, not the whole table.
import { current, isDraft, original } from "immer";
import type { NftChain, NftElem, NftRule, NftRuleset, NftSetDef, NftStmt, NftTable, NftVerdict } from "./types.ts";

/**
 * Who refers to one object: most chains have one referrer once (a service's chain, its
 * endpoints' chains), kept as that referrer's key alone; more, as counts by key.
 */
type Refs = string | Map<string, number>;
type Counts = Map<string, Refs>;

/** The keys of the objects that refer (each once, whatever its count). */
export function referrers(r: Refs | undefined): Iterable<string> {
  if (r === undefined) return [];
  return typeof r === "string" ? [r] : r.keys();
}

function countOf(r: Refs | undefined, b: string): number {
  if (r === undefined) return 0;
  return typeof r === "string" ? (r === b ? 1 : 0) : (r.get(b) ?? 0);
}

/** A reference graph as sorted text (tests compare a kept graph with one built from scratch). */
export function graphText(g: ChainGraph): string {
  const counts = (m: Counts) =>
    [...m].map(([a, r]) => `${a}<${[...referrers(r)].map((b) => `${b}x${countOf(r, b)}`).sort().join(",")}>`).sort().join(" ");
  return `into ${counts(g.into)} | users ${counts(g.users)} | sets ${[...g.setRefs].map(([a, n]) => `${a}x${n}`).sort().join(" ")}`;
}

/** Whether key b refers (count above zero). */
export function refers(r: Refs | undefined, b: string): boolean {
  return countOf(r, b) > 0;
}

/**
 * One table's references. Keys of `into` referrers: a chain's name itself (no copy per
 * reference), or setKey(set name) for a verdict map's elements.
 */
export interface ChainGraph {
  /** chain name -> who jumps or goes to it (rules of a chain, elements of a verdict map) -> count */
  into: Counts;
  /** set name -> chains whose rules look it up as a verdict map (vmap @set) -> count */
  users: Counts;
  /** set name -> rules that name it (match @set, vmap @set, add/update @set) -> count */
  setRefs: Map<string, number>;
}

/** What a transaction did to one table's graph, to undo on abort and to validate at commit. */
export interface TxGraph {
  g: ChainGraph;
  family: string;
  name: string;
  /** The committed table the graph was taken from (given back on abort), or null. */
  from: NftTable | null;
  /** Counts to put back on abort (only for a graph taken from a committed table). */
  undo: (() => void)[];
  /** Rules added, by chain name (what validation must check). */
  added: { chain: string; rule: NftRule }[];
  removed: Set<NftRule>;
  /** Verdict map elements added: the map and the chain the element jumps to. */
  elemEdges: { set: string; target: string }[];
  /** Names of the chains and sets the transaction changed (for the compiled form). */
  chains: Set<string>;
  sets: Set<string>;
  /** A rename: references by name no longer hold; validate and rebuild the whole table. */
  stale: boolean;
  /** The table was deleted in the transaction (a table made again under its name is another). */
  gone: boolean;
  /** Base chains were made or deleted, or the table's flags changed: hooks registered again. */
  hooks: boolean;
  /** Element changes per set in order (null: the set was made, flushed or deleted: reload it). */
  elemOps: Map<string, ElemOp[] | null>;
  /** Chains by name: their positions in the table's chain array, and the names in order. */
  idx: ChainIndex | null;
  /** Objects the transaction made (a table, chains): frozen at its end, so that the commit need not walk them. */
  made: object[];
}

export type ElemOp = { add: boolean; e: NftElem };

/** Chains by name: position chunk * SLOTS + offset, and the names chunk by chunk. */
export interface ChainIndex {
  pos: Map<string, number>;
  names: string[][];
}

const SLOTS = 65536;
export function chunkOf(pos: number): number {
  return Math.floor(pos / SLOTS);
}
export function slotOf(pos: number): number {
  return pos % SLOTS;
}
export function posOf(chunk: number, slot: number): number {
  return chunk * SLOTS + slot;
}

interface Committed {
  g: ChainGraph;
  idx: ChainIndex | null;
}

const committed = new WeakMap<NftTable, Committed>();
const txs = new Map<NftTable, TxGraph>();

/** The committed table a draft was made from, or the object itself. */
function baseOf(t: NftTable): NftTable {
  return isDraft(t) ? (original(t) as NftTable) : t;
}

/** Verdicts a rule's statements give (jump/goto targets included), anonymous maps too. */
export function verdictTargets(stmts: readonly NftStmt[]): NftVerdict[] {
  const out: NftVerdict[] = [];
  for (const s of stmts) {
    if (s.k === "verdict") out.push(s.v);
    if (s.k === "vmap" && s.map.k === "set") for (const e of s.map.elems) if (e.data?.k === "verdict") out.push(e.data.v);
  }
  return out;
}

/** Names of the sets a rule refers to as chain->use counts them (match, vmap, add/update). */
function setNames(stmts: readonly NftStmt[]): string[] {
  const out: string[] = [];
  for (const s of stmts) {
    if (s.k === "match" && s.right.k === "ref") out.push(s.right.name);
    if (s.k === "vmap" && s.map.k === "ref") out.push(s.map.name);
    if (s.k === "setupd") out.push(s.set);
  }
  return out;
}

function bump(tx: TxGraph | null, m: Counts, a: string, b: string, d: number): void {
  const r = m.get(a);
  const n = countOf(r, b) + d;
  if (r === undefined || (typeof r === "string" && r === b)) {
    if (n === 0) m.delete(a);
    else if (n === 1) m.set(a, b);
    else m.set(a, new Map([[b, n]]));
  } else {
    const inner = typeof r === "string" ? new Map([[r, 1]]) : r;
    if (n === 0) inner.delete(b);
    else inner.set(b, n);
    if (inner.size === 0) m.delete(a);
    else m.set(a, inner);
  }
  if (tx?.from) tx.undo.push(() => bump(null, m, a, b, -d));
}

function bumpSet(tx: TxGraph | null, m: Map<string, number>, a: string, d: number): void {
  const n = (m.get(a) ?? 0) + d;
  if (n === 0) m.delete(a);
  else m.set(a, n);
  if (tx?.from) tx.undo.push(() => bumpSet(null, m, a, -d));
}

const setKeys = new Map<string, string>();
/** The referrer key of a set's elements: its name after a NUL (no chain name holds one), one string per name. */
export function setKey(name: string): string {
  let k = setKeys.get(name);
  if (k === undefined) setKeys.set(name, (k = "\u0000" + name));
  return k;
}

/** A referrer key as the chain it names, or null for a set's key. */
export function chainOfKey(k: string): string | null {
  return k.charCodeAt(0) === 0 ? null : k;
}

function ruleRefs(tx: TxGraph | null, g: ChainGraph, chain: string, r: NftRule, d: number): void {
  for (const v of verdictTargets(r.stmts)) if (v.chain !== undefined) bump(tx, g.into, v.chain, chain, d);
  for (const s of r.stmts) if (s.k === "vmap" && s.map.k === "ref") bump(tx, g.users, s.map.name, chain, d);
  for (const n of setNames(r.stmts)) bumpSet(tx, g.setRefs, n, d);
}

function elemRefs(tx: TxGraph | null, g: ChainGraph, set: string, e: NftElem, d: number): void {
  if (e.data?.k === "verdict" && e.data.v.chain !== undefined) bump(tx, g.into, e.data.v.chain, setKey(set), d);
}

/** The graph of a plain (committed or copied) table, from scratch: one pass over it. */
export function buildGraph(t: NftTable): ChainGraph {
  const g: ChainGraph = { into: new Map(), users: new Map(), setRefs: new Map() };
  for (const ch of t.chains) for (const c of ch) for (const r of c.rules) ruleRefs(null, g, c.name, r, 1);
  for (const s of t.sets) for (const e of s.elems) elemRefs(null, g, s.name, e, 1);
  return g;
}

/** The transaction's record for a table (a draft or a plain object the commands change). */
export function txOf(t: NftTable): TxGraph {
  let tx = txs.get(t);
  if (tx) return tx;
  const base = baseOf(t);
  const held = committed.get(base);
  let from: NftTable | null = null;
  let g: ChainGraph;
  let idx: ChainIndex | null = null;
  if (held) {
    // Taken from the committed table for the transaction: the graph is given back on abort
    // (its counts put back); the chain index, changed in place, is dropped (rebuilt if needed).
    committed.delete(base);
    from = base;
    g = held.g;
    idx = held.idx;
  } else g = buildGraph(isDraft(t) ? (current(t) as NftTable) : t);
  tx = { g, family: t.family, name: t.name, from, undo: [], added: [], removed: new Set(), elemEdges: [], chains: new Set(), sets: new Set(), stale: false, gone: false, hooks: false, elemOps: new Map(), idx, made: [] };
  txs.set(t, tx);
  return tx;
}

export function ruleAdded(t: NftTable, chain: string, r: NftRule): void {
  const tx = txOf(t);
  ruleRefs(tx, tx.g, chain, r, 1);
  tx.added.push({ chain, rule: r });
  tx.chains.add(chain);
}

export function ruleRemoved(t: NftTable, chain: string, r: NftRule): void {
  const tx = txOf(t);
  ruleRefs(tx, tx.g, chain, r, -1);
  tx.removed.add(r);
  tx.chains.add(chain);
}

export function elemAdded(t: NftTable, set: string, e: NftElem): void {
  const tx = txOf(t);
  elemRefs(tx, tx.g, set, e, 1);
  if (e.data?.k === "verdict" && e.data.v.chain !== undefined) tx.elemEdges.push({ set, target: e.data.v.chain });
  elemOp(tx, set, { add: true, e });
}

function elemOp(tx: TxGraph, set: string, op: ElemOp): void {
  if (!tx.sets.has(set)) {
    tx.sets.add(set);
    tx.elemOps.set(set, []);
  }
  tx.elemOps.get(set)?.push(op);
}

export function elemRemoved(t: NftTable, set: string, e: NftElem): void {
  const tx = txOf(t);
  elemRefs(tx, tx.g, set, e, -1);
  elemOp(tx, set, { add: false, e });
}

/** A chain or set changed in a way that adds no reference (created, deleted, policy). */
export function touched(t: NftTable, kind: "chain" | "set", name: string): void {
  const tx = txOf(t);
  if (kind === "chain") tx.chains.add(name);
  else {
    tx.sets.add(name);
    tx.elemOps.set(name, null);
  }
}

/** Base chains made or deleted, or table flags changed (nf_tables_register_hook again). */
export function touchHooks(t: NftTable): void {
  txOf(t).hooks = true;
}

/**
 * next is prev as the running transaction left it with the same base chains and flags (or
 * prev itself): the hook registrations made for prev still hold.
 */
export function sameHooks(prev: NftTable, next: NftTable): boolean {
  if (prev === next) return true;
  for (const tx of txs.values()) {
    if (tx.from === prev && !tx.gone && !tx.stale && tx.family === next.family && tx.name === next.name) return !tx.hooks;
  }
  return false;
}

/** A committed table's chain by name through the index it carries (undefined: no index, or no chain). */
export function committedChain(t: NftTable, name: string): NftChain | null | undefined {
  const idx = committed.get(t)?.idx;
  if (!idx) return undefined;
  const i = idx.pos.get(name);
  return i === undefined ? null : (t.chains[chunkOf(i)]?.[slotOf(i)] ?? null);
}

/** A table or chain the transaction made, as a plain object (frozen with it at the end). */
export function made(t: NftTable, o: object): void {
  txOf(t).made.push(o);
}

export function markStale(t: NftTable): void {
  txOf(t).stale = true;
}

/** A table deleted in the transaction: its record goes (its graph is not given back to a new table). */
export function tableGone(t: NftTable): void {
  const tx = txs.get(t);
  if (tx) tx.gone = true;
}

/** chain->use: rules or verdict map elements jump or go to the chain. */
export function chainInUse(t: NftTable, name: string): boolean {
  return txOf(t).g.into.has(name);
}

/** set->use: rules name the set. */
export function setInUse(t: NftTable, name: string): boolean {
  return (txOf(t).g.setRefs.get(name) ?? 0) > 0;
}

/** Records of the tables the running transaction changed. */
export function pendingTxs(): Iterable<[NftTable, TxGraph]> {
  return txs.entries();
}

/** What changed between two committed versions of a table (for the compiled form). */
export interface TableDiff {
  prev: NftTable | null;
  chains: ReadonlySet<string>;
  sets: ReadonlySet<string>;
  elemOps: ReadonlyMap<string, ElemOp[] | null>;
  full: boolean;
}
const diffs = new WeakMap<NftTable, TableDiff>();
const NONE: ReadonlySet<string> = new Set();

export function diffOf(t: NftTable): TableDiff | undefined {
  return diffs.get(t);
}

/** The transaction committed: each changed table's graph goes to its new committed version. */
export function commitTx(rs: NftRuleset | undefined): void {
  for (const tx of txs.values()) {
    if (tx.gone) continue;
    const t = rs?.tables.find((x) => x.family === tx.family && x.name === tx.name);
    if (!t) continue;
    if (!tx.stale) committed.set(t, { g: tx.g, idx: tx.idx });
    const full = tx.stale || tx.from === null;
    // A full diff names nothing (the compiled form is then checked whole): no names kept.
    if (t !== tx.from) diffs.set(t, full ? { prev: tx.from, chains: NONE, sets: NONE, elemOps: new Map(), full } : { prev: tx.from, chains: tx.chains, sets: tx.sets, elemOps: tx.elemOps, full });
  }
  txs.clear();
}

/** The transaction failed: every count it changed is put back, graphs go back to their tables. */
export function abortTx(): void {
  for (const tx of txs.values()) {
    for (let i = tx.undo.length - 1; i >= 0; i--) tx.undo[i]!();
    if (tx.from) committed.set(tx.from, { g: tx.g, idx: null });
  }
  txs.clear();
}

/** For tests: the graph a committed table carries, if any. */
export function committedGraph(t: NftTable): ChainGraph | undefined {
  return committed.get(t)?.g;
}

export type { NftChain, NftSetDef };
