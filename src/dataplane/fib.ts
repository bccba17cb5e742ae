// The FIB of one namespace, compiled per snapshot: one Map per prefix length, probed
// from the longest present prefix down (fib_table_lookup's longest match). Without policy
// rules (not modelled) the kernel keeps the local and main tables in one trie and
// fib_lookup() asks it once: the longest prefix of either table wins, and on one prefix
// the local table's entry comes first (fib_insert_alias orders by tb_id, highest first).
import type { RouteConfig } from "../config/types.ts";
import { RT_TABLE_LOCAL, RT_TABLE_MAIN } from "../config/types.ts";
import { maskOf } from "../wire/ipv4.ts";

export class FibTable {
  private readonly byLen: (Map<number, RouteConfig> | undefined)[] = new Array(33);
  private lens: number[] = [];

  constructor(routes: readonly RouteConfig[]) {
    for (const r of routes) {
      let m = this.byLen[r.plen];
      if (!m) m = this.byLen[r.plen] = new Map();
      const cur = m.get(r.dst);
      // Equal prefixes: the local table's first, then the lowest metric (fib_find_alias order).
      if (!cur || r.table > cur.table || (r.table === cur.table && r.metric < cur.metric)) m.set(r.dst, r);
    }
    for (let len = 32; len >= 0; len--) if (this.byLen[len]) this.lens.push(len);
  }

  lookup(addr: number): RouteConfig | null {
    const lens = this.lens;
    for (let i = 0; i < lens.length; i++) {
      const len = lens[i]!;
      const r = this.byLen[len]!.get((addr & maskOf(len)) >>> 0);
      if (r) return r;
    }
    return null;
  }
}

export class Fib {
  private readonly merged: FibTable;
  constructor(routes: readonly RouteConfig[]) {
    this.merged = new FibTable(routes.filter((r) => r.table === RT_TABLE_LOCAL || r.table === RT_TABLE_MAIN));
  }

  lookup(addr: number): RouteConfig | null {
    return this.merged.lookup(addr);
  }
}
