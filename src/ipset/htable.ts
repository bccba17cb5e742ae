// The kernel's generic hash of ip_set_hash_gen.h: 2^bits buckets picked by jhash of the
// element struct, each an array that grows by 2 up to bucketsize, doubled (resized) when
// a bucket would overflow. Bucket order is listing order, so with the same initval the
// emulator lists members in the kernel's order and reports its "Size in memory".
import { Elem, type AddExt, type SetExt, commentSize, expired, timeoutSet } from "./elem.ts";
import { EAGAIN, ENOTEMPTY, IPSET_ERR_EXIST, IPSET_ERR_HASH_FULL, IPSET_FLAG_EXIST, IPSET_FLAG_NOMATCH } from "./consts.ts";
import { NetPrefixes } from "./nets.ts";
import type { SetData } from "./settype.ts";
import { resizeTable } from "./hresize.ts";
import { gcCatchUp, gcDo } from "./hgc.ts";

export const AHASH_INIT_SIZE = 2;
export const AHASH_MAX_SIZE = 12;
const AHASH_MAX_TUNED = 64;
export const HTABLE_REGION_BITS = 10;
/** sizeof(struct hbucket) up to value[]: rcu_head, used bitmap, size, pos, aligned. */
const HBUCKET_SIZE = 32;
/** sizeof(struct ip_set_region) */
const REGION_SIZE = 24;

/** The element struct of one hash type: how it hashes, compares and is masked. */
export interface HashLayout {
  /** HKEY() before masking: jhash2 over the struct's words (nomatch reset). */
  hkey(e: Elem, initval: number): number;
  /** IP_SET_HASH_WITH_NETS: the type stores prefixes and tests packets per prefix. */
  readonly withNets: boolean;
  /** IP_SET_HASH_WITH_NET0: a /0 prefix is valid. */
  readonly net0: boolean;
  /** IP_SET_HASH_WITH_MULTI (hash:net,iface): same net, several interfaces. */
  readonly multi: boolean;
  /** mtype_data_netmask(): mask the net dimension of a probe to cidr. */
  netmask(e: Elem, cidr: number): void;
}

const EMPTY: (Elem | null)[] = [];

export class HBucket {
  pos = 0;
  /** The used bitmap: slots 0-31 and 32-63 (AHASH_MAX_TUNED is 64). */
  private usedLo = 0;
  private usedHi = 0;
  // Slots 0 and 1 (every bucket has them) live in the bucket itself: a lookup touches one
  // object less. Slots from 2 on are in `more`.
  private e0: Elem | null = null;
  private e1: Elem | null = null;
  private readonly more: (Elem | null)[];
  constructor(
    public size: number,
    public gen: number,
  ) {
    this.more = size > 2 ? new Array<Elem | null>(size - 2).fill(null) : EMPTY;
  }

  get(i: number): Elem | null {
    return i === 0 ? this.e0 : i === 1 ? this.e1 : (this.more[i - 2] ?? null);
  }

  set(i: number, e: Elem | null): void {
    if (i === 0) this.e0 = e;
    else if (i === 1) this.e1 = e;
    else this.more[i - 2] = e;
  }

  isUsed(i: number): boolean {
    return ((i < 32 ? this.usedLo >>> i : this.usedHi >>> (i - 32)) & 1) !== 0;
  }

  setUsed(i: number, on: boolean): void {
    if (i < 32) this.usedLo = on ? this.usedLo | (1 << i) : this.usedLo & ~(1 << i);
    else this.usedHi = on ? this.usedHi | (1 << (i - 32)) : this.usedHi & ~(1 << (i - 32));
  }

  /** The same slots in a bucket of another size (growing keeps them, shrinking is shrunk()). */
  copyUsed(from: HBucket): void {
    this.usedLo = from.usedLo;
    this.usedHi = from.usedHi;
  }
}

/** ahash_numof_locks(): regions of 2^10 buckets. */
export function numofLocks(bits: number): number {
  return bits < HTABLE_REGION_BITS ? 1 : 1 << (bits - HTABLE_REGION_BITS);
}

let nextGen = 1;

/** struct htype + struct htable of one set. fork() gives a copy-on-write draft. */
export class HTable implements SetData {
  bits: number;
  buckets: (HBucket | null)[];
  regionElements: number[];
  regionExtSize: number[];
  /** set->ext_size: comment strings. */
  setExtSize = 0;
  nets: NetPrefixes;
  mask: number;
  gen = nextGen++;
  gcNext = 0;
  gcRegion = 0;
  /** The element the last successful test matched (for the trace). */
  lastHit: Elem | null = null;

