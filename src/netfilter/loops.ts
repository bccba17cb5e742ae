// Jump loops and jump depth, refused as nf_tables refuses them. nf_tables_api.c
// nft_table_validate()/nft_chain_validate(): from every base chain, each jump or goto is
// one level deeper; a chain reached at level NFT_JUMP_STACK_SIZE fails the rule's commit
// with EMLINK ("Too many links"). A loop reachable from a base chain always gets there;
// a loop no base chain reaches is never validated, and the kernel accepts it.
//
// The kernel walks the table from its base chains on every rule that adds a jump. Here a
// table keeps its jump graph (who jumps to whom, both ways; the table's index in
// chains.ts), so checking one new jump costs the chains above its source and below its
// target, not the whole table.
import type { RuleConfig, TableName } from "./types.ts";
import { isBuiltin, TABLES } from "./tables.ts";
import { TARGETS } from "./targets/index.ts";

/** include/net/netfilter/nf_tables.h: the jump stack of nft_do_chain(). */
export const NFT_JUMP_STACK_SIZE = 16;

/** The user chain a rule jumps or goes to (as compile.ts resolves its target), or null. */
export function jumpTarget(rule: RuleConfig): string | null {
  const t = rule.target;
  if (!t) return null;
  const n = t.name;
  if (n === "ACCEPT" || n === "DROP" || n === "RETURN" || TARGETS.has(n)) return null;
  return n;
}

/**
 * One chain's edges: most chains of a large table have one neighbour with one rule (a
 * KUBE-SEP chain called by its KUBE-SVC chain, jumping to KUBE-MARK-MASQ), kept as that
 * name alone; more become a Map name -> rules.
 */
type Edges = string | Map<string, number>;
type Adjacency = Map<string, Edges>;

function bump(m: Adjacency, a: string, b: string, by: number): void {
  if (by === 0) return;
  const cur = m.get(a);
  if (cur === undefined) {
    if (by === 1) m.set(a, b);
    else if (by > 1) m.set(a, new Map([[b, by]]));
    return;
  }
  if (typeof cur === "string") {
    if (cur === b) {
      if (by < 0) m.delete(a);
      else if (by > 0) m.set(a, new Map([[b, 1 + by]]));
      return;
    }
    if (by <= 0) return;
    m.set(a, new Map([[cur, 1], [b, by]]));
    return;
  }
  const n = (cur.get(b) ?? 0) + by;
  if (n > 0) cur.set(b, n);
  else {
    cur.delete(b);
    if (cur.size === 0) m.delete(a);
    else if (cur.size === 1) {
      const [k, v] = cur.entries().next().value as [string, number];
      if (v === 1) m.set(a, k);
    }
  }
}

function edgesOf(m: Adjacency, a: string): [string, number][] {
  const e = m.get(a);
  if (e === undefined) return [];
  return typeof e === "string" ? [[e, 1]] : [...e];
}

function* neighbours(m: Adjacency, a: string): IterableIterator<string> {
  const e = m.get(a);
  if (e === undefined) return;
  if (typeof e === "string") yield e;
  else yield* e.keys();
}

export class JumpGraph {
  /** caller -> callee -> number of rules. */
  private readonly down: Adjacency = new Map();
  /** callee -> caller -> number of rules. */
  private readonly up: Adjacency = new Map();
  constructor(readonly table: TableName) {}

  /** Rules that jump or go to `chain` (nf_tables' chain->use for a user chain). */
  refs(chain: string): number {
    const e = this.up.get(chain);
    if (e === undefined) return 0;
    if (typeof e === "string") return 1;
    let n = 0;
    for (const k of e.values()) n += k;
    return n;
  }

  /** The chains with a rule that jumps or goes to `chain`. */
  callers(chain: string): IterableIterator<string> {
    return neighbours(this.up, chain);
  }

  addRule(chain: string, rule: RuleConfig): void {
    const to = jumpTarget(rule);
    if (to === null) return;
    bump(this.down, chain, to, 1);
    bump(this.up, to, chain, 1);
  }

  removeRule(chain: string, rule: RuleConfig): void {
    const to = jumpTarget(rule);
    if (to === null) return;
    bump(this.down, chain, to, -1);
    bump(this.up, to, chain, -1);
  }

  /** -F: every jump out of the chain is gone. */
  clearChain(chain: string): void {
    for (const [to, n] of edgesOf(this.down, chain)) {
      bump(this.up, to, chain, -n);
      bump(this.down, chain, to, -n);
    }
  }

