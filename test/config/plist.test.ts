// The persistent list under a link's addresses and a namespace's routes: after any
// sequence of inserts, replacements and removals it reads as the array it models, every
// list it was made from still reads as it did (a failed command leaves the snapshot's
// list as it was), and PList.diff between a list and the one made from it names exactly
// the items that went and came.
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { PList, setListChunkSize } from "../../src/config/plist.ts";

type Op = { kind: "insert" | "set" | "removeAt" | "remove" | "retain"; at: number; v: number };

const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom("insert", "insert", "insert", "set", "removeAt", "remove", "retain"),
  at: fc.nat(),
  v: fc.integer({ min: 0, max: 30 }),
});

interface Item {
  v: number;
}

/** Applies op to the list and to its model; returns both, and what went and came. */
function apply(list: PList<Item>, model: Item[], o: Op): [PList<Item>, Item[], Item[], Item[]] {
  const m = model.slice();
  const x: Item = { v: o.v };
  if (o.kind === "insert") {
    const i = o.at % (m.length + 1);
    m.splice(i, 0, x);
    return [list.insert(i, x), m, [], [x]];
  }
  if (!m.length) return [list, m, [], []];
  const i = o.at % m.length;
  const old = m[i]!;
  if (o.kind === "set") {
    m[i] = x;
    return [list.set(i, x), m, [old], [x]];
  }
  if (o.kind === "removeAt" || o.kind === "remove") {
    m.splice(i, 1);
    return [o.kind === "removeAt" ? list.removeAt(i) : list.remove(old), m, [old], []];
  }
  const keep = (y: Item) => y.v % 7 !== o.v % 7;
  return [list.retain(keep), m.filter(keep), m.filter((y) => !keep(y)), []];
}

/** before - gone + added = after, item by item (identity): what the view and the FIB apply. */
function expectDelta(before: PList<Item>, after: PList<Item>, gone: Item[], added: Item[]): void {
  const n = new Map<Item, number>();
  const count = (xs: Iterable<Item>, d: number) => {
    for (const x of xs) n.set(x, (n.get(x) ?? 0) + d);
  };
  count(before, 1);
  count(gone, -1);
  count(added, 1);
  count(after, -1);
  for (const [x, c] of n) expect(c, `item ${x.v}`).toBe(0);
  for (const x of gone) expect(before.indexOf(x)).toBeGreaterThanOrEqual(0);
  for (const x of added) expect(after.indexOf(x)).toBeGreaterThanOrEqual(0);
}

describe("PList", () => {
  const size = setListChunkSize(256);
  afterAll(() => setListChunkSize(size));

  it("reads as its model after any changes, leaves the lists it came from as they were, and diff names what changed", () => {
    fc.assert(
      fc.property(fc.constantFrom(2, 3, 4, 8, 256), fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 40 }), fc.array(op, { maxLength: 60 }), (chunk, start, ops) => {
        setListChunkSize(chunk);
        let model = start.map((v) => ({ v }));
        let list = PList.from(model);
        const history: [PList<Item>, Item[]][] = [[list, model]];
        for (const o of ops) {
          const [next, m, gone, added] = apply(list, model, o);
          expect(next.toArray()).toEqual(m);
          expect(next.length).toBe(m.length);
          const [g, a] = PList.diff(list, next);
          if (o.kind === "retain") expectDelta(list, next, g, a);
          else expect([g, a]).toEqual([gone, added]);
          list = next;
          model = m;
          history.push([list, model]);
        }
        for (const [l, m] of history) {
          expect(l.toArray()).toEqual(m);
          for (let i = 0; i < m.length; i++) expect(l.at(i)).toBe(m[i]);
          expect(l.at(m.length)).toBeUndefined();
          expect(l.at(-1)).toBe(m[m.length - 1]);
          if (m.length) {
            const x = m[Math.floor(m.length / 2)]!;
            expect(l.indexOf(x)).toBe(m.indexOf(x));
            expect(l.lastIndexOf(x)).toBe(m.lastIndexOf(x));
          }
          expect([...l]).toEqual(m);
          expect(l.slice(1, 3)).toEqual(m.slice(1, 3));
        }
        // Two lists whose histories parted: diff names the items of either side.
        const [first] = history[0]!;
        const [g, a] = PList.diff(first, list);
        const gone = history[0]![1].filter((x) => !model.includes(x));
        const came = model.filter((x) => !history[0]![1].includes(x));
        for (const x of gone) expect(g).toContain(x);
        for (const x of came) expect(a).toContain(x);
        expectDelta(first, list, g, a);
      }),
      { seed: 0x5eed, numRuns: 200 },
    );
  });

  it("is frozen, items too, and a change of a missing item is no change", () => {
    const a = { v: 1 };
    const l = PList.from([a]);
    expect(Object.isFrozen(l)).toBe(true);
    expect(Object.isFrozen(a)).toBe(true);
    expect(l.remove({ v: 1 })).toBe(l);
    expect(l.retain(() => true)).toBe(l);
    expect(() => l.insert(5, { v: 2 })).toThrow(RangeError);
  });

  it("keeps its spine short: 10k items pushed then most removed from the middle", () => {
    setListChunkSize(64);
    let l = PList.empty<number>();
    for (let i = 0; i < 10_000; i++) l = l.push(i);
    for (let i = 0; i < 9_000; i++) l = l.removeAt(500);
    expect(l.toArray()).toEqual([...Array(500).keys(), ...Array.from({ length: 500 }, (_, i) => 9500 + i)]);
    // A spine of at most a few chunks per 64 items left: a change costs O(n / chunk + chunk).
    expect((l as unknown as { chunks: unknown[] }).chunks.length).toBeLessThanOrEqual(1000 / 16 + 2);
    setListChunkSize(256);
  });
});
