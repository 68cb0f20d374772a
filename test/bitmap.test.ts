// The page bitmap's word-at-a-time operations against a plain array of booleans.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PageBitmap, PageRuns, bitRunFrom, lowestBit } from "../src/core/bitmap.js";

type Op =
  | { kind: "set" | "clear"; page: number }
  | { kind: "setRange" | "clearRange"; from: number; to: number };

const size = 200; // several words, and a last word only partly used

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom("set" as const, "clear" as const), page: fc.nat(size - 1) }),
  fc
    .record({ kind: fc.constantFrom("setRange" as const, "clearRange" as const), a: fc.nat(size), b: fc.nat(size) })
    .map(({ kind, a, b }) => ({ kind, from: Math.min(a, b), to: Math.max(a, b) })),
);

function apply(ops: Op[]): { bitmap: PageBitmap; model: boolean[] } {
  const bitmap = new PageBitmap(size);
  const model = new Array<boolean>(size).fill(false);
  for (const o of ops) {
    if (o.kind === "set" || o.kind === "clear") {
      o.kind === "set" ? bitmap.set(o.page) : bitmap.clear(o.page);
      model[o.page] = o.kind === "set";
    } else {
      o.kind === "setRange" ? bitmap.setRange(o.from, o.to) : bitmap.clearRange(o.from, o.to);
      for (let p = o.from; p < o.to; p++) model[p] = o.kind === "setRange";
    }
  }
  return { bitmap, model };
}

describe("PageBitmap", () => {
  it("setRange and clearRange agree with page-by-page updates, count included", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const { bitmap, model } = apply(ops);
        for (let p = 0; p < size; p++) expect(bitmap.test(p)).toBe(model[p]);
        expect(bitmap.count).toBe(model.filter(Boolean).length);
      }),
    );
  });

  it("nextSet finds the first set page in [from, to), runLength the run of one kind from a page", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.nat(size), fc.nat(size), fc.nat(size), (ops, a, b, max) => {
        const { bitmap, model } = apply(ops);
        const from = Math.min(a, b);
        const to = Math.max(a, b);
        const first = model.findIndex((v, p) => v && p >= from && p < to);
        expect(bitmap.nextSet(from, to)).toBe(first);
        for (const kind of [true, false]) {
          let n = 0;
          while (n < max && from + n < size && model[from + n] === kind) n++;
          expect(bitmap.runLength(from, max, kind)).toBe(n);
        }
      }),
    );
  });
});

describe("PageBitmap, counting set pages", () => {
  it("pastNthSet is the page after the n-th set page from `from` below `to`, -1 when fewer; PageRuns.addSet lists the set pages of a range in order", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.nat(size), fc.nat(size), fc.integer({ min: 1, max: size }), (ops, a, b, n) => {
        const { bitmap, model } = apply(ops);
        const from = Math.min(a, b);
        const to = Math.max(a, b);
        const set = model.flatMap((v, p) => (v && p >= from && p < to ? [p] : []));
        expect(bitmap.pastNthSet(from, n, to)).toBe(set.length >= n ? set[n - 1] + 1 : -1);
        const runs = new PageRuns(1);
        runs.addSet(bitmap, from, to);
        const listed: number[] = [];
        for (let r = 0; r < runs.count; r++) for (let i = 0; i < runs.lengths[r]; i++) listed.push(runs.starts[r] + i);
        expect(listed).toEqual(set);
        expect(runs.pages).toBe(set.length);
      }),
    );
  });
});

describe("PageBitmap.pastNthSet, cases worked by hand", () => {
  it("looks no further than `to`, also where `to` is the last page of a word, and finds nothing from past `to`", () => {
    const b = new PageBitmap(128);
    b.setRange(62, 66); // 62, 63 | 64, 65: the first word boundary at 64
    expect(b.pastNthSet(0, 1, 63)).toBe(63); // 62 is below 63
    expect(b.pastNthSet(0, 2, 63)).toBe(-1); // 63 is not below 63
    expect(b.pastNthSet(0, 2, 64)).toBe(64);
    expect(b.pastNthSet(0, 4, 128)).toBe(66);
    // From past `to` (or at it) nothing lies in [from, to), set pages after `from` or not.
    expect(b.pastNthSet(63, 1, 10)).toBe(-1);
    expect(b.pastNthSet(62, 1, 62)).toBe(-1);
    expect(b.pastNthSet(64, 1, 64)).toBe(-1); // an empty range at a word's start (64 itself is set)
  });
});

