// The zipf model's rank table (a look-up for the hot ranks instead of an exp or pow per write)
// must give exactly the rank the inverse CDF gives for every draw it answers.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Random } from "../src/sim/random.js";
import { rankTable, rankTableShift, writeModel } from "../src/sim/workload.js";
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
    // 40 tables built and walked: ~2 s alone, 9.7 s measured beside a loaded suite (speed11): not a timing check.
  }, 60_000);

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
});
