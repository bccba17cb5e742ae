// Set and map lookups (nft_set_hash.c, nft_set_rbtree.c): exact keys in hash maps (nested,
// one level per concatenated field, so no key is built per packet), intervals in a sorted
// array searched by bisection.
import type { NftElem, NftValue } from "./types.ts";
import { span } from "./apply.ts";

export interface SetHit<D> {
  data: D;
  expires: number;
}

interface Slot<D> {
  key: NftValue[];
  hit: SetHit<D>;
  next: Slot<D> | null;
}

function strHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** A 32-bit hash of the first n values of buf (jhash-like mixing of numbers). */
function hashKey(buf: readonly NftValue[], n: number): number {
  let h = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    const v = buf[i]!;
    h = Math.imul(h ^ (typeof v === "number" ? v : strHash(v)), 0x85ebca6b);
    h ^= h >>> 13;
  }
  // A small integer (Smi), so that the Map neither boxes nor allocates the key.
  return h & 0x3fffffff;
}

export class SetIndex<D> {
  /** Exact keys by hash, collisions chained (nft_rhash). */
  private readonly exact = new Map<number, Slot<D>>();
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

  private find(buf: readonly NftValue[], h: number): Slot<D> | null {
    let s = this.exact.get(h) ?? null;
    const n = this.depth;
    while (s) {
      let eq = true;
      for (let i = 0; i < n; i++) {
        if (s.key[i] !== buf[i]) {
          eq = false;
          break;
        }
      }
      if (eq) return s;
      s = s.next;
    }
    return null;
  }

  insert(key: readonly NftValue[], hit: SetHit<D>): void {
    const h = hashKey(key, this.depth);
    const found = this.find(key, h);
    if (found) {
      found.hit = hit;
      return;
    }
    this.exact.set(h, { key: key.slice(0, this.depth), hit, next: this.exact.get(h) ?? null });
  }

  remove(key: readonly NftValue[]): void {
    const h = hashKey(key, this.depth);
    let s = this.exact.get(h) ?? null;
    let prev: Slot<D> | null = null;
    while (s && this.find(key, h) !== s) {
      prev = s;
      s = s.next;
    }
    if (!s) return;
    if (prev) prev.next = s.next;
    else if (s.next) this.exact.set(h, s.next);
    else this.exact.delete(h);
  }

  /** The element holding key (read from buf[0..depth)), or null. */
  lookup(buf: readonly NftValue[], now: number): SetHit<D> | null {
    if (this.exact.size !== 0) {
      const s = this.find(buf, hashKey(buf, this.depth));
      if (s && s.hit.expires > now) return s.hit;
    }
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
