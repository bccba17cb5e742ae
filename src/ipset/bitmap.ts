// The store of the bitmap types (ip_set_bitmap_gen.h): one bit per possible element and
// a fixed array of extensions beside it. Listing is in element order.
import { Elem, type AddExt, type SetExt, commentSize, expired, timeoutSet } from "./elem.ts";
import { IPSET_ERR_EXIST, IPSET_FLAG_EXIST, gcPeriod } from "./consts.ts";
import type { SetData } from "./settype.ts";

export class BitmapData implements SetData {
  members: Uint8Array;
  timeouts: Float64Array;
  packets: Float64Array;
  bytes: Float64Array;
  comments: (string | null)[];
  /** set->elements: counts expired members until the gc clears them. */
  count = 0;
  setExtSize = 0;
  gcNext: number;

  constructor(
    readonly size: number,
    readonly ext: SetExt,
    readonly dsize: number,
    /** sizeof(struct bitmap_ip / bitmap_port) */
    readonly structSize: number,
    now: number,
  ) {
    this.members = new Uint8Array(size);
    this.timeouts = new Float64Array(ext.timeout !== null ? size : 0);
    this.packets = new Float64Array(ext.counters ? size : 0);
    this.bytes = new Float64Array(ext.counters ? size : 0);
    this.comments = ext.comment ? new Array<string | null>(size).fill(null) : [];
    // mtype_gc_init(): the first run one gc period after create
    this.gcNext = now + gcPeriod(ext.timeout ?? 0) * 1000;
  }

  fork(): BitmapData {
    const b = Object.create(Object.getPrototypeOf(this) as object) as BitmapData;
    Object.assign(b, this);
    b.members = this.members.slice();
    b.timeouts = this.timeouts.slice();
    b.packets = this.packets.slice();
    b.bytes = this.bytes.slice();
    b.comments = this.comments.slice();
    return b;
  }

  private isExpired(id: number, now: number): boolean {
    return this.ext.timeout !== null && expired(this.timeouts[id]!, now);
  }

  private destroyExt(id: number): void {
    if (!this.ext.comment) return;
    const c = this.comments[id];
    if (c) this.setExtSize -= commentSize(c);
    this.comments[id] = null;
  }

  /** mtype_test() */
  test(id: number, now: number, packets: number, bytes: number): number {
    if (!this.members[id]) return 0;
    if (this.isExpired(id, now)) return 0;
    if (this.ext.counters && packets >= 0) {
      this.packets[id]! += packets;
      this.bytes[id]! += bytes;
    }
    return 1;
  }

  /** mtype_add() */
  add(id: number, ext: AddExt, flags: number, now: number): number {
    if (this.members[id]) {
      if (this.isExpired(id, now)) this.count--;
      else if (!(flags & IPSET_FLAG_EXIST)) return -IPSET_ERR_EXIST;
      else this.count--;
      this.destroyExt(id);
    }
    if (this.ext.timeout !== null) this.timeouts[id] = timeoutSet(now, ext.timeout);
    if (this.ext.counters) {
      if (ext.bytes !== null) this.bytes[id] = ext.bytes;
      if (ext.packets !== null) this.packets[id] = ext.packets;
    }
    if (this.ext.comment) {
      this.destroyExt(id);
      if (ext.comment) {
        this.comments[id] = ext.comment;
        this.setExtSize += commentSize(ext.comment);
      }
    }
    this.members[id] = 1;
    this.count++;
    return 0;
  }

  /** mtype_del() */
  del(id: number, now: number): number {
    if (!this.members[id]) return -IPSET_ERR_EXIST;
    this.members[id] = 0;
    this.destroyExt(id);
    this.count--;
    if (this.isExpired(id, now)) return -IPSET_ERR_EXIST;
    return 0;
  }

  flush(): void {
    this.members.fill(0);
    if (this.ext.comment) this.comments.fill(null);
    this.count = 0;
    this.setExtSize = 0;
  }

  /** mtype_gc(): a timer every gc period; one late run clears what several would. */
  gcCatchUp(now: number): void {
    if (this.ext.timeout === null || this.gcNext > now) return;
    const period = gcPeriod(this.ext.timeout) * 1000;
    const last = this.gcNext + Math.floor((now - this.gcNext) / period) * period;
    for (let id = 0; id < this.size; id++) {
      if (this.members[id] && expired(this.timeouts[id]!, last)) {
        this.members[id] = 0;
        this.destroyExt(id);
        this.count--;
      }
    }
    this.gcNext = last + period;
  }

  entries(): number {
    return this.count;
  }

  /** mtype_memsize() + set->ext_size */
  memsize(): number {
    return this.structSize + Math.ceil(this.size / 64) * 8 + this.size * this.dsize + this.setExtSize;
  }

  /** mtype_list(): live members; Elem.id is the bit index. */
  list(now: number): Elem[] {
    const out: Elem[] = [];
    for (let id = 0; id < this.size; id++) {
      if (!this.members[id] || this.isExpired(id, now)) continue;
      const e = new Elem();
      e.id = id;
      if (this.ext.timeout !== null) e.timeout = this.timeouts[id]!;
      if (this.ext.counters) {
        e.packets = this.packets[id]!;
        e.bytes = this.bytes[id]!;
      }
      if (this.ext.comment) e.comment = this.comments[id]!;
      out.push(e);
    }
    return out;
  }
}
