// A table's chains as a persistent map (the kernel keeps a table's chains in a hash
// table, nft_chain_lookup(); here the snapshot must also stay immutable). Sharded by
// name hash: a change copies one shard of ~1/1024 of the chains, never the table. Immer
// sees the map as one opaque value (a class instance is not drafted), so a command that
// touches one chain of 200k chains costs that chain.
//
// Editing: a map is edited in place only by the command that made it (its owner token,
// one per draft table, see tables.ts editChains); any other edit starts a copy that
// shares every shard and every chain it does not touch. A command that fails drops its
// copy, so the snapshot it started from is unchanged.
//
// Each map carries its table's index (TableIndex: the jump graph with the reference
// count of every chain, the sets its rules use, the rules that need conntrack), kept in
// step rule by rule. The index object moves to the newest map; a journal of the rules
// added and removed lets it move back one step (a failed command) or forward again, so
// no command rebuilds it from the whole table.
import type { AddrMatch, ChainConfig, IfaceMatch, MatchSpec, RuleConfig, TableName, TargetSpec } from "./types.ts";
import { JumpGraph } from "./loops.ts";
import { MATCHES } from "./matches/index.ts";
import { TARGETS } from "./targets/index.ts";

const SHARDS = 1024;
const NO_MATCHES: RuleConfig["matches"] = [];
/** The options of every stored spec that has none (a jump's target): one object, not one per chain jumped to. */
const NO_OPTS: Spec["opts"] = Object.freeze({}) as Spec["opts"];
/** Index changes kept to undo a failed command cheaply (a larger one rebuilds instead). */
const JOURNAL_MAX = 8192;

/** FNV-1a over the name's UTF-16 units. */
function shardOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h >>> 0) & (SHARDS - 1);
}

/** What one rule contributes to its table's index. */
function setNamesOf(rule: RuleConfig): string[] | null {
  let out: string[] | null = null;
  for (const m of rule.matches) if (m.name === "set") (out ??= []).push(String(m.opts["name"]));
  if (rule.target?.name === "SET") {
    for (const k of ["add-set", "del-set"]) {
      const v = rule.target.opts[k] as string[] | undefined;
      if (v) (out ??= []).push(v[0]!);
    }
  }
  return out;
}

function needsConntrack(rule: RuleConfig): boolean {
  if (rule.target && TARGETS.get(rule.target.name)?.conntrack) return true;
  for (const m of rule.matches) if (MATCHES.get(m.name)?.conntrack) return true;
  return false;
}

type JournalOp = { add: boolean; chain: string; rule: RuleConfig } | { rename: [string, string] };

/** Derived from a table's rules, kept in step with every change (never rebuilt per command). */
export class TableIndex {
  readonly graph: JumpGraph;
  /** Set name -> rules that use it (ip_set_nfnl_get_byindex references). */
  readonly setUses = new Map<string, number>();
  /** Rules whose match or target needs conntrack. */
  conntrackRules = 0;
  /** The map this index describes. */
  owner: ChainMap | null = null;

  constructor(table: TableName) {
    this.graph = new JumpGraph(table);
  }

  static build(map: ChainMap, table: TableName): TableIndex {
    const ix = new TableIndex(table);
    for (const c of map.values()) for (const r of c.rules) ix.apply(c.name, r, true);
    ix.owner = map;
    return ix;
  }

  apply(chain: string, rule: RuleConfig, add: boolean): void {
    if (add) this.graph.addRule(chain, rule);
    else this.graph.removeRule(chain, rule);
    const sets = setNamesOf(rule);
    if (sets) {
      for (const s of sets) {
        const n = (this.setUses.get(s) ?? 0) + (add ? 1 : -1);
        if (n) this.setUses.set(s, n);
        else this.setUses.delete(s);
      }
    }
    if (needsConntrack(rule)) this.conntrackRules += add ? 1 : -1;
  }

