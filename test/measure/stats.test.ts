import { describe, expect, it } from "vitest";
import { bootstrapMedian, bootstrapMedianDifference, median, quantile, summarize } from "../../src/measure/stats.js";

describe("quantile", () => {
  it("interpolates between order statistics (type 7)", () => {
    const xs = [4, 1, 3, 2, 5];
    expect(median(xs)).toBe(3);
    expect(quantile(xs, 0)).toBe(1);
    expect(quantile(xs, 1)).toBe(5);
    // (5 - 1) x 0.95 = 3.8: 80 % of the way from 4 to 5
    expect(quantile(xs, 0.95)).toBeCloseTo(4.8, 12);
    expect(median([1, 2, 3, 4])).toBe(2.5);
  });

  it("does not reorder its input", () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe("bootstrap intervals", () => {
  const a = [4718, 4694, 4751, 4706, 4779];
  const b = [2087, 2121, 2049, 2108, 2093];

  it("are deterministic for a seed, and change with it", () => {
    expect(bootstrapMedian(a)).toEqual(bootstrapMedian(a));
    // with few resamples the interval shows which resamples were drawn
    const xs = [1.5, 5.25, 2.75, 8.5, 3.125, 9.75, 4.375, 7.625, 6.875, 0.5, 10.25];
    expect(bootstrapMedian(xs, { seed: 2, resamples: 25 })).not.toEqual(bootstrapMedian(xs, { seed: 1, resamples: 25 }));
  });

  it("lie within the data and contain the median", () => {
    const i = bootstrapMedian(a)!;
    expect(i.level).toBe(0.95);
    expect(i.lo).toBeGreaterThanOrEqual(Math.min(...a));
    expect(i.hi).toBeLessThanOrEqual(Math.max(...a));
    expect(i.lo).toBeLessThanOrEqual(median(a));
    expect(i.hi).toBeGreaterThanOrEqual(median(a));
  });

  it("are absent for a single run", () => {
    expect(bootstrapMedian([5])).toBeUndefined();
    expect(bootstrapMedianDifference([5], b)).toBeUndefined();
  });

  it("exclude 0 from the difference of two well separated sets", () => {
    const d = bootstrapMedianDifference(a, b)!;
    // every B is 2.5 s below every A: any resampled difference lies in [min B - max A, max B - min A]
    expect(d.hi).toBeLessThan(0);
    expect(d.lo).toBeGreaterThanOrEqual(Math.min(...b) - Math.max(...a));
    expect(d.hi).toBeLessThanOrEqual(Math.max(...b) - Math.min(...a));
  });

  it("include 0 for two sets drawn from the same values", () => {
    const d = bootstrapMedianDifference([10, 12, 11, 13, 9, 10, 12], [11, 10, 12, 9, 13, 12, 10])!;
    expect(d.lo).toBeLessThanOrEqual(0);
    expect(d.hi).toBeGreaterThanOrEqual(0);
  });
});

describe("summarize", () => {
  it("gives runs, median, p95, min, max and the median's interval", () => {
    const s = summarize([2087, 2121, 2049, 2108, 2093])!;
    expect(s).toMatchObject({ runs: 5, median: 2093, min: 2049, max: 2121 });
    // sorted 2049 2087 2093 2108 2121; p95 at 3.8: 2108 + 0.8 x 13
    expect(s.p95).toBeCloseTo(2118.4, 9);
    expect(s.interval).toBeDefined();
    expect(summarize([])).toBeUndefined();
    expect(summarize([7])!.interval).toBeUndefined();
  });
});
