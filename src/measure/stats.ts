// Statistics over runs: order statistics and percentile-bootstrap intervals. The bootstrap is
// seeded, so the same runs always print the same interval.

import { Random } from "../sim/random.js";

/** Quantile with linear interpolation between order statistics (R's type 7, numpy's default). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError("quantile of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export const median = (values: readonly number[]) => quantile(values, 0.5);

export interface Interval {
  lo: number;
  hi: number;
  /** e.g. 0.95 */
  level: number;
}

export interface BootstrapOptions {
  seed?: number;
  resamples?: number;
  level?: number;
}

const defaults = { seed: 1, resamples: 4000, level: 0.95 };

function resample(values: readonly number[], random: Random): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[random.below(values.length)];
  return out;
}

function percentileInterval(stats: number[], level: number): Interval {
  const alpha = (1 - level) / 2;
  return { lo: quantile(stats, alpha), hi: quantile(stats, 1 - alpha), level };
}

/** Percentile-bootstrap interval of the median; undefined for fewer than two runs. */
export function bootstrapMedian(values: readonly number[], options: BootstrapOptions = {}): Interval | undefined {
  if (values.length < 2) return undefined;
  const { seed, resamples, level } = { ...defaults, ...options };
  const random = new Random(seed);
  const stats: number[] = [];
  for (let i = 0; i < resamples; i++) stats.push(median(resample(values, random)));
  return percentileInterval(stats, level);
}

/** Interval of median(b) - median(a), resampling both sets independently. */
export function bootstrapMedianDifference(a: readonly number[], b: readonly number[], options: BootstrapOptions = {}): Interval | undefined {
  if (a.length < 2 || b.length < 2) return undefined;
  const { seed, resamples, level } = { ...defaults, ...options };
  const random = new Random(seed);
  const stats: number[] = [];
  for (let i = 0; i < resamples; i++) stats.push(median(resample(b, random)) - median(resample(a, random)));
  return percentileInterval(stats, level);
}

export interface Summary {
  runs: number;
  median: number;
  p95: number;
  min: number;
  max: number;
  /** Bootstrap 95 % interval of the median, from two runs on. */
  interval?: Interval;
}

export function summarize(values: readonly number[], options: BootstrapOptions = {}): Summary | undefined {
  if (values.length === 0) return undefined;
  const summary: Summary = {
    runs: values.length,
    median: median(values),
    p95: quantile(values, 0.95),
    min: Math.min(...values),
    max: Math.max(...values),
  };
  const interval = bootstrapMedian(values, options);
  if (interval) summary.interval = interval;
  return summary;
}