  replay(ops: JournalOp[], forward: boolean): void {
    if (forward) {
      for (const op of ops) {
        if ("rename" in op) this.graph.rename(op.rename[0], op.rename[1]);
        else this.apply(op.chain, op.rule, op.add);
      }
    } else {
      for (let i = ops.length - 1; i >= 0; i--) {
        const op = ops[i]!;
        if ("rename" in op) this.graph.rename(op.rename[1], op.rename[0]);
        else this.apply(op.chain, op.rule, !op.add);
      }
    }
  }
}

/** A table's chains as readers see them (the snapshot's value; ChainMap behind it). */
export interface Chains {
  readonly size: number;
  get(name: string): ChainConfig | undefined;
  has(name: string): boolean;
  values(): IterableIterator<ChainConfig>;
  names(): IterableIterator<string>;
}

type Spec = MatchSpec | TargetSpec;
type OptValue = Spec["opts"][string];

/** A string copied out of the text it may be a slice of (a parsed option would keep a whole restore file alive). */
function own(s: string): string {
  return (" " + s).slice(1);
}

/**
 * Parts already stored, by a 32-bit hash of their content (no key text built per rule):
 * the first part with a hash in `one`, the others with the same hash in `more`.
 */
class HashPool<T> {
  private readonly one = new Map<number, T>();
  private readonly more = new Map<number, T[]>();

  /** The stored part with hash h that eq() finds equal to the probe (eq is a plain function: no closure per call). */
  find<P>(h: number, probe: P, eq: (stored: T, probe: P) => boolean): T | undefined {
    const v = this.one.get(h);
    if (v === undefined) return undefined;
    if (eq(v, probe)) return v;
    const rest = this.more.get(h);
    if (rest) for (const r of rest) if (eq(r, probe)) return r;
    return undefined;
  }

  add(h: number, v: T): T {
    if (!this.one.has(h)) this.one.set(h, v);
    else {
      const rest = this.more.get(h);
      if (rest) rest.push(v);
      else this.more.set(h, [v]);
    }
    return v;
  }
}

/** FNV-1a steps over a string's UTF-16 units and over a number. */
function hashStr(h: number, s: string): number {
  h = Math.imul(h ^ s.length, 0x01000193);
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}
function hashNum(h: number, n: number): number {
  h = Math.imul(h ^ (n | 0), 0x01000193);
  // The high part of a value above 2^32 (or a fraction) counts too.
  return Math.imul(h ^ ((n / 4294967296) | 0) ^ ((n % 1) * 1e9), 0x01000193);
}

/** A plain option value's hash (strings, finite numbers, booleans and arrays of those); null otherwise. */
function valueHash(h: number, v: OptValue): number | null {
  if (typeof v === "string") return hashStr(Math.imul(h ^ 1, 0x01000193), v);
  if (typeof v === "number") return Number.isFinite(v) ? hashNum(Math.imul(h ^ 2, 0x01000193), v) : null;
  if (typeof v === "boolean") return Math.imul(h ^ (v ? 3 : 4), 0x01000193);
  if (!Array.isArray(v)) return null;
  h = Math.imul(h ^ 5 ^ (v.length << 4), 0x01000193);
  for (const e of v as (string | number)[]) {
    if (typeof e === "string") h = hashStr(Math.imul(h ^ 1, 0x01000193), e);
    else if (typeof e === "number" && Number.isFinite(e)) h = hashNum(Math.imul(h ^ 2, 0x01000193), e);
    else return null;
  }
  return h;
}

/** A match or target spec's hash (its name, options in order, -g), or null when an option is not a plain value. */
function specHash(x: Spec): number | null {
  let h = hashStr(0x811c9dc5, x.name);
  const opts = x.opts;
  for (const f in opts) {
    const v = valueHash(hashStr(h, f), opts[f]!);
    if (v === null) return null;
    h = v;
  }
  if ("goto" in x) h = Math.imul(h ^ (x.goto ? 7 : 8), 0x01000193);
  return h;
}

function valueEquals(a: OptValue, b: OptValue): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] || typeof a[i] !== typeof b[i]) return false;
  return true;
}

/** Scratch for specEquals: the probe's option keys (reused, not allocated per compare). */
const probeKeys: string[] = [];

