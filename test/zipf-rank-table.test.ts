// The zipf model's rank table (a look-up for the hot ranks instead of an exp or pow per write)
// must give exactly the rank the inverse CDF gives for every draw it answers.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Random } from "../src/sim/random.js";
import { harmonicSeriesRank, rankTable, rankTableShift, writeModel } from "../src/sim/workload.js";
import { propertyRuns } from "./helpers.js";

/** The continuous inverse CDF of Zipf(s) over ranks 1..n (docs/model.md), as the model states it. */
function inverseCdf(n: number, s: number): (u: number) => number {
  if (Math.abs(s - 1) < 1e-9) return (u) => Math.exp(u * Math.log(n + 1));
  const span = Math.pow(n + 1, 1 - s) - 1;
  return (u) => Math.pow(span * u + 1, 1 / (1 - s));
}

const rankOf = (x: number, n: number) => Math.min(n, Math.max(1, Math.floor(x))) - 1;

describe("the zipf rank table", () => {
  it("answers a draw only with the rank the formula gives it: both ends of every range it answers, and draws inside", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1 << 22 }),
        fc.oneof(fc.constant(1), fc.double({ min: 0, max: 3, noNaN: true })),
        fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: 200, maxLength: 200 }),
        (n, s, draws) => {
          const rank = inverseCdf(n, s);
          const margin = Math.abs(s - 1) < 1e-9 ? 1e-12 : 1e-12 * (1 + Math.abs(1 / (1 - s)));
          const table = rankTable(n, s, rank, margin);
          const width = 2 ** rankTableShift;
          const wrong: string[] = [];
          const check = (k: number) => {
            const known = table[k >>> rankTableShift];
            const exact = rankOf(rank(k / 2 ** 32), n);
            if (known >= 0 && known !== exact) wrong.push(`draw ${k}: table ${known}, formula ${exact}`);
          };
          for (let b = 0; b < table.length; b++) {
            check(b * width);
            check(b * width + width - 1);
          }
          for (const k of draws) check(k);
          expect(wrong).toEqual([]);
          // The hottest rank is answered by the table where the first range's draws all give it.
          if (rank((width - 1) / 2 ** 32) < 2 - 1e-6) expect(table[0]).toBe(0);
        },
      ),
      { numRuns: propertyRuns(40) },
    );
  });

  // The model's writes with the table in use, against the formula alone on the same draws: each write takes one
  // 32-bit draw k, its rank is the inverse CDF's at k / 2^32, and rank r (from 0) lands on page base + r x stride mod n,
  // stride being 40503 mod n moved up to the next number coprime with n (docs/model.md's multiplicative permutation).
  const formulaPages = (n: number, s: number, stride: number, base: number, seed: number, count: number) => {
    const rank = inverseCdf(n, s);
    const draws = new Random(seed);
    return Array.from({ length: count }, () => base + ((rankOf(rank(draws.bits() / 2 ** 32), n) * stride) % n));
  };
  const zipfWrites = (n: number, s: number, base: number, seed: number, counts: number[]) => {
    const model = writeModel({ kind: "zipf", workingSetPages: n, rate: 1, exponent: s }, base, new Random(seed));
    const pages: number[] = [];
    for (const count of counts) model.write(count, (p) => void pages.push(p));
    return pages;
  };
  /** The first write where the model and the formula differ, -1 for none (a diff of 2^18 pages would take minutes to print). */
  const firstDifference = (got: number[], want: number[]) => (got.length === want.length ? got.findIndex((p, i) => p !== want[i]) : Math.min(got.length, want.length));

  it("a model whose working set and exponent have a table already uses it from its first write: the formula's pages", () => {
    // 40503 mod 5000 = 503, a prime: the stride. The table built first, as another VM of the fleet would have.
    const table = rankTable(5000, 1.2, inverseCdf(5000, 1.2), 1e-12 * (1 + 1 / 0.2));
    const want = formulaPages(5000, 1.2, 503, 7, 3, 20_000);
    expect(firstDifference(zipfWrites(5000, 1.2, 7, 3, [5000, 15_000]), want)).toBe(-1);
    // The table answers most of those draws (else the formula alone wrote them): the hot ranks.
    const draws = new Random(3);
    const answered = want.filter(() => table[draws.bits() >>> rankTableShift] >= 0).length;
    expect(answered).toBeGreaterThan(20_000 / 2);
  });

  it("a model builds its table after 2^18 writes and goes on with the formula's pages", () => {
    // 40503 = 13 x 3001 + 1490: the stride 1490, coprime with 3001, a prime.
    const counts = [1000, 2 ** 18 - 1000, 3000];
    const want = formulaPages(3001, 0.8, 1490, 11, 5, 2 ** 18 + 3000);
    expect(firstDifference(zipfWrites(3001, 0.8, 11, 5, counts), want)).toBe(-1);
  });

  it("at exponent 1 the draws the table does not answer get the formula's rank through the series, at 2^19 pages", () => {
    // 40503 is odd, so coprime with 2^19: the stride. The table built first, as another VM of the fleet would have.
    const n = 2 ** 19;
    const table = rankTable(n, 1, inverseCdf(n, 1), 1e-12);
    const want = formulaPages(n, 1, 40503, 5, 8, 60_000);
    expect(firstDifference(zipfWrites(n, 1, 5, 8, [10_000, 50_000]), want)).toBe(-1);
    // Many of the draws are the series' (the table answers about half of them at this size).
    const draws = new Random(8);
    const unanswered = want.filter(() => table[draws.bits() >>> rankTableShift] < 0).length;
    expect(unanswered).toBeGreaterThan(want.length / 4);
  });

  it("the series' rank is the formula's at the draws closest to rank boundaries, and at the ends of every table entry", () => {
    for (const n of [2 ** 19, 3_000_007, 2 ** 32 - 1]) {
      const series = harmonicSeriesRank(n);
      const rank = inverseCdf(n, 1);
      const wrong: string[] = [];
      const check = (k: number) => {
        if (k < 0 || k >= 2 ** 32) return;
        const exact = rankOf(rank(k / 2 ** 32), n);
        if (rankOf(series(k), n) !== exact) wrong.push(`n ${n}, draw ${k}: series ${rankOf(series(k), n)}, formula ${exact}`);
      };
      const width = 2 ** rankTableShift;
      for (let b = 0; b < 2 ** (32 - rankTableShift); b++) {
        check(b * width);
        check(b * width + width - 1);
      }
      // Rank r begins where u ln(n + 1) = ln r: the draws on either side of that.
      const logTop = Math.log(n + 1);
      for (let i = 0; i < 20_000; i++) {
        const r = 2 + Math.floor(((i * 7919) % 20_000) * ((n - 2) / 20_000));
        const k = Math.floor((Math.log(r) / logTop) * 2 ** 32);
        for (let j = -2; j <= 2; j++) check(k + j);
      }
      expect(wrong).toEqual([]);
    }
  });
});
