// A persistent list for the snapshot's long lists (a link's addresses, a namespace's
// routes): the items sit in frozen chunks of at most MAX under a frozen spine, so that
// one change copies one chunk and the spine, never the list, and the list it was made
// from stays as it was (a failed command leaves the snapshot's list untouched). immer
// does not draft it (a class instance): a change stores the new list in the draft.
// Two lists derived from one another share their unchanged chunks, so what changed
// between them is found by chunk identity (PList.diff), not by walking the items.

let MAX = 256;

/** Sets the largest chunk (tests use tiny chunks to reach the multi-chunk paths); returns the old size. */
export function setListChunkSize(n: number): number {
  const old = MAX;
  MAX = Math.max(2, n);
  return old;
}

type Chunk<T> = readonly T[];

function frozen<T>(items: T[]): Chunk<T> {
  return Object.freeze(items);
}

/** Items go in frozen (shallowly: snapshot items are flat records). */
function item<T>(x: T): T {
  return typeof x === "object" && x !== null ? Object.freeze(x) : x;
}

/** A persistent list (see the top of this file). Reading is as an array's; a change returns a new list. */
export interface PList<T> extends Iterable<T> {
  readonly length: number;
  at(i: number): T | undefined;
  forEach(fn: (x: T, i: number) => void): void;
  findIndex(pred: (x: T) => boolean): number;
  find(pred: (x: T) => boolean): T | undefined;
  some(pred: (x: T) => boolean): boolean;
  indexOf(x: T): number;
  lastIndexOf(x: T): number;
  toArray(): T[];
  filter(pred: (x: T) => boolean): T[];
  map<U>(fn: (x: T) => U): U[];
  slice(start: number, end?: number): T[];
  insert(i: number, x: T): PList<T>;
  push(x: T): PList<T>;
  set(i: number, x: T): PList<T>;
  removeAt(i: number): PList<T>;
  remove(x: T): PList<T>;
  retain(keep: (x: T) => boolean): PList<T>;
}

class Chunked<T> implements PList<T> {
  constructor(
    readonly chunks: readonly Chunk<T>[],
    readonly length: number,
  ) {
    Object.freeze(this);
  }

  /** The chunk holding index i (0 <= i <= length: length is the end of the last chunk) and i's offset in it. */
  private locate(i: number): [number, number] {
    const cs = this.chunks;
    if (i >= this.length - (cs[cs.length - 1]?.length ?? 0)) return [cs.length - 1, i - (this.length - cs[cs.length - 1]!.length)];
    let c = 0;
    while (i >= cs[c]!.length) i -= cs[c++]!.length;
    return [c, i];
  }

  at(i: number): T | undefined {
    if (i < 0) i += this.length;
    if (i < 0 || i >= this.length) return undefined;
    if (i < this.chunks[0]!.length) return this.chunks[0]![i];
    const [c, o] = this.locate(i);
    return this.chunks[c]![o];
  }

  *[Symbol.iterator](): Iterator<T> {
    for (const c of this.chunks) for (let i = 0; i < c.length; i++) yield c[i]!;
  }

  forEach(fn: (x: T, i: number) => void): void {
    let k = 0;
    for (const c of this.chunks) for (let i = 0; i < c.length; i++) fn(c[i]!, k++);
  }

  findIndex(pred: (x: T) => boolean): number {
    let k = 0;
    for (const c of this.chunks) {
      for (let i = 0; i < c.length; i++, k++) if (pred(c[i]!)) return k;
    }
    return -1;
  }

  find(pred: (x: T) => boolean): T | undefined {
    const i = this.findIndex(pred);
    return i < 0 ? undefined : this.at(i);
  }

  some(pred: (x: T) => boolean): boolean {
    return this.findIndex(pred) >= 0;
  }

  /** The index of x (by identity) searching from the end, where the newest items are; -1 when absent. */
  lastIndexOf(x: T): number {
    let end = this.length;
    for (let c = this.chunks.length - 1; c >= 0; c--) {
      const chunk = this.chunks[c]!;
      end -= chunk.length;
      const i = chunk.lastIndexOf(x);
      if (i >= 0) return end + i;
    }
    return -1;
  }

  indexOf(x: T): number {
    let start = 0;
    for (const chunk of this.chunks) {
      const i = chunk.indexOf(x);
      if (i >= 0) return start + i;
      start += chunk.length;
    }
    return -1;
  }

  toArray(): T[] {
    return ([] as T[]).concat(...this.chunks);
  }

  filter(pred: (x: T) => boolean): T[] {
    const out: T[] = [];
    this.forEach((x) => pred(x) && out.push(x));
    return out;
  }

  map<U>(fn: (x: T) => U): U[] {
    const out: U[] = new Array(this.length);
    this.forEach((x, i) => (out[i] = fn(x)));
    return out;
  }

  slice(start: number, end: number = this.length): T[] {
    const out: T[] = [];
    for (let i = Math.max(0, start); i < Math.min(end, this.length); i++) out.push(this.at(i)!);
    return out;
  }

  /** A list with chunk c replaced by `parts` (zero, one or more chunks). */
  private withChunks(c: number, drop: number, parts: Chunk<T>[], length: number): PList<T> {
    if (length === 0) return NONE;
    let spine: Chunk<T>[];
    if (drop === 1 && parts.length === 1) {
      spine = this.chunks.slice();
      spine[c] = parts[0]!;
    } else if (drop === 0 && c === this.chunks.length) spine = this.chunks.concat(parts);
    else {
      spine = this.chunks.slice();
      spine.splice(c, drop, ...parts);
    }
    return new Chunked(Object.freeze(spine), length);
  }

