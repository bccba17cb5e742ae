// The FIB of one namespace, compiled per snapshot: one Map per prefix length, probed
// from the longest present prefix down (fib_table_lookup's longest match), local table
// before main (the default rules 0 and 32766).
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
      // Equal prefixes: the lowest metric wins (fib_find_alias order).
      if (!cur || r.metric < cur.metric) m.set(r.dst, r);
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
  readonly local: FibTable;
  readonly main: FibTable;
  constructor(routes: readonly RouteConfig[]) {
    this.local = new FibTable(routes.filter((r) => r.table === RT_TABLE_LOCAL));
    this.main = new FibTable(routes.filter((r) => r.table === RT_TABLE_MAIN));
  }

  lookup(addr: number): RouteConfig | null {
    return this.local.lookup(addr) ?? this.main.lookup(addr);
  }
}