  /** -E: the chain keeps its jumps under its new name (the rules that named it now name `to`). */
  rename(from: string, to: string): void {
    const outs = edgesOf(this.down, from);
    const ins = edgesOf(this.up, from).filter(([caller]) => caller !== from);
    for (const [callee, n] of outs) {
      bump(this.down, from, callee, -n);
      bump(this.up, callee, from, -n);
    }
    for (const [caller, n] of ins) {
      bump(this.up, from, caller, -n);
      bump(this.down, caller, from, -n);
    }
    for (const [callee, n] of outs) {
      const c = callee === from ? to : callee;
      bump(this.down, to, c, n);
      bump(this.up, c, to, n);
    }
    for (const [caller, n] of ins) {
      bump(this.up, to, caller, n);
      bump(this.down, caller, to, n);
    }
  }

  /**
   * The deepest level at which a base chain reaches `chain`, or -1 when none does. Walks
   * up at most NFT_JUMP_STACK_SIZE levels: a valid table has no deeper path.
   */
  levelOf(chain: string): number {
    // Most chains have one caller, which has one caller, up to a base chain: walked without a map.
    let best = -1;
    let c = chain;
    for (let d = 0; d < NFT_JUMP_STACK_SIZE; d++) {
      if (isBuiltin(this.table, c)) best = d;
      const e = this.up.get(c);
      if (e === undefined) return best;
      if (typeof e !== "string") break;
      c = e;
    }
    return this.climb(chain, 0, new Map(), -1);
  }

  /** levelOf()'s walk up from `c` at depth d; returns the best level found so far. */
  private climb(c: string, d: number, seen: Map<string, number>, best: number): number {
    const builtin = isBuiltin(this.table, c);
    if (d >= NFT_JUMP_STACK_SIZE) return builtin ? Math.max(best, d) : best;
    const prev = seen.get(c);
    if (prev !== undefined && prev >= d) return best;
    seen.set(c, d);
    if (builtin) best = Math.max(best, d);
    const e = this.up.get(c);
    if (e === undefined) return best;
    if (typeof e === "string") return this.climb(e, d + 1, seen, best);
    for (const caller of e.keys()) best = this.climb(caller, d + 1, seen, best);
    return best;
  }

  /**
   * nft_chain_validate() for a rule in `chain` that jumps or goes to `to`, before it is
   * added: true when some chain would then be reached at level NFT_JUMP_STACK_SIZE.
   */
  tooManyLinks(chain: string, to: string): boolean {
    const level = this.levelOf(chain);
    if (level < 0) return false;
    // A target with no jumps of its own (and not the chain itself) is one level below: no walk.
    if (to !== chain && !this.down.has(to)) return level + 1 >= NFT_JUMP_STACK_SIZE;
    // The walk counts the new edge chain -> to as if it were there.
    return !this.validate(to, level + 1, new Map(), chain, to);
  }

  /**
   * nft_table_validate() over the whole table: no chain is reached from a base chain at
   * level NFT_JUMP_STACK_SIZE (a loop a base chain reaches always is). A table that
   * only grew since it was valid is valid at every step when it is valid at the end.
   */
  validAll(): boolean {
    const seen = new Map<string, number>();
    for (const base of TABLES[this.table].chains) if (!this.validate(base.name, 0, seen, "", "")) return false;
    return true;
  }

  /**
   * Depth-first below `c`, as the kernel does, skipping a chain already validated at this
   * level or deeper; `from` -> `extra` is the edge being added (visited after the others).
   */
  private validate(c: string, level: number, seen: Map<string, number>, from: string, extra: string): boolean {
    if (level >= NFT_JUMP_STACK_SIZE) return false;
    const prev = seen.get(c);
    if (prev !== undefined && prev >= level) return true;
    const e = this.down.get(c);
    if (typeof e === "string") {
      if (!this.validate(e, level + 1, seen, from, extra)) return false;
    } else if (e !== undefined) {
      for (const next of e.keys()) if (!this.validate(next, level + 1, seen, from, extra)) return false;
    }
    // The new edge: a neighbour already there (more rules to the same chain) adds no path.
    if (c === from && e !== extra && !(typeof e === "object" && e.has(extra)) && !this.validate(extra, level + 1, seen, from, extra)) return false;
    seen.set(c, level);
    return true;
  }
}
