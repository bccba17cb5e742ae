// The garbage collector of a hash with timeouts (mtype_gc, mtype_gc_do): every gc period
// one region of buckets loses its expired elements, and a bucket with two free slots or
// more shrinks (or goes). Run late, on the virtual clock, as the timers would have run.
import { gcPeriod } from "./consts.ts";
import { expired } from "./elem.ts";
import { AHASH_INIT_SIZE, HTABLE_REGION_BITS, type HTable } from "./htable.ts";

/** mtype_gc_do(): drop expired elements of region r, shrink or free emptied buckets. */
export function gcDo(t: HTable, r: number, now: number): boolean {
  const bits = t.bits;
  const start = bits < HTABLE_REGION_BITS ? 0 : r << HTABLE_REGION_BITS;
  const end = bits < HTABLE_REGION_BITS ? 2 ** bits : (r + 1) << HTABLE_REGION_BITS;
  let changed = false;
  for (let i = start; i < end; i++) {
    const b = t.buckets[i];
    if (!b) continue;
    let d = 0;
    for (let j = 0; j < b.pos; j++) {
      if (!b.isUsed(j)) {
        d++;
        continue;
      }
      if (!expired(b.get(j)!.timeout, now)) continue;
      const n = t.own(i);
      const data = n.get(j)!;
      n.setUsed(j, false);
      if (t.layout.withNets) t.nets.del(data.cidr);
      t.regionElements[r] = (t.regionElements[r]! - 1) >>> 0;
      t.destroyExt(data);
      d++;
      changed = true;
    }
    if (d >= AHASH_INIT_SIZE) {
      changed = true;
      const n = t.buckets[i]!;
      if (d >= n.size) {
        t.regionExtSize[r]! -= t.extSize(n.size);
        t.buckets[i] = null;
        continue;
      }
      t.buckets[i] = t.shrunk(n);
      t.regionExtSize[r]! -= t.extSize(AHASH_INIT_SIZE);
    }
  }
  return changed;
}

/** Runs the gc work (mtype_gc) that was due on the virtual clock up to now. */
export function gcCatchUp(t: HTable, now: number): void {
  if (t.ext.timeout === null) return;
  const locks = t.regionElements.length;
  const step = Math.max(Math.floor((gcPeriod(t.ext.timeout) * 1000) / locks), 100);
  let stable = 0;
  while (t.gcNext <= now) {
    const r = t.gcRegion % locks;
    t.gcRegion = r + 1;
    stable = gcDo(t, r, t.gcNext) ? 0 : stable + 1;
    t.gcNext += step;
    if (stable >= locks) {
      // A fixed point until the next element expires: skip the runs that find nothing.
      const first = firstExpiry(t);
      const until = first === null ? now : Math.min(now, first);
      const skip = until >= t.gcNext ? Math.floor((until - t.gcNext) / step) + 1 : 0;
      t.gcNext += skip * step;
      t.gcRegion = (t.gcRegion + skip) % locks;
      stable = 0;
    }
  }
}

function firstExpiry(t: HTable): number | null {
  let first: number | null = null;
  for (const n of t.buckets) {
    if (!n) continue;
    for (let j = 0; j < n.pos; j++) {
      const t = n.isUsed(j) ? n.get(j)!.timeout : 0;
      if (t !== 0 && (first === null || t < first)) first = t;
    }
  }
  return first;
}
