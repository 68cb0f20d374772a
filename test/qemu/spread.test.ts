// Spread-aware judging: a cell measured in batches hours apart, and a prediction judged
// against the range of all its runs rather than one run or one batch.

import { describe, expect, it } from "vitest";
import { errorBeyondSpread, spreadOf } from "../../src/qemu/spread.js";

const runs = [
  { batch: "C", at: "2026-12-01T00:10:00.000Z", value: 120 },
  { batch: "A", at: "2026-11-30T21:05:00.000Z", value: 140 },
  { batch: "A", at: "2026-11-30T21:00:00.000Z", value: 100 },
];

describe("spreadOf", () => {
  it("keeps each batch's runs and median in time order, and the range over all of them", () => {
    const s = spreadOf(runs)!;
    expect(s.batches.map((b) => [b.batch, b.at, b.median])).toEqual([
      ["A", "2026-11-30T21:00:00.000Z", 120],
      ["C", "2026-12-01T00:10:00.000Z", 120],
    ]);
    expect([s.lo, s.hi, s.median]).toEqual([100, 140, 120]);
    expect(s.apartMinutes).toBe(190);
  });

  it("has nothing to say without runs", () => {
    expect(spreadOf([])).toBeUndefined();
  });
});

describe("errorBeyondSpread", () => {
  const s = spreadOf(runs)!;
  it("is zero anywhere inside the runs' range, edges included", () => {
    for (const p of [100, 118, 140]) expect(errorBeyondSpread(p, s)).toBe(0);
  });
  it("is the distance to the nearer edge, in percent of the median, with its sign", () => {
    expect(errorBeyondSpread(150, s)).toBeCloseTo((10 / 120) * 100, 9);
    expect(errorBeyondSpread(70, s)).toBeCloseTo((-30 / 120) * 100, 9);
  });
});
