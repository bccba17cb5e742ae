// The connection tables' hash index (open addressing, backward-shift deletion) against
// a Map: after any sequence of adds and deletes, with hashes chosen to collide and wrap
// around the end of the slot array, every entry is found and no removed one is.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { HashIndex } from "../../src/netfilter/hashindex.ts";

interface E {
  id: number;
  h: number;
}

function findAll(t: HashIndex<E>, h: number): E[] {
  const out: E[] = [];
  for (let i = t.find(h, h); i >= 0; i = t.find(h, i + 1)) out.push(t.at(i));
  return out;
}

describe("HashIndex", () => {
  it("finds exactly the entries added and not deleted, through growth, collisions and wrap-around", () => {
    // Few distinct hashes, some near 2^30 - 1 and at multiples of the table sizes, so runs collide and wrap.
    const hash = fc.constantFrom(0, 1, 2, 15, 16, 31, 32, 63, 1023, 0x3fffffff, 0x3ffffff0, 7, 8);
    const op = fc.oneof(fc.record({ add: fc.constant(true), h: hash }), fc.record({ add: fc.constant(false), pick: fc.nat() }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const t = new HashIndex<E>();
        const live: E[] = [];
        let id = 0;
        for (const o of ops) {
          if (o.add) {
            const e = { id: id++, h: o.h as number };
            t.add(e.h, e);
            live.push(e);
          } else if (live.length) {
            const e = live.splice((o.pick as number) % live.length, 1)[0]!;
            expect(t.delete(e.h, e)).toBe(true);
            expect(t.delete(e.h, e)).toBe(false);
          }
          expect(t.size).toBe(live.length);
        }
        for (const h of new Set(live.map((e) => e.h))) {
          expect(findAll(t, h).map((e) => e.id).sort((a, b) => a - b)).toEqual(live.filter((e) => e.h === h).map((e) => e.id));
        }
        expect([...t.values()].length).toBe(live.length);
        for (const h of [3, 4, 100]) if (!live.some((e) => e.h === h)) expect(t.find(h, h)).toBe(-1);
      }),
      { numRuns: 300 },
    );
  });
});