  constructor(
    readonly layout: HashLayout,
    readonly ext: SetExt,
    readonly dsize: number,
    readonly memBase: number,
    readonly maxelem: number,
    readonly initval: number,
    public bucketsize: number,
    hashsize: number,
    now: number,
  ) {
    // hbits = fls(hashsize - 1): the next power of two
    this.bits = hashsize <= 1 ? 0 : 32 - Math.clz32(hashsize - 1);
    this.mask = 2 ** this.bits - 1;
    this.buckets = new Array<HBucket | null>(2 ** this.bits).fill(null);
    this.regionElements = new Array<number>(numofLocks(this.bits)).fill(0);
    this.regionExtSize = new Array<number>(numofLocks(this.bits)).fill(0);
    this.nets = new NetPrefixes(layout.net0);
    // mtype_gc_init(): the first run one second after create
    this.gcNext = now + 1000;
  }

  fork(): HTable {
    const t: HTable = Object.create(Object.getPrototypeOf(this) as object) as HTable;
    Object.assign(t, this);
    t.buckets = this.buckets.slice();
    t.regionElements = this.regionElements.slice();
    t.regionExtSize = this.regionExtSize.slice();
    t.nets = this.nets.clone();
    t.gen = nextGen++;
    return t;
  }

  get hashsize(): number {
    return 2 ** this.bits;
  }

  /** ext_size(n, dsize): what a bucket of n slots counts in the memory size. */
  extSize(n: number): number {
    return HBUCKET_SIZE + n * this.dsize;
  }

  private key(e: Elem): number {
    return this.layout.hkey(e, this.initval) & this.mask;
  }

  /** The bucket at i, owned by this table (cloned on first write: copy-on-write). */
  own(i: number): HBucket {
    const b = this.buckets[i]!;
    if (b.gen === this.gen) return b;
    const c = new HBucket(b.size, this.gen);
    c.pos = b.pos;
    c.copyUsed(b);
    for (let j = 0; j < b.size; j++) {
      const v = b.get(j);
      c.set(j, v ? v.clone() : null);
    }
    this.buckets[i] = c;
    return c;
  }

  destroyExt(e: Elem): void {
    if (e.comment !== null) {
      this.setExtSize -= commentSize(e.comment);
      e.comment = null;
    }
  }

  private equal(a: Elem, b: Elem): boolean {
    return (
      a.ip === b.ip && a.cidr === b.cidr && a.ip2 === b.ip2 && a.port === b.port && a.proto === b.proto &&
      a.physdev === b.physdev && (a.wildcard ? b.iface.startsWith(a.iface) : a.iface === b.iface)
    );
  }

  /** mtype_add() */
  add(d: Elem, ext: AddExt, flags: number, now: number): number {
    const key = this.key(d);
    const locks = this.regionElements.length;
    const r = key % locks;
    let elements = this.regionElements[r]!;
    let maxelem = Math.floor(this.maxelem / locks);
    let forceadd = false;
    if (elements >= maxelem) {
      if (this.ext.timeout !== null) gcDo(this, r, now);
      maxelem = this.maxelem;
      elements = this.elements();
      forceadd = elements >= maxelem && this.ext.forceadd;
    }
    let n = this.buckets[key];
    let j = -1;
    let multi = 0;
    if (!n) {
      if (forceadd || elements >= maxelem) return -IPSET_ERR_HASH_FULL;
      n = this.newBucket(key, r);
    } else {
      n = this.own(key);
      let deleted = false;
      let reuse = false;
      for (let i = 0; i < n.pos; i++) {
        if (!n.isUsed(i)) {
          if (j === -1) {
            deleted = reuse = true;
            j = i;
          }
          continue;
        }
        const data = n.get(i)!;
        if (this.layout.multi && data.ip === d.ip && data.cidr === d.cidr) multi++;
        if (this.equal(data, d)) {
          if (flags & IPSET_FLAG_EXIST || expired(data.timeout, now)) {
            this.overwrite(data, ext, flags, now);
            return 0;
          }
          return -IPSET_ERR_EXIST;
        }
        if (expired(data.timeout, now) && j === -1) {
          j = i;
          reuse = true;
        }
      }
      if (reuse || forceadd) {
        this.reuseSlot(n, j === -1 ? 0 : j, deleted, d, ext, flags, now, r);
        return 0;
      }
      if (elements >= maxelem) return -IPSET_ERR_HASH_FULL;
      if (n.pos >= n.size) {
        const grown = this.grow(n, key, r, multi);
        if (typeof grown === "number") return grown;
        n = grown;
      }
    }
    j = n.pos++;
    this.copyData(n, j, d, ext, flags, now, r);
    return 0;
  }

