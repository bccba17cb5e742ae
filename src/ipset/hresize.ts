// mtype_resize() of ip_set_hash_gen.h: a table twice the size, every live element
// rehashed into it in bucket order; if a bucket would overflow, twice again.
import { IPSET_ERR_HASH_FULL } from "./consts.ts";
import { expired } from "./elem.ts";
import { AHASH_INIT_SIZE, HBucket, numofLocks, type HTable } from "./htable.ts";

/** mtype_resize(): double until every element fits its bucket. */
export function resizeTable(t: HTable, now: number): number {
  let bits = t.bits;
  for (;;) {
    bits++;
    if (bits > 31) return -IPSET_ERR_HASH_FULL;
    const size = 2 ** bits;
    const mask = (size - 1) >>> 0;
    const locks = numofLocks(bits);
    const nb = new Array<HBucket | null>(size).fill(null);
    const elems = new Array<number>(locks).fill(0);
    const extSize = new Array<number>(locks).fill(0);
    let again = false;
    outer: for (const n of t.buckets) {
      if (!n) continue;
      for (let j = 0; j < n.pos; j++) {
        if (!n.isUsed(j)) continue;
        const data = n.get(j)!;
        if (expired(data.timeout, now)) continue;
        const key = t.layout.hkey(data, t.initval) & mask;
        const nr = key % locks;
        let m = nb[key];
        if (!m) {
          m = nb[key] = new HBucket(AHASH_INIT_SIZE, t.gen);
          extSize[nr]! += t.extSize(AHASH_INIT_SIZE);
        } else if (m.pos >= m.size) {
          if (m.size >= t.bucketsize) {
            again = true;
            break outer;
          }
          const g = new HBucket(m.size + AHASH_INIT_SIZE, t.gen);
          g.pos = m.pos;
          g.copyUsed(m);
          for (let i = 0; i < m.size; i++) g.set(i, m.get(i));
          m = nb[key] = g;
          extSize[nr]! += t.extSize(AHASH_INIT_SIZE);
        }
        m.set(m.pos, data.clone());
        m.setUsed(m.pos++, true);
        elems[nr]!++;
      }
    }
    if (again) continue;
    t.bits = bits;
    t.mask = mask;
    t.buckets = nb;
    t.regionElements = elems;
    t.regionExtSize = extSize;
    return 0;
  }
}