/** Same name, -g, option keys in the same order and equal plain values (what the JSON text of both would show). */
function specEquals(a: Spec, b: Spec): boolean {
  if (a.name !== b.name || "goto" in a !== "goto" in b || (a as TargetSpec).goto !== (b as TargetSpec).goto) return false;
  let n = 0;
  for (const f in b.opts) probeKeys[n++] = f;
  let i = 0;
  for (const f in a.opts) {
    if (i >= n || f !== probeKeys[i] || !valueEquals(a.opts[f]!, b.opts[f]!)) return false;
    i++;
  }
  return i === n;
}

function addrEquals(a: AddrMatch, b: AddrMatch): boolean {
  return a.addr === b.addr && a.plen === b.plen && a.inv === b.inv;
}

function ifaceEquals(a: IfaceMatch, b: IfaceMatch): boolean {
  return a.name === b.name && a.wildcard === b.wildcard && a.inv === b.inv;
}

/**
 * A copy of a spec: the same keys in the same order, strings owned. A jump's chain name
 * is the chain's own name string (no copy).
 */
function copySpec<T extends Spec>(x: T, chains: Chains | null): T {
  let opts: Spec["opts"] = NO_OPTS;
  for (const f in x.opts) {
    if (opts === NO_OPTS) opts = {};
    const v = x.opts[f]!;
    opts[f] = typeof v === "string" ? own(v) : Array.isArray(v) ? (v as (string | number)[]).map((e) => (typeof e === "string" ? own(e) : e)) as OptValue : v;
  }
  const name = chains?.get(x.name)?.name ?? own(x.name);
  // One literal each (a property added afterwards would cost a backing store per spec).
  return ("goto" in x ? { name, opts, goto: x.goto } : { name, opts }) as T;
}

/** The interned parts of one edit: specs and addresses by content hash, lists by their specs. */
class InternPools {
  readonly specs = new HashPool<Spec>();
  readonly addrs = new HashPool<AddrMatch>();
  readonly ifaces = new HashPool<IfaceMatch>();
  readonly lists = new HashPool<RuleConfig["matches"]>();
  /** Specs with a value specHash does not read, by their JSON text. */
  readonly json = new Map<string, object>();
  /** The hash of the last spec interned (a match list's hash is made of them). */
  lastHash = 0;
  /** The last match and target stored, with their hashes: consecutive rules often repeat them (one service's comment). */
  lastMatch: Spec | null = null;
  lastMatchHash = 0;
  lastTarget: Spec | null = null;
  lastTargetHash = 0;
}

/** internSpec() with a look at the last spec of the same kind first. */
function internSpecCached<T extends Spec>(pools: InternPools, kind: 1 | 2, x: T, chains: Chains | null = null): T {
  const last = kind === 1 ? pools.lastMatch : pools.lastTarget;
  if (last !== null && specEquals(last, x)) {
    pools.lastHash = kind === 1 ? pools.lastMatchHash : pools.lastTargetHash;
    return last as T;
  }
  const v = internSpec(pools, kind, x, chains);
  if (kind === 1) {
    pools.lastMatch = v;
    pools.lastMatchHash = pools.lastHash;
  } else {
    pools.lastTarget = v;
    pools.lastTargetHash = pools.lastHash;
  }
  return v;
}

/**
 * A match or target spec as stored: shared with an equal one already stored, else a copy.
 * The -D / -C comparison is by JSON text: the copy keeps the given keys' order.
 */
function internSpec<T extends Spec>(pools: InternPools, kind: number, x: T, chains: Chains | null = null): T {
  const h0 = specHash(x);
  if (h0 === null) return internJson(pools, kind, x);
  const h = Math.imul(h0 ^ kind, 0x01000193);
  pools.lastHash = h;
  const found = pools.specs.find(h, x as Spec, specEquals);
  return (found ?? pools.specs.add(h, copySpec(x, chains))) as T;
}

/** A spec with a value specHash does not read: keyed by its JSON text, stored as a copy parsed from it. */
function internJson<T extends object>(pools: InternPools, kind: number, x: T): T {
  const key = kind + JSON.stringify(x);
  pools.lastHash = hashStr(0, key);
  let v = pools.json.get(key) as T | undefined;
  if (!v) pools.json.set(key, (v = JSON.parse(key.slice(String(kind).length)) as T));
  return v;
}

