// nf_tables_validate() at commit: from each base chain, every chain it reaches by jump,
// goto or verdict map must hold only expressions its type and hook allow
// (nft_nat_validate, nft_reject_validate), and no chain may reach itself nor lie more than
// NFT_JUMP_STACK_SIZE jumps deep (nft_chain_validate: EMLINK, nf_tables_check_loops).
//
// A committed table already passed, so a transaction can only break it through what it
// added: a rule (its statements, its jumps) or a verdict map element (a jump from every
// chain that looks the map up). Each is checked from where it sits: the base chains that
// reach it and how deep (a walk up the reference graph), then the chains below it (a walk
// down, each chain's height memoised). A rename, or a table without a graph, is walked whole.
import { plain, NftError } from "./apply.ts";
import { findChain } from "./apply.ts";
import { chainOfKey, pendingTxs, referrers, refers, setKey, verdictTargets, type TxGraph } from "./graph.ts";
import type { Loc } from "./parser.ts";
import type { NftBase, NftChain, NftRule, NftRuleset, NftSetDef, NftStmt, NftTable } from "./types.ts";

const EOPNOTSUPP = "Operation not supported";
/** A path from a base chain may hold at most this many chains (the base and 16 jumps). */
const MAX_PATH = 17;

interface Kind {
  natOk: boolean;
  rejectOk: boolean;
}

function kindOf(b: NftBase): Kind {
  return { natOk: b.type === "nat", rejectOk: ["input", "forward", "output"].includes(b.hook) };
}

function hasNat(stmts: readonly NftStmt[]): boolean {
  return stmts.some((s) => s.k === "nat" || s.k === "masquerade" || s.k === "redirect");
}

/** Where base chains reach a chain from: their kinds, and the longest path to it (chains). */
interface Reach {
  kinds: Map<string, Kind>;
  depth: number;
}
const UNREACHED: Reach = { kinds: new Map(), depth: 0 };

/** One validation of one table: chains read once each, heights memoised per kind. */
class Walk {
  private readonly chains = new Map<string, NftChain | null>();
  private readonly heights = new Map<string, Map<string, number>>();
  private readonly reaches = new Map<string, Reach>();
  private readonly sets = new Map<string, NftSetDef | null>();

  constructor(
    private readonly t: NftTable,
    private readonly loc: Loc | null,
    private readonly tx: TxGraph | null,
  ) {}

  chain(name: string): NftChain | null {
    let c = this.chains.get(name);
    if (c === undefined) this.chains.set(name, (c = plain(findChain(this.t, name)) ?? null));
    return c;
  }

  private set(name: string): NftSetDef | null {
    let s = this.sets.get(name);
    if (s === undefined) {
      const d = this.t.sets.find((x) => x.name === name && !x.anonymous);
      this.sets.set(name, (s = d ? plain(d) : null));
    }
    return s;
  }

  /** Chains a rule's verdicts and verdict map lookups lead to (existing ones). */
  targets(r: NftRule): string[] {
    const out: string[] = [];
    for (const v of verdictTargets(r.stmts)) if (v.chain !== undefined && this.chain(v.chain)) out.push(v.chain);
    for (const s of r.stmts) {
      if (s.k !== "vmap" || s.map.k !== "ref") continue;
      for (const e of this.set(s.map.name)?.elems ?? []) if (e.data?.k === "verdict" && e.data.v.chain !== undefined && this.chain(e.data.v.chain)) out.push(e.data.v.chain);
    }
    return out;
  }

  checkStmts(r: NftRule, k: Kind): void {
    if (!k.natOk && hasNat(r.stmts)) throw new NftError(EOPNOTSUPP, this.loc);
    if (!k.rejectOk && r.stmts.some((s) => s.k === "reject")) throw new NftError(EOPNOTSUPP, this.loc);
  }

