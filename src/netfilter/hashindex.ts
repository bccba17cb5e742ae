// The hash index of the connection tables (conntrack's, IPVS's): entries found by a
// 30-bit hash of their key. The kernel chains entries in hlist buckets; here the
// hashes sit in one Int32Array probed linearly (open addressing, at most two thirds
// full), so that a lookup that misses (most of a new connection's: nf_conntrack_in,
// nf_nat_used_tuple, the clash checks of __nf_conntrack_confirm, ip_vs_conn_in_get)
// reads one stretch of that array and no entry, and growing the table touches none.

/** A table of entries keyed by hashes in [0, 2^30): walk a hash's candidates with find(). */
export class HashIndex<E> {
  /** hash + 1 per slot; 0 = empty. */
  private keys = new Int32Array(16);
  private vals: (E | null)[] = new Array<E | null>(16).fill(null);
  private mask = 15;
  size = 0;

  /**
   * The next slot at or after `from` (in probe order from hash h's home slot; start
   * with from = h) that holds an entry of hash h, or -1: `for (let i = t.find(h, h);
   * i >= 0; i = t.find(h, i + 1)) ... t.at(i)`.
   */
  find(h: number, from: number): number {
    const keys = this.keys;
    const mask = this.mask;
    const k = h + 1;
    for (let i = from & mask; ; i = (i + 1) & mask) {
      const x = keys[i]!;
      if (x === k) return i;
      if (x === 0) return -1;
    }
  }

  at(i: number): E {
    return this.vals[i]!;
  }

  add(h: number, e: E): void {
    if ((this.size + 1) * 3 > this.keys.length * 2) this.grow();
    this.place(h + 1, e);
    this.size++;
  }

  /** Removes entry e of hash h; false when it is not in the table. */
  delete(h: number, e: E): boolean {
    let i = this.find(h, h);
    while (i >= 0 && this.vals[i] !== e) i = this.find(h, i + 1);
    if (i < 0) return false;
    this.size--;
    // Backward-shift deletion: later entries of the probe run move up into the hole
    // unless their home slot lies after it, so no lookup meets a false empty slot.
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    for (let j = (i + 1) & mask; keys[j] !== 0; j = (j + 1) & mask) {
      const home = (keys[j]! - 1) & mask;
      // Can the entry at j move to the hole at i? Only if its home is not in (i, j] cyclically.
      if (i <= j ? home > i && home <= j : home > i || home <= j) continue;
      keys[i] = keys[j]!;
      vals[i] = vals[j]!;
      i = j;
    }
    keys[i] = 0;
    vals[i] = null;
    return true;
  }

  private place(k: number, e: E): void {
    const keys = this.keys;
    const mask = this.mask;
    let i = (k - 1) & mask;
    while (keys[i] !== 0) i = (i + 1) & mask;
    keys[i] = k;
    this.vals[i] = e;
  }

  // Twice the slots (the table stays at most two thirds full): the entries are moved by their stored hashes.
  private grow(): void {
    const keys = this.keys;
    const vals = this.vals;
    const n = keys.length * 2;
    this.keys = new Int32Array(n);
    this.vals = new Array<E | null>(n).fill(null);
    this.mask = n - 1;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== 0) this.place(keys[i]!, vals[i]!);
  }

  *values(): IterableIterator<E> {
    const vals = this.vals;
    for (let i = 0; i < vals.length; i++) if (vals[i] !== null) yield vals[i]!;
  }

  clear(): void {
    this.keys = new Int32Array(16);
    this.vals = new Array<E | null>(16).fill(null);
    this.mask = 15;
    this.size = 0;
  }
}