  /** The list with x inserted before index i (i = length: appended). */
  insert(i: number, x: T): PList<T> {
    if (i < 0 || i > this.length) throw new RangeError(`PList.insert: ${i} out of 0..${this.length}`);
    x = item(x);
    if (!this.length) return new Chunked(Object.freeze([frozen([x])]), 1);
    const [c, o] = this.locate(i);
    const chunk = this.chunks[c]!;
    // Appending to a full last chunk starts a new one (a list grown at its end stays full).
    if (o === chunk.length && c === this.chunks.length - 1 && chunk.length >= MAX) return this.withChunks(c + 1, 0, [frozen([x])], this.length + 1);
    // (One copy: slice then splice or push would copy the chunk twice.)
    const items = o === chunk.length ? chunk.concat([x]) : chunk.slice(0, o).concat([x], chunk.slice(o));
    if (items.length <= MAX) return this.withChunks(c, 1, [frozen(items)], this.length + 1);
    const half = items.length >> 1;
    return this.withChunks(c, 1, [frozen(items.slice(0, half)), frozen(items.slice(half))], this.length + 1);
  }

  push(x: T): PList<T> {
    return this.insert(this.length, x);
  }

  /** The list with index i's item replaced by x. */
  set(i: number, x: T): PList<T> {
    if (i < 0 || i >= this.length) throw new RangeError(`PList.set: ${i} out of 0..${this.length - 1}`);
    const [c, o] = this.locate(i);
    const items = this.chunks[c]!.slice();
    items[o] = item(x);
    return this.withChunks(c, 1, [frozen(items)], this.length);
  }

  /** The list without index i's item; a chunk left small is merged with a neighbour. */
  removeAt(i: number): PList<T> {
    if (i < 0 || i >= this.length) throw new RangeError(`PList.removeAt: ${i} out of 0..${this.length - 1}`);
    const [c, o] = this.locate(i);
    const items = this.chunks[c]!.slice();
    items.splice(o, 1);
    if (!items.length) return this.withChunks(c, 1, [], this.length - 1);
    if (items.length < MAX >> 2) {
      const prev = this.chunks[c - 1];
      const next = this.chunks[c + 1];
      if (next && items.length + next.length <= MAX && (!prev || next.length <= prev.length)) return this.withChunks(c, 2, [frozen(items.concat(next))], this.length - 1);
      if (prev && items.length + prev.length <= MAX) return this.withChunks(c - 1, 2, [frozen(prev.concat(items))], this.length - 1);
    }
    return this.withChunks(c, 1, [frozen(items)], this.length - 1);
  }

  /** The list without x (by identity, the last occurrence); this list when x is absent. */
  remove(x: T): PList<T> {
    const i = this.lastIndexOf(x);
    return i < 0 ? this : this.removeAt(i);
  }

  /** The items that pass `keep`, as a list sharing the chunks that lose nothing; this list when all pass. */
  retain(keep: (x: T) => boolean): PList<T> {
    let changed = false;
    let length = 0;
    const spine: Chunk<T>[] = [];
    for (const chunk of this.chunks) {
      const kept = chunk.filter(keep);
      length += kept.length;
      if (kept.length === chunk.length) spine.push(chunk);
      else {
        changed = true;
        if (kept.length) spine.push(frozen(kept));
      }
    }
    if (!changed) return this;
    return length ? new Chunked(Object.freeze(spine), length) : NONE;
  }
}

const NONE = new Chunked<never>(Object.freeze([]), 0);

export const PList = {
  empty<T>(): PList<T> {
    return NONE;
  },

  from<T>(items: Iterable<T>): PList<T> {
    const all = Array.from(items, item);
    if (!all.length) return NONE;
    const chunks: Chunk<T>[] = [];
    for (let i = 0; i < all.length; i += MAX) chunks.push(frozen(all.slice(i, i + MAX)));
    return new Chunked(Object.freeze(chunks), all.length);
  },

  /**
   * What went from `before` to `after`, when one was derived from the other (by identity:
   * the chunks they share are skipped, then the items past the common head and tail of
   * the rest): [items only in before, items only in after]. Costs the spine plus the
   * chunks that changed.
   */
  diff<T>(before: PList<T>, after: PList<T>): [T[], T[]] {
    if (before === after) return [[], []];
    const a = (before as Chunked<T>).chunks;
    const b = (after as Chunked<T>).chunks;
    const n = Math.min(a.length, b.length);
    let head = 0;
    while (head < n && a[head] === b[head]) head++;
    let tail = 0;
    while (tail < n - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
    return diffItems(([] as T[]).concat(...a.slice(head, a.length - tail)), ([] as T[]).concat(...b.slice(head, b.length - tail)));
  },
};

/** Items in `before` and not in `after`, and the reverse, by identity past the common head and tail. */
function diffItems<T>(before: readonly T[], after: readonly T[]): [T[], T[]] {
  let head = 0;
  const n = Math.min(before.length, after.length);
  while (head < n && before[head] === after[head]) head++;
  let tail = 0;
  while (tail < n - head && before[before.length - 1 - tail] === after[after.length - 1 - tail]) tail++;
  return [before.slice(head, before.length - tail), after.slice(head, after.length - tail)];
}
