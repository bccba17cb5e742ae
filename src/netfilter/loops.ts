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
import { isBuiltin } from "./tables.ts";
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

function bump(m: Map<string, Map<string, number>>, a: string, b: string, by: number): void {
  let inner = m.get(a);
  if (!inner) m.set(a, (inner = new Map()));
  const n = (inner.get(b) ?? 0) + by;
  if (n > 0) inner.set(b, n);
  else {
    inner.delete(b);
    if (inner.size === 0) m.delete(a);
  }
}

export class JumpGraph {
  /** caller -> callee -> number of rules. */
  private readonly down = new Map<string, Map<string, number>>();
  /** callee -> caller -> number of rules. */
  private readonly up = new Map<string, Map<string, number>>();
  constructor(readonly table: TableName) {}

  /** Rules that jump or go to `chain` (nf_tables' chain->use for a user chain). */
  refs(chain: string): number {
    let n = 0;
    const callers = this.up.get(chain);
    if (callers) for (const k of callers.values()) n += k;
    return n;
  }

  /** The chains with a rule that jumps or goes to `chain`. */
  callers(chain: string): IterableIterator<string> {
    return (this.up.get(chain) ?? new Map<string, number>()).keys();
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
    const outs = this.down.get(chain);
    if (!outs) return;
    for (const [to, n] of outs) bump(this.up, to, chain, -n);
    this.down.delete(chain);
  }

  /** -E: the chain keeps its jumps under its new name (the rules that named it now name `to`). */
  rename(from: string, to: string): void {
    const outs = this.down.get(from);
    const ins = this.up.get(from);
    if (outs) {
      this.down.delete(from);
      this.down.set(to, outs);
      for (const callee of outs.keys()) {
        const m = this.up.get(callee)!;
        m.set(to, m.get(from)!);
        m.delete(from);
      }
    }
    if (ins) {
      this.up.delete(from);
      this.up.set(to, ins);
      for (const caller of ins.keys()) {
        const m = this.down.get(caller)!;
        m.set(to, m.get(from)!);
        m.delete(from);
      }
    }
  }

  /**
   * The deepest level at which a base chain reaches `chain`, or -1 when none does. Walks
   * up at most NFT_JUMP_STACK_SIZE levels: a valid table has no deeper path.
   */
  levelOf(chain: string): number {
    let best = -1;
    const seen = new Map<string, number>();
    const climb = (c: string, d: number): void => {
      if (d >= NFT_JUMP_STACK_SIZE) {
        best = Math.max(best, isBuiltin(this.table, c) ? d : best);
        return;
      }
      const prev = seen.get(c);
      if (prev !== undefined && prev >= d) return;
      seen.set(c, d);
      if (isBuiltin(this.table, c)) best = Math.max(best, d);
      const callers = this.up.get(c);
      if (callers) for (const caller of callers.keys()) climb(caller, d + 1);
    };
    climb(chain, 0);
    return best;
  }

  /**
   * nft_chain_validate() for a rule in `chain` that jumps or goes to `to`, before it is
   * added: true when some chain would then be reached at level NFT_JUMP_STACK_SIZE.
   */
  tooManyLinks(chain: string, to: string): boolean {
    const level = this.levelOf(chain);
    if (level < 0) return false;
    bump(this.down, chain, to, 1);
    try {
      return !this.validate(to, level + 1, new Map());
    } finally {
      bump(this.down, chain, to, -1);
    }
  }

  /** Depth-first below `c`, as the kernel does, skipping a chain already validated at this level or deeper. */
  private validate(c: string, level: number, seen: Map<string, number>): boolean {
    if (level >= NFT_JUMP_STACK_SIZE) return false;
    const prev = seen.get(c);
    if (prev !== undefined && prev >= level) return true;
    const outs = this.down.get(c);
    if (outs) for (const next of outs.keys()) if (!this.validate(next, level + 1, seen)) return false;
    seen.set(c, level);
    return true;
  }
}