  /** The elements of every region. */
  private elements(): number {
    let elements = 0;
    for (const n of this.regionElements) elements = (elements + n) >>> 0;
    return elements;
  }

  private newBucket(key: number, r: number): HBucket {
    const n = new HBucket(AHASH_INIT_SIZE, this.gen);
    this.buckets[key] = n;
    this.regionExtSize[r]! += this.extSize(AHASH_INIT_SIZE);
    return n;
  }

  /** mtype_add(): the new element over a deleted or expired one (or, forceadd, the first). */
  private reuseSlot(n: HBucket, j: number, deleted: boolean, d: Elem, ext: AddExt, flags: number, now: number, r: number): void {
    const data = n.get(j)!;
    if (!deleted) {
      if (this.layout.withNets) this.nets.del(data.cidr);
      this.destroyExt(data);
      this.regionElements[r] = (this.regionElements[r]! - 1) >>> 0;
    }
    this.copyData(n, j, d, ext, flags, now, r);
  }

  /** mtype_add(): a full bucket grows by AHASH_INIT_SIZE up to bucketsize (tuned up for multi); else a negative errno. */
  private grow(n: HBucket, key: number, r: number, multi: number): HBucket | number {
    if (this.layout.multi) {
      if (this.bucketsize >= AHASH_MAX_TUNED) return -IPSET_ERR_HASH_FULL;
      else if (this.bucketsize <= multi) this.bucketsize += AHASH_INIT_SIZE;
    }
    if (n.size >= this.bucketsize) return -EAGAIN;
    const grown = new HBucket(n.size + AHASH_INIT_SIZE, this.gen);
    grown.pos = n.pos;
    grown.copyUsed(n);
    for (let i = 0; i < n.size; i++) grown.set(i, n.get(i));
    this.buckets[key] = grown;
    this.regionExtSize[r]! += this.extSize(AHASH_INIT_SIZE);
    return grown;
  }

  private copyData(n: HBucket, j: number, d: Elem, ext: AddExt, flags: number, now: number, r: number): void {
    this.regionElements[r] = (this.regionElements[r]! + 1) >>> 0;
    if (this.layout.withNets) this.nets.add(d.cidr);
    // The slot keeps what a deleted element left there: counters survive unless given.
    let data = n.get(j);
    if (!data) {
      data = new Elem();
      n.set(j, data);
    }
    data.copyKey(d);
    this.overwrite(data, ext, flags, now);
    n.setUsed(j, true);
  }

  /** overwrite_extensions: nomatch flag, counters, comment, timeout. */
  private overwrite(data: Elem, ext: AddExt, flags: number, now: number): void {
    if (this.layout.withNets) data.nomatch = ((flags >>> 16) & IPSET_FLAG_NOMATCH) !== 0;
    if (this.ext.counters) {
      if (ext.bytes !== null) data.bytes = ext.bytes;
      if (ext.packets !== null) data.packets = ext.packets;
    }
    if (this.ext.comment) {
      this.destroyExt(data);
      if (ext.comment) {
        data.comment = ext.comment;
        this.setExtSize += commentSize(ext.comment);
      }
    }
    if (this.ext.timeout !== null) data.timeout = timeoutSet(now, ext.timeout);
  }

  /** mtype_del() */
  del(d: Elem, now: number): number {
    const key = this.key(d);
    const r = key % this.regionElements.length;
    if (!this.buckets[key]) return -IPSET_ERR_EXIST;
    const n = this.own(key);
    let k = 0;
    for (let i = 0; i < n.pos; i++) {
      if (!n.isUsed(i)) {
        k++;
        continue;
      }
      const data = n.get(i)!;
      if (!this.equal(data, d)) continue;
      if (expired(data.timeout, now)) return -IPSET_ERR_EXIST;
      n.setUsed(i, false);
      if (i + 1 === n.pos) n.pos--;
      this.regionElements[r] = (this.regionElements[r]! - 1) >>> 0;
      if (this.layout.withNets) this.nets.del(d.cidr);
      this.destroyExt(data);
      for (; i < n.pos; i++) if (!n.isUsed(i)) k++;
      // "if (k == n->pos)": a bucket of nothing but holes goes (stable fix; was pos == 0 && k == 0)
      if (k === n.pos) {
        this.regionExtSize[r]! -= this.extSize(n.size);
        this.buckets[key] = null;
      } else if (k >= AHASH_INIT_SIZE) {
        this.buckets[key] = this.shrunk(n);
        this.regionExtSize[r]! -= this.extSize(AHASH_INIT_SIZE);
      }
      return 0;
    }
    return -IPSET_ERR_EXIST;
  }

