// Set and map lookups (nft_set_hash.c, nft_set_rbtree.c): exact keys in an open-addressing
// hash table of typed arrays (one 32-bit word per concatenated field, as nft_rhash keys
// are register words), sized to the element count and doubled as it fills, so a lookup
// touches a few words whatever the size and builds nothing per packet; intervals in a
// sorted array searched by bisection.
import type { NftElem, NftValue } from "./types.ts";
import { span } from "./apply.ts";

/** Elements to load: a named set's list or an anonymous set's array. */
type Elems = Iterable<NftElem> & { readonly length: number };

export interface SetHit<D> {
  data: D;
  expires: number;
}

/** n nulls in a packed array (new Array(n) of a large n has dictionary elements: slow reads). */
function nulls<T>(n: number): (T | null)[] {
  const a: (T | null)[] = [];
  for (let i = 0; i < n; i++) a.push(null);
  return a;
}

const EMPTY = 0;
const FULL = 1;
const DELETED = 2;

export class SetIndex<D> {
  /**
   * Slots of depth + 1 words: the state (EMPTY, FULL, DELETED: a tombstone keeps probe
   * chains whole), then the key's words; one cache line holds a probe's state and key.
   */
  private keys: Uint32Array;
  private readonly stride: number;
  private slotHits: (SetHit<D> | null)[];
  private mask: number;
  private used = 0;
  private tombs = 0;
  /** Interface names (the only string values) as small numbers, per set. */
  private readonly names = new Map<string, number>();
  private lo: number[] = [];
  private hi: number[] = [];
  private hits: SetHit<D>[] = [];
  size = 0;

  constructor(
    readonly depth: number,
    elems: Elems,
    data: (e: NftElem) => D,
  ) {
    this.stride = depth + 1;
    this.keys = new Uint32Array(0);
    this.slotHits = [];
    this.mask = 0;
    this.reset(elems, data);
  }

