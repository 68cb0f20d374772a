// The zipf model's rank table (a look-up for the hot ranks instead of an exp or pow per write)
// must give exactly the rank the inverse CDF gives for every draw it answers.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rankTable, rankTableShift } from "../src/sim/workload.js";
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
});
