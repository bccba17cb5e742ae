// Set and map lookups (nft_set_hash.c, nft_set_rbtree.c): exact keys in hash maps (nested,
// one level per concatenated field, so no key is built per packet), intervals in a sorted
// array searched by bisection.
import type { NftElem, NftValue } from "./types.ts";
import { span } from "./apply.ts";

export interface SetHit<D> {
  data: D;
  expires: number;
}

type Nested<D> = Map<NftValue, Nested<D> | SetHit<D>>;

export class SetIndex<D> {
  private readonly exact: Nested<D> = new Map();
  private lo: number[] = [];
  private hi: number[] = [];
  private hits: SetHit<D>[] = [];
  readonly size: number;

  constructor(
    readonly depth: number,
    elems: readonly NftElem[],
    data: (e: NftElem) => D,
  ) {
    const ranges: [number, number, SetHit<D>][] = [];
    for (const e of elems) {
      const hit: SetHit<D> = { data: data(e), expires: e.expires ?? Infinity };
      if (depth === 1 && e.key.parts[0]!.k !== "val") {
        const [a, b] = span(e);
        ranges.push([a, b, hit]);
      } else this.insert(e.key.parts.map((p) => (p.k === "val" ? p.v : 0)), hit);
    }
    ranges.sort((a, b) => a[0] - b[0]);
    this.lo = ranges.map((r) => r[0]);
    this.hi = ranges.map((r) => r[1]);
    this.hits = ranges.map((r) => r[2]);
    this.size = elems.length;
  }

  insert(key: readonly NftValue[], hit: SetHit<D>): void {
    let m = this.exact;
    for (let i = 0; i < key.length - 1; i++) {
      let n = m.get(key[i]!) as Nested<D> | undefined;
      if (!n) m.set(key[i]!, (n = new Map()));
      m = n;
    }
    m.set(key[key.length - 1]!, hit);
  }

  remove(key: readonly NftValue[]): void {
    let m: Nested<D> | undefined = this.exact;
    for (let i = 0; i < key.length - 1 && m; i++) m = m.get(key[i]!) as Nested<D> | undefined;
    m?.delete(key[key.length - 1]!);
  }

  /** The element holding key (read from buf[0..depth)), or null. */
  lookup(buf: readonly NftValue[], now: number): SetHit<D> | null {
    let m: Nested<D> | SetHit<D> | undefined = this.exact;
    for (let i = 0; i < this.depth && m; i++) m = (m as Nested<D>).get(buf[i]!);
    if (m && (m as SetHit<D>).expires > now) return m as SetHit<D>;
    if (this.lo.length === 0) return null;
    const v = buf[0] as number;
    // nft_rbtree_lookup(): the last interval starting at or below v.
    let a = 0;
    let b = this.lo.length - 1;
    let found = -1;
    while (a <= b) {
      const mid = (a + b) >> 1;
      if (this.lo[mid]! <= v) {
        found = mid;
        a = mid + 1;
      } else b = mid - 1;
    }
    if (found >= 0 && v <= this.hi[found]! && this.hits[found]!.expires > now) return this.hits[found]!;
    return null;
  }
}