  /**
   * The set's elements replaced (a new version of the set committed): the same index
   * object, so that compiled rules holding it see the new elements.
   */
  reset(elems: Elems, data: (e: NftElem) => D): void {
    const depth = this.depth;
    this.used = 0;
    this.tombs = 0;
    this.names.clear();
    const ranges: [number, number, SetHit<D>][] = [];
    let exact = 0;
    for (const e of elems) if (!(depth === 1 && e.key.parts[0]!.k !== "val")) exact++;
    const cap = SetIndex.capFor(exact);
    this.mask = cap - 1;
    this.keys = new Uint32Array(cap * this.stride);
    this.slotHits = nulls<SetHit<D>>(cap);
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

  /** A power of two at least twice n (load factor at most 1/2), at least 8. */
  private static capFor(n: number): number {
    let c = 8;
    while (c < n * 2) c *= 2;
    return c;
  }

  /** A value as the 32-bit word stored; an unknown interface name gives -1 (no element has it). */
  private word(v: NftValue, intern: boolean): number {
    if (typeof v === "number") return v >>> 0;
    let id = this.names.get(v);
    if (id === undefined) {
      if (!intern) return -1;
      id = this.names.size;
      this.names.set(v, id);
    }
    return id;
  }

  /** jhash-like mixing of the key's words. */
  private hash(buf: readonly NftValue[], intern: boolean): number {
    let h = 0x9e3779b9;
    for (let i = 0; i < this.depth; i++) {
      const w = this.word(buf[i]!, intern);
      if (w === -1) return -1;
      h = Math.imul(h ^ w, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
    return h >>> 0;
  }

  private same(slot: number, buf: readonly NftValue[]): boolean {
    const d = this.depth;
    const base = slot * this.stride + 1;
    for (let i = 0; i < d; i++) {
      const v = buf[i]!;
      const w = typeof v === "number" ? v >>> 0 : this.names.get(v);
      if (this.keys[base + i] !== w) return false;
    }
    return true;
  }

  /** The slot holding key, or -1 (linear probing up to an empty slot). */
  private slotOf(buf: readonly NftValue[], h: number): number {
    const m = this.mask;
    for (let i = h & m; ; i = (i + 1) & m) {
      const s = this.keys[i * this.stride]!;
      if (s === EMPTY) return -1;
      if (s === FULL && this.same(i, buf)) return i;
    }
  }

  private grow(cap: number): void {
    const old = this.keys;
    const oldHits = this.slotHits;
    const d = this.depth;
    const st = this.stride;
    this.mask = cap - 1;
    this.keys = new Uint32Array(cap * st);
    this.slotHits = nulls<SetHit<D>>(cap);
    this.tombs = 0;
    for (let i = 0; i < oldHits.length; i++) {
      if (old[i * st] !== FULL) continue;
      let h = 0x9e3779b9;
      for (let k = 0; k < d; k++) {
        h = Math.imul(h ^ old[i * st + 1 + k]!, 0x85ebca6b);
        h ^= h >>> 13;
        h = Math.imul(h, 0xc2b2ae35);
        h ^= h >>> 16;
      }
      let j = (h >>> 0) & this.mask;
      while (this.keys[j * st] !== EMPTY) j = (j + 1) & this.mask;
      for (let k = 0; k <= d; k++) this.keys[j * st + k] = old[i * st + k]!;
      this.slotHits[j] = oldHits[i]!;
    }
  }

  insert(key: readonly NftValue[], hit: SetHit<D>): void {
    const h = this.hash(key, true);
    const found = this.slotOf(key, h);
    if (found >= 0) {
      this.slotHits[found] = hit;
      return;
    }
    if ((this.used + this.tombs + 1) * 2 > this.mask + 1) this.grow(SetIndex.capFor(this.used + 1));
    const m = this.mask;
    const st = this.stride;
    let i = h & m;
    while (this.keys[i * st] === FULL) i = (i + 1) & m;
    if (this.keys[i * st] === DELETED) this.tombs--;
    this.keys[i * st] = FULL;
    for (let k = 0; k < this.depth; k++) this.keys[i * st + 1 + k] = this.word(key[k]!, true);
    this.slotHits[i] = hit;
    this.used++;
  }

  remove(key: readonly NftValue[]): void {
    const h = this.hash(key, false);
    if (h === -1) return;
    const i = this.slotOf(key, h);
    if (i < 0) return;
    this.keys[i * this.stride] = DELETED;
    this.slotHits[i] = null;
    this.used--;
    this.tombs++;
  }

  /** Every element as "key words -> data" lines, sorted (tests compare two indexes by it). */
  describe(show: (d: D) => string, strings: readonly boolean[]): string[] {
    const out: string[] = [];
    const st = this.stride;
    const names = [...this.names].sort((a, b) => a[1] - b[1]).map((x) => x[0]);
    for (let i = 0; i < this.slotHits.length; i++) {
      if (this.keys[i * st] !== FULL) continue;
      const key: string[] = [];
      for (let k = 0; k < this.depth; k++) {
        const w = this.keys[i * st + 1 + k]!;
        key.push(strings[k] ? `"${names[w]}"` : `${w}`);
      }
      const h = this.slotHits[i]!;
      out.push(`${key.join(".")} -> ${show(h.data)} ${h.expires}`);
    }
    for (let i = 0; i < this.lo.length; i++) out.push(`${this.lo[i]}-${this.hi[i]} -> ${show(this.hits[i]!.data)} ${this.hits[i]!.expires}`);
    return out.sort();
  }

  /** The element holding key (read from buf[0..depth)), or null. */
  lookup(buf: readonly NftValue[], now: number): SetHit<D> | null {
    if (this.used !== 0) {
      const h = this.hash(buf, false);
      if (h !== -1) {
        const i = this.slotOf(buf, h);
        if (i >= 0) {
          const hit = this.slotHits[i]!;
          if (hit.expires > now) return hit;
        }
      }
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