  /** A copy of n two slots smaller holding only its used entries. */
  shrunk(n: HBucket): HBucket {
    const tmp = new HBucket(n.size - AHASH_INIT_SIZE, this.gen);
    let k = 0;
    for (let j = 0; j < n.pos; j++) {
      if (!n.isUsed(j)) continue;
      tmp.set(k, n.get(j)!);
      tmp.setUsed(k++, true);
    }
    tmp.pos = k;
    return tmp;
  }

  /**
   * mtype_test(): 1 match, 0 none, -ENOTEMPTY a nomatch element. packets < 0 leaves the
   * counters alone (userspace test, ! --update-counters).
   */
  test(d: Elem, now: number, packets: number, bytes: number): number {
    if (this.layout.withNets && d.cidr === 32) return this.testCidrs(d, now, packets, bytes);
    const n = this.buckets[this.key(d)];
    if (!n) return 0;
    for (let i = 0; i < n.pos; i++) {
      if (!n.isUsed(i)) continue;
      const data = n.get(i)!;
      if (!this.equal(data, d)) continue;
      const ret = this.match(data, now, packets, bytes);
      if (ret !== 0) return ret;
    }
    return 0;
  }

  /** mtype_test_cidrs(): try each stored prefix length, most specific first. */
  private testCidrs(d: Elem, now: number, packets: number, bytes: number): number {
    const cidrs = this.nets.cidrs;
    let multi = 0;
    for (let j = 0; j < cidrs.length && !multi; j++) {
      this.layout.netmask(d, cidrs[j]!);
      const n = this.buckets[this.key(d)];
      if (!n) continue;
      for (let i = 0; i < n.pos; i++) {
        if (!n.isUsed(i)) continue;
        const data = n.get(i)!;
        if (this.layout.multi && data.ip === d.ip && data.cidr === d.cidr) multi++;
        if (!this.equal(data, d)) continue;
        const ret = this.match(data, now, packets, bytes);
        if (ret !== 0) return ret;
        multi = 0;
      }
    }
    return 0;
  }

  /** mtype_data_match(): ip_set_match_extensions() then the nomatch flag. */
  private match(data: Elem, now: number, packets: number, bytes: number): number {
    if (expired(data.timeout, now)) return 0;
    if (this.ext.counters && packets >= 0) {
      data.packets += packets;
      data.bytes += bytes;
    }
    this.lastHit = data;
    return data.nomatch ? -ENOTEMPTY : 1;
  }

  /** mtype_resize(): double until every element fits its bucket. */
  resize(now: number): number {
    return resizeTable(this, now);
  }

  /** mtype_flush() */
  flush(): void {
    this.buckets = new Array<HBucket | null>(this.buckets.length).fill(null);
    this.regionElements = this.regionElements.map(() => 0);
    this.regionExtSize = this.regionExtSize.map(() => 0);
    this.setExtSize = 0;
    this.nets = this.nets.cleared();
  }

  /** Runs the gc work (mtype_gc) that was due on the virtual clock up to now. */
  gcCatchUp(now: number): void {
    gcCatchUp(this, now);
  }

  /** mtype_ext_size(): live elements, for the header. */
  entries(now: number): number {
    let count = 0;
    for (const n of this.buckets) {
      if (!n) continue;
      for (let j = 0; j < n.pos; j++) if (n.isUsed(j) && !expired(n.get(j)!.timeout, now)) count++;
    }
    return count;
  }

  /** mtype_head() memsize */
  memsize(): number {
    const locks = this.regionElements.length;
    let ext = 0;
    for (const s of this.regionExtSize) ext += s;
    return this.memBase + (locks - 1) * REGION_SIZE + ext + this.setExtSize;
  }

  /** mtype_list(): live elements in bucket order. */
  list(now: number): Elem[] {
    const out: Elem[] = [];
    for (const n of this.buckets) {
      if (!n) continue;
      for (let j = 0; j < n.pos; j++) {
        if (!n.isUsed(j)) continue;
        const e = n.get(j)!;
        if (!expired(e.timeout, now)) out.push(e);
      }
    }
    return out;
  }
}
