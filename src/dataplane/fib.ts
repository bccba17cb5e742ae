// The FIB of one namespace: one Map per prefix length, probed from the longest present
// prefix down (fib_table_lookup's longest match). Without policy rules (not modelled) the
// kernel keeps the local and main tables in one trie and fib_lookup() asks it once: the
// longest prefix of either table wins, and on one prefix the local table's entry comes
// first (fib_insert_alias orders by tb_id, highest first). Built once for a namespace,
// then kept in step with its routes by update(): a change of routes costs the routes that
// changed (fib_table_insert / fib_table_delete), not the table.
import type { RouteConfig } from "../config/types.ts";
import { RT_TABLE_LOCAL, RT_TABLE_MAIN } from "../config/types.ts";
import { maskOf } from "../wire/ipv4.ts";
import { PList } from "../config/plist.ts";

/** The namespace's whole route list, whose order breaks ties of metric. */
type AllRoutes = Pick<PList<RouteConfig>, "indexOf">;

export class FibTable {
  /** The route a lookup finds, by prefix length then destination. */
  private readonly byLen: (Map<number, RouteConfig> | undefined)[] = new Array(33);
  /** Every route of a (length, destination) that has more than one (fib_alias list). */
  private readonly more: (Map<number, RouteConfig[]> | undefined)[] = new Array(33);
  private lens: number[] = [];

  /** `all` is the namespace's whole route list, in its order (it breaks ties of metric). */
  constructor(routes: readonly RouteConfig[], all: AllRoutes = routes) {
    for (const r of routes) this.insert(r, all);
    this.relens();
  }

  private relens(): void {
    this.lens = [];
    for (let len = 32; len >= 0; len--) if (this.byLen[len]) this.lens.push(len);
  }

  // Equal prefixes: the local table's first, then the lowest metric (fib_find_alias
  // order); among equal metrics the route that comes first in the namespace's list.
  private static best(list: readonly RouteConfig[], all: AllRoutes): RouteConfig {
    let best = list[0]!;
    for (const r of list) {
      if (r === best) continue;
      if (r.table !== best.table) {
        if (r.table > best.table) best = r;
      } else if (r.metric < best.metric || (r.metric === best.metric && all.indexOf(r) < all.indexOf(best))) best = r;
    }
    return best;
  }

  /** Adds a route; true when the set of present prefix lengths changed. */
  insert(r: RouteConfig, all: AllRoutes): boolean {
    let m = this.byLen[r.plen];
    const fresh = !m;
    if (!m) m = this.byLen[r.plen] = new Map();
    const cur = m.get(r.dst);
    if (!cur) {
      m.set(r.dst, r);
      return fresh;
    }
    let more = this.more[r.plen];
    if (!more) more = this.more[r.plen] = new Map();
    const list = more.get(r.dst) ?? [cur];
    list.push(r);
    more.set(r.dst, list);
    m.set(r.dst, FibTable.best(list, all));
    return false;
  }

  /** Removes a route; true when the set of present prefix lengths changed. */
  remove(r: RouteConfig, all: AllRoutes): boolean {
    const m = this.byLen[r.plen];
    if (!m) return false;
    const more = this.more[r.plen];
    const list = more?.get(r.dst);
    if (list) {
      const i = list.indexOf(r);
      if (i < 0) return false;
      list.splice(i, 1);
      if (list.length === 1) more!.delete(r.dst);
      m.set(r.dst, list.length === 1 ? list[0]! : FibTable.best(list, all));
      return false;
    }
    if (m.get(r.dst) !== r) return false;
    m.delete(r.dst);
    if (m.size) return false;
    this.byLen[r.plen] = undefined;
    return true;
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

  /** Applies removals and insertions, then re-reads the present prefix lengths once if needed. */
  apply(gone: readonly RouteConfig[], added: readonly RouteConfig[], all: AllRoutes): void {
    let relen = false;
    for (const r of gone) relen = this.remove(r, all) || relen;
    for (const r of added) relen = this.insert(r, all) || relen;
    if (relen) this.relens();
  }

  /** Every route a lookup can find, longest prefix first (for tests and listings). */
  entries(): RouteConfig[] {
    const out: RouteConfig[] = [];
    for (const len of this.lens) for (const r of this.byLen[len]!.values()) out.push(r);
    return out;
  }
}

const inFib = (r: RouteConfig) => r.table === RT_TABLE_LOCAL || r.table === RT_TABLE_MAIN;

export class Fib {
  /** The local and main tables as the one trie fib_lookup() asks. */
  readonly merged: FibTable;
  constructor(routes: PList<RouteConfig>) {
    this.merged = new FibTable(routes.filter(inFib), routes);
  }

  /**
   * The namespace's routes went from `before` to `after`: only the routes one has and
   * the other not are removed and inserted (PList.diff: the chunks the two lists share
   * are skipped), so adding or deleting one route costs that route and the list's spine.
   */
  update(before: PList<RouteConfig>, after: PList<RouteConfig>): void {
    const [gone, added] = PList.diff(before, after);
    this.merged.apply(gone.filter(inFib), added.filter(inFib), after);
  }

  lookup(addr: number): RouteConfig | null {
    return this.merged.lookup(addr);
  }
}