describe("PageBitmap reuse", () => {
  it("a bitmap made after others of its size were released reads clear, whatever they held (their bits set, cleared or taken)", () => {
    fc.assert(
      fc.property(fc.array(fc.array(op, { maxLength: 20 }), { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), (runs, takes) => {
        // Bitmaps of one size, each left as its operations (and perhaps a read-and-clear into another) left it, then released.
        for (const [i, ops] of runs.entries()) {
          const { bitmap } = apply(ops);
          // Only the first half's words taken: the rest stays, and counts.
          if (takes[i]) new PageBitmap(size + 1).takeFrom(bitmap, 0, size / 2);
          bitmap.release();
        }
        // As many new ones as were released, and one more: each starts with no page set.
        for (let i = 0; i <= runs.length; i++) {
          const fresh = new PageBitmap(size);
          expect(fresh.count).toBe(0);
          expect(fresh.nextSet(0)).toBe(-1);
          expect(Array.from(fresh.words).every((w) => w === 0)).toBe(true);
        }
      }),
    );
  });

  it("read-and-clear leaves both counts exact, also where the other held pages outside the range", () => {
    const other = new PageBitmap(size);
    other.setRange(0, size);
    const into = new PageBitmap(size);
    into.set(5);
    // Words of pages [40, 100): pages 32-127; the rest stays in `other`.
    expect(into.takeFrom(other, 40, 100)).toBe(96);
    expect(into.count).toBe(97);
    expect(other.count).toBe(size - 96);
    expect(other.test(31) && other.test(128) && !other.test(64)).toBe(true);
  });
});

describe("PageBitmap, the edges the properties rarely reach", () => {
  it("set and clear say whether they changed the page", () => {
    const b = new PageBitmap(40);
    expect([b.set(7), b.set(7)]).toEqual([true, false]);
    expect([b.clear(7), b.clear(7)]).toEqual([true, false]);
    expect(b.count).toBe(0);
  });

  it("setAll sets exactly the pages there are, none past the end of a part-used last word", () => {
    // 40 pages: the second word holds 8 of them; its other 24 bits must stay clear.
    const a = new PageBitmap(40);
    const b = new PageBitmap(40);
    a.setAll();
    b.setAll();
    expect(a.count).toBe(40);
    expect(a.countAnd(b)).toBe(40);
    const c = new PageBitmap(40);
    expect(c.takeFrom(a)).toBe(40);
  });

  it("empty ranges change and find nothing, wherever they are", () => {
    for (const at of [0, 5, 31, 32, 39]) {
      const b = new PageBitmap(40);
      b.setAll();
      b.clearRange(at, at);
      expect(b.count, `clearRange(${at}, ${at})`).toBe(40);
      b.clearAll();
      b.setRange(at, at);
      expect(b.count, `setRange(${at}, ${at})`).toBe(0);
      b.set(at);
      expect(b.nextSet(at, at), `nextSet(${at}, ${at})`).toBe(-1);
      expect(b.runLength(at, 0, true), `runLength(${at}, 0)`).toBe(0);
    }
  });

  it("countAnd counts the pages set in both; list stops at its limit", () => {
    const a = new PageBitmap(100);
    const b = new PageBitmap(100);
    for (const p of [1, 33, 64, 99]) a.set(p);
    for (const p of [1, 2, 64, 98, 99]) b.set(p);
    expect(a.countAnd(b)).toBe(3);
    expect(a.list()).toEqual([1, 33, 64, 99]);
    expect(a.list(2)).toEqual([1, 33]);
    expect(a.list(0)).toEqual([]);
  });
});

describe("a word's bits", () => {
  it("wordFrom gives the set pages of a page's word from that page on; lowestBit and bitRunFrom its runs", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.nat(size - 1), (ops, page) => {
        const { bitmap, model } = apply(ops);
        const base = page - (page % 32);
        const word = bitmap.wordFrom(page);
        // Decoded bit by bit, the word is the model's pages of that word from `page` on.
        for (let b = 0; b < 32; b++) expect((word & (1 << b)) !== 0).toBe(base + b >= page && base + b < size && model[base + b]);
        // Walked run by run, it is the model's runs of set pages, cut at the word's end.
        const runs: [number, number][] = [];
        for (let w = word; w !== 0; ) {
          const b = lowestBit(w);
          const length = bitRunFrom(w, b);
          runs.push([base + b, length]);
          w = b + length === 32 ? 0 : w & (0xffffffff << (b + length));
        }
        const expected: [number, number][] = [];
        for (let p = page; p < Math.min(base + 32, size); p++) {
          if (!model[p]) continue;
          const last = expected[expected.length - 1];
          if (last && last[0] + last[1] === p) last[1]++;
          else expected.push([p, 1]);
        }
        expect(runs).toEqual(expected);
      }),
    );
  });

  it("a full word is one run of 32, its top bit a run of 1", () => {
    expect(lowestBit(-1)).toBe(0);
    expect(bitRunFrom(-1, 0)).toBe(32);
    expect(lowestBit(1 << 31)).toBe(31);
    expect(bitRunFrom(1 << 31, 31)).toBe(1);
    expect(bitRunFrom(0b0111_0110, 1)).toBe(2);
    expect(bitRunFrom(0b0111_0110, 4)).toBe(3);
  });
});

describe("PageRuns", () => {
  it("joins pages that continue the last run and counts every page", () => {
    const runs = new PageRuns(8);
    runs.add(10, 3);
    runs.add(13, 2); // continues 10..12
    runs.add(40, 1);
    expect(runs.count).toBe(2);
    expect([...runs.starts.subarray(0, 2)]).toEqual([10, 40]);
    expect([...runs.lengths.subarray(0, 2)]).toEqual([5, 1]);
    expect(runs.pages).toBe(6);
    runs.clear();
    expect(runs.pages).toBe(0);
  });
});