  /** Chains on the longest path down from name (itself included), its statements checked for k. */
  height(name: string, k: Kind, path: Set<string>): number {
    const key = `${k.natOk}/${k.rejectOk}`;
    let memo = this.heights.get(key);
    if (!memo) this.heights.set(key, (memo = new Map()));
    const known = memo.get(name);
    if (known !== undefined) return known;
    if (path.has(name) || path.size >= MAX_PATH) throw new NftError("Too many links", this.loc);
    const c = this.chain(name);
    if (!c) return 0;
    for (const r of c.rules) this.checkStmts(r, k);
    path.add(name);
    let h = 0;
    for (const r of c.rules) for (const n of this.targets(r)) h = Math.max(h, this.height(n, k, path));
    path.delete(name);
    memo.set(name, h + 1);
    return h + 1;
  }

  /** A jump from `from` (reached as r says) to `to`: no loop back, no path too long, statements allowed. */
  edge(from: string, r: Reach, to: string): void {
    for (const k of r.kinds.values()) {
      if (r.depth + this.height(to, k, new Set([from])) > MAX_PATH) throw new NftError("Too many links", this.loc);
    }
  }

  /** The base chains that reach name, walking the references up (nf_tables_check_loops' other way). */
  reach(name: string, busy: Set<string> = new Set()): Reach {
    const known = this.reaches.get(name);
    if (known) return known;
    const c = this.chain(name);
    if (!c) return UNREACHED;
    if (c.base) {
      const r = { kinds: new Map([[`${c.base.type}/${c.base.hook}`, kindOf(c.base)]]), depth: 1 };
      this.reaches.set(name, r);
      return r;
    }
    if (busy.has(name) || !this.tx) return UNREACHED;
    busy.add(name);
    const out: Reach = { kinds: new Map(), depth: 0 };
    const from = (n: string) => {
      const r = this.reach(n, busy);
      for (const [key, k] of r.kinds) out.kinds.set(key, k);
      if (r.kinds.size) out.depth = Math.max(out.depth, r.depth + 1);
    };
    for (const ref of referrers(this.tx.g.into.get(name))) {
      const c = chainOfKey(ref);
      if (c !== null) from(c);
      else for (const u of referrers(this.tx.g.users.get(ref.slice(1)))) from(u);
    }
    busy.delete(name);
    this.reaches.set(name, out);
    return out;
  }
}

/** Every base chain of the table walked down (a table without a reference graph, or renamed chains). */
function validateTable(t: NftTable, loc: Loc | null): void {
  const w = new Walk(t, loc, null);
  for (const c of plain(t.chains).flat()) {
    if (!c.base) continue;
    if (w.height(c.name, kindOf(c.base), new Set()) > MAX_PATH) throw new NftError("Too many links", loc);
  }
}

/** What the transaction added to one table, checked from where it sits. */
function validateAdded(t: NftTable, tx: TxGraph, loc: Loc | null): void {
  const w = new Walk(t, loc, tx);
  for (const { chain, rule } of tx.added) {
    if (tx.removed.has(rule) || !w.chain(chain)) continue;
    const r = w.reach(chain);
    if (!r.kinds.size) continue;
    for (const k of r.kinds.values()) w.checkStmts(rule, k);
    for (const to of w.targets(rule)) w.edge(chain, r, to);
  }
  for (const { set, target } of tx.elemEdges) {
    if (!refers(tx.g.into.get(target), setKey(set)) || !w.chain(target)) continue;
    for (const u of referrers(tx.g.users.get(set))) {
      const r = w.reach(u);
      if (r.kinds.size) w.edge(u, r, target);
    }
  }
}

/** Tests: validate every changed table whole, as a reference for the incremental check. */
let wholeTables = false;
export function validateWhole(on: boolean): void {
  wholeTables = on;
}

/** The commit's validation of the tables the transaction changed. */
export function validateTx(loc: Loc | null): void {
  for (const [t, tx] of pendingTxs()) {
    if (tx.gone) continue;
    if (tx.stale || wholeTables) validateTable(t, loc);
    else validateAdded(t, tx, loc);
  }
}

/** The whole ruleset validated from its base chains (what validateTx must agree with). */
export function validateRuleset(rs: NftRuleset, loc: Loc | null): void {
  for (const t of rs.tables) validateTable(t, loc);
}
