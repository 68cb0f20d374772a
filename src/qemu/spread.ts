// The same cell measured at different times (batches, an hour or more apart) scatters more
// than the runs of one batch: the shared machine's load and its memory history change. A
// prediction is judged against that spread: inside the range of every run of the cell it is
// as right as a measurement can say; outside, the error is its distance to the nearer edge.

import { median } from "../measure/stats.js";

/** One measured figure of one run, with the batch it belongs to and when it ran (ISO time). */
export interface TimedValue {
  batch: string;
  at: string;
  value: number;
}

export interface Spread {
  /** Per batch, in time order: when it started, its runs' values and their median. */
  batches: { batch: string; at: string; values: number[]; median: number }[];
  lo: number;
  hi: number;
  /** Median over all the runs. */
  median: number;
  /** Minutes between the first run of the first batch and the first run of the last one. */
  apartMinutes: number;
}

export function spreadOf(runs: readonly TimedValue[]): Spread | undefined {
  if (!runs.length) return undefined;
  const names = [...new Set(runs.map((r) => r.batch))];
  const batches = names
    .map((batch) => {
      const own = runs.filter((r) => r.batch === batch);
      const at = own.map((r) => r.at).sort()[0];
      const values = own.map((r) => r.value);
      return { batch, at, values, median: median(values) };
    })
    .sort((a, b) => a.at.localeCompare(b.at));
  const values = runs.map((r) => r.value);
  const apartMs = Date.parse(batches[batches.length - 1].at) - Date.parse(batches[0].at);
  return { batches, lo: Math.min(...values), hi: Math.max(...values), median: median(values), apartMinutes: Number.isFinite(apartMs) ? apartMs / 60_000 : 0 };
}

/**
 * A prediction's error against the spread, in percent of the runs' median: 0 inside
 * [lo, hi], else the signed distance to the nearer edge.
 */
export function errorBeyondSpread(predicted: number, s: Spread): number {
  if (!(s.median > 0)) return NaN;
  if (predicted > s.hi) return ((predicted - s.hi) / s.median) * 100;
  if (predicted < s.lo) return ((predicted - s.lo) / s.median) * 100;
  return 0;
}