/** An address (a number and flags), stored with the keys in the parser's order. */
function internAddr(pools: InternPools, x: AddrMatch): AddrMatch {
  const h = hashNum(Math.imul((x.plen << 1) | (x.inv ? 1 : 0), 0x01000193), x.addr);
  return pools.addrs.find(h, x, addrEquals) ?? pools.addrs.add(h, { addr: x.addr, plen: x.plen, inv: x.inv });
}

/** An interface (a name and flags), its name copied out of the command text. */
function internIface(pools: InternPools, x: IfaceMatch): IfaceMatch {
  const h = hashStr((x.wildcard ? 2 : 0) | (x.inv ? 1 : 0), x.name);
  return pools.ifaces.find(h, x, ifaceEquals) ?? pools.ifaces.add(h, { name: own(x.name), wildcard: x.wildcard, inv: x.inv });
}

/** Two match lists of the same interned specs (object identity). */
function sameList(a: RuleConfig["matches"], b: RuleConfig["matches"]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A rule's match list: each spec interned, the list shared with rules whose specs are the same objects. */
function internMatches(pools: InternPools, given: RuleConfig["matches"]): RuleConfig["matches"] {
  const specs: RuleConfig["matches"] = new Array(given.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < given.length; i++) {
    specs[i] = internSpecCached(pools, 1, given[i]!);
    h = Math.imul(h ^ pools.lastHash, 0x01000193);
  }
  return pools.lists.find(h, specs, sameList) ?? pools.lists.add(h, specs);
}

/**
 * One command's edit of a table (its token): what it already copied, so it changes those
 * in place. When the command ends it is sealed (sealEdits): its bookkeeping is dropped
 * and the map it made is never changed in place again.
 */
export class EditSession {
  ownShards = new Uint8Array(SHARDS);
  ownChains = new Set<ChainConfig>();
  private interned: InternPools | null = null;
  sealed = false;

  constructor() {
    open.add(this);
  }

  /** Rule parts already stored (interned), made on the first rule the edit stores. */
  get pools(): InternPools {
    return (this.interned ??= new InternPools());
  }

  seal(): void {
    this.sealed = true;
    this.ownShards = EMPTY_OWN;
    this.ownChains = new Set();
    this.interned = null;
    open.delete(this);
  }
}

const EMPTY_OWN = new Uint8Array(SHARDS);
const open = new Set<EditSession>();

/** Ends every open edit (a command finished, or failed): the maps they made are sealed. */
export function sealEdits(): void {
  for (const s of [...open]) s.seal();
}

export class ChainMap implements Chains {
  /** Chains by shard; an absent shard is empty. */
  private readonly shards: (Map<string, ChainConfig> | undefined)[];
  private count: number;
  /** Next creation number (ChainConfig.seq): chains list in creation order where iptables does. */
  private seqNext: number;
  /** The edit that may change this map in place (null: sealed). */
  private owner: EditSession | null;
  /** The map this one was copied from, and the index changes since (to move the index between them). */
  private base: ChainMap | null;
  private journal: JournalOp[] | null;
  private ix: TableIndex | null;
  private setUsesAtSeal: Map<string, number> | null = null;

  private constructor(src: ChainMap | null, owner: EditSession | null) {
    this.shards = src ? src.shards.slice() : new Array(SHARDS);
    this.count = src ? src.count : 0;
    this.seqNext = src ? src.seqNext : 0;
    this.owner = owner;
    this.base = src;
    this.journal = owner ? [] : null;
    this.ix = null;
  }

  static empty(): ChainMap {
    return new ChainMap(null, null);
  }

  get size(): number {
    return this.count;
  }

  get(name: string): ChainConfig | undefined {
    return this.shards[shardOf(name)]?.get(name);
  }

  has(name: string): boolean {
    return this.shards[shardOf(name)]?.has(name) ?? false;
  }

  *values(): IterableIterator<ChainConfig> {
    for (const s of this.shards) if (s) yield* s.values();
  }

  *names(): IterableIterator<string> {
    for (const s of this.shards) if (s) yield* s.keys();
  }

  /** Chains that differ between two maps (by identity), by name: [before, after] (undefined = absent). */
  static diff(a: ChainMap, b: ChainMap, visit: (name: string, before: ChainConfig | undefined, after: ChainConfig | undefined) => void): void {
    for (let i = 0; i < SHARDS; i++) {
      const sa = a.shards[i];
      const sb = b.shards[i];
      if (sa === sb) continue;
      if (sb) for (const [name, c] of sb) if (sa?.get(name) !== c) visit(name, sa?.get(name), c);
      if (sa) for (const [name, c] of sa) if (!sb?.has(name)) visit(name, c, undefined);
    }
  }

  /** This map, editable by `token`: itself when the token already owns it, else a copy sharing all shards. */
  editBy(token: EditSession): ChainMap {
    if (this.owner === token && !token.sealed) return this;
    // A map that is copied is sealed: it is some snapshot's value now.
    this.owner = null;
    const ix = this.locate();
    // What readers of this (older) snapshot ask most, kept as it is when the index leaves.
    if (ix) this.setUsesAtSeal = new Map(ix.setUses);
    const next = new ChainMap(this, token);
    // The index moves to the copy (and back, by its journal, if the copy is dropped).
    if (ix) {
      this.ix = ix;
      next.ix = ix;
      ix.owner = next;
    }
    // One step back is kept: this map's own journal is no longer needed.
    this.journal = null;
    this.base = null;
    return next;
  }

  private indexIfOwned(): TableIndex | null {
    return this.ix && this.ix.owner === this ? this.ix : null;
  }

  /** Set name -> rules using it, without moving the index to an older map. */
  setUses(table: TableName): ReadonlyMap<string, number> {
    const ix = this.ix;
    if (ix && ix.owner === this) return ix.setUses;
    return this.setUsesAtSeal ?? this.index(table).setUses;
  }

  /** The index of this map: moved here from its neighbour by the journal, or built once. */
  index(table: TableName): TableIndex {
    const ix = this.locate();
    if (ix) return ix;
    this.ix = TableIndex.build(this, table);
    // Built from this map's rules: its journal no longer leads from its base's index.
    this.base = null;
    if (this.journal) this.journal = [];
    return this.ix;
  }

  /** This map's index when it is here or one journal step away (moved here), else null. */
  private locate(): TableIndex | null {
    const ix = this.ix;
    if (ix && ix.owner === this) return ix;
    // The index sits on the map made from this one (a command that failed or one still open): undo it.
    if (ix && ix.owner && ix.owner.base === this && ix.owner.journal) {
      ix.replay(ix.owner.journal, false);
      ix.owner = this;
      return ix;
    }
    // The index sits on the map this one was made from: redo this one's changes.
    if (ix && ix.owner === this.base && this.journal) {
      ix.replay(this.journal, true);
      ix.owner = this;
      return ix;
    }
    return null;
  }

  private session(): EditSession {
    const s = this.owner;
    if (!s || s.sealed) throw new Error("ChainMap: a sealed map is not changed in place");
    return s;
  }

  private shardForWrite(i: number): Map<string, ChainConfig> {
    const own = this.session().ownShards;
    let s = this.shards[i];
    if (!own[i]) {
      s = new Map(s);
      this.shards[i] = s;
      own[i] = 1;
    } else if (!s) this.shards[i] = s = new Map();
    return s!;
  }

  /** Adds a new chain (the caller checked it is not there). */
  add(name: string, policy: ChainConfig["policy"]): ChainConfig {
    const mine = this.session().ownChains;
    // The name copied out of the command text (a slice would keep a whole restore input alive).
    const c: ChainConfig = { name: own(name), policy, rules: [], seq: this.seqNext++ };
    this.shardForWrite(shardOf(name)).set(c.name, c);
    mine.add(c);
    this.count++;
    return c;
  }

  /**
   * The chain, changeable in place by this edit (copied on first use); undefined when
   * absent. `rules`, when given, are its new rules (made by the caller from the old ones
   * in one pass, so a large chain is copied once, not copied and then spliced).
   */
  mutable(name: string, rules?: (old: readonly RuleConfig[]) => RuleConfig[]): ChainConfig | undefined {
    const own = this.session().ownChains;
    const i = shardOf(name);
    const c = this.shards[i]?.get(name);
    if (!c || own.has(c)) return c;
    const copy: ChainConfig = { ...c, rules: rules ? rules(c.rules) : c.rules.slice() };
    this.shardForWrite(i).set(name, copy);
    own.add(copy);
    return copy;
  }

  /** A rule put at `at` (0-based; past the end appends) in the chain, copied first unless this edit owns it (no closure per rule). */
  insertAt(name: string, at: number, rule: RuleConfig): void {
    const own = this.session().ownChains;
    const i = shardOf(name);
    const c = this.shards[i]?.get(name);
    if (!c) return;
    if (own.has(c)) {
      if (at >= c.rules.length) c.rules.push(rule);
      else c.rules.splice(at, 0, rule);
      return;
    }
    const old = c.rules;
    const n = Math.min(at, old.length);
    const rules = new Array<RuleConfig>(old.length + 1);
    for (let k = 0; k < n; k++) rules[k] = old[k]!;
    rules[n] = rule;
    for (let k = n; k < old.length; k++) rules[k + 1] = old[k]!;
    const copy: ChainConfig = { ...c, rules };
    this.shardForWrite(i).set(name, copy);
    own.add(copy);
  }

  remove(name: string): void {
    this.session();
    const i = shardOf(name);
    if (!this.shards[i]?.has(name)) return;
    this.shardForWrite(i).delete(name);
    this.count--;
  }

  /** Puts a chain under another name (the caller checked `to` is free). */
  rename(from: string, to: string): ChainConfig {
    const c = this.mutable(from)!;
    this.remove(from);
    c.name = own(to);
    this.shardForWrite(shardOf(to)).set(c.name, c);
    this.count++;
    this.note({ rename: [from, to] });
    return c;
  }

  /**
   * The rule as stored: its parts (addresses, interfaces, match and target specs) shared
   * with the equal parts of the rules this edit already stored, and its strings copied
   * out of the command text (a parsed option is a slice that keeps a whole restore file
   * alive). A kube-proxy table repeats the same comment, match and target in many rules.
   */
  intern(rule: RuleConfig): RuleConfig {
    const pools = this.session().pools;
    const matches = rule.matches.length ? internMatches(pools, rule.matches) : NO_MATCHES;
    // The same keys in the same order: -D and -C compare rules by their JSON text.
    return {
      ...rule,
      src: rule.src && internAddr(pools, rule.src),
      dst: rule.dst && internAddr(pools, rule.dst),
      inIface: rule.inIface && internIface(pools, rule.inIface),
      outIface: rule.outIface && internIface(pools, rule.outIface),
      matches,
      target: rule.target && internSpecCached(pools, 2, rule.target, this),
    };
  }

  /** Records a rule added to or removed from `chain` (after the chain changed). */
  ruleAdded(chain: string, rule: RuleConfig): void {
    this.noteRule(chain, rule, true);
  }
  ruleRemoved(chain: string, rule: RuleConfig): void {
    this.noteRule(chain, rule, false);
  }

  private noteRule(chain: string, rule: RuleConfig, add: boolean): void {
    // No index here: it is built from the rules (or moved here by the journal) when asked for.
    this.indexIfOwned()?.apply(chain, rule, add);
    this.record({ add, chain, rule });
  }

  private note(op: JournalOp): void {
    if ("rename" in op) this.indexIfOwned()?.graph.rename(op.rename[0], op.rename[1]);
    this.record(op);
  }

  private record(op: JournalOp): void {
    const j = this.journal;
    if (!j) return;
    // A large change (a whole restore) keeps no journal: moving back past it rebuilds.
    if (j.length >= JOURNAL_MAX) {
      this.journal = null;
      this.base = null;
      return;
    }
    j.push(op);
  }
}
