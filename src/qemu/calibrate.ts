// Fits a machine profile from measured idle runs. An idle guest's migration is all machine:
// its precopy time is a cost per zero page (read 4 KiB and find it zero, send a 9-byte
// header) plus a cost per normal page (read it and push 4 KiB through the stream), and the
// rest is fixed setup and switch-over work. Busy runs are what the profile must then predict,
// so they are never used here.
//
// The two per-page costs come from the query-migrate polls (every ~50 ms): at each poll, the
// precopy time so far against the zero and normal pages sent so far. An idle guest's first
// pass has long stretches of either kind (kernel pages, then hundreds of MiB of zero pages),
// so the polls separate them where the run totals cannot (every run has about the same mix).
// Cumulative points rather than per-interval differences: the destination works through a
// run of zero pages after the source has sent them (9 bytes each, a few MiB of socket buffer
// hold ~100k), so the cost of a zero run lands in the next interval's normal pages; the
// cumulative time carries that lag as a bounded error instead. Least absolute deviations,
// since the two cores are shared and a run slowed by another process is an outlier.

import type { MigrationResult } from "../core/result.js";
import type { Scenario } from "../scenario/schema.js";
import { median } from "../measure/stats.js";
import type { MachineProfile } from "../sim/simulate.js";
import { normalPageBytes, zeroPageBytes } from "../core/wire.js";
import type { Sample } from "./migration.js";
import { measurementOf } from "./runs-file.js";

/** What calibration reads of one measured run. */
export interface IdleRun {
  label: string;
  scenario: Scenario;
  result: MigrationResult;
  /** The run's query-migrate polls; without them only the run totals are fitted. */
  samples?: Sample[];
  /** Whether the destination's RAM was preallocated (its first-touch cost out of the run). */
  destinationPrealloc?: boolean;
}

export interface Fit {
  profile: MachineProfile;
  /** Per run: the precopy time measured and as the fitted rates give it. */
  residuals: { label: string; measuredMs: number; fittedMs: number }[];
  /** Per-page costs, microseconds: a zero page, a normal page; and how many intervals gave them. */
  perPage: { zeroUs: number; normalUs: number; points: number };
  notes: string[];
}

export class CalibrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CalibrationError";
  }
}

/**
 * Whether a guest writes nothing while it migrates: an idle guest, or one whose working set
 * was filled before the migration and is not rewritten (`uniform` at rate 0). The filled ones
 * give the normal-page cost that an idle guest's few kernel pages cannot pin down.
 */
export function isIdle(scenario: Scenario): boolean {
  const w = scenario.vm.workload;
  return w.kind === "idle" || (w.kind === "uniform" && w.rate === 0);
}

/** Whether a run may calibrate: an idle guest whose migration completed. */
export function idleProblem(run: IdleRun): string | undefined {
  if (!isIdle(run.scenario)) return `workload "${run.scenario.vm.workload.kind}" writes during the migration (busy runs are what a profile must predict)`;
  if (run.result.status !== "completed") return `status ${run.result.status}`;
  if (run.result.downtime === undefined) return "no downtime reported";
  return undefined;
}

/** Where a run stood at one poll: precopy time so far and the pages it had sent. */
export interface Point {
  ms: number;
  zero: number;
  normal: number;
}

/** A run's polls as points from the end of setup, and its end of precopy (before the downtime). */
export function pointsOf(result: MigrationResult, samples: Sample[]): Point[] {
  const setup = result["setup-time"];
  const out = samples.filter((s) => s.t > setup).map((s) => ({ ms: s.t - setup, zero: s.duplicate, normal: s.normal }));
  if (result.downtime !== undefined) out.push({ ms: Math.max(0, result["total-time"] - setup - result.downtime), zero: result.ram.duplicate, normal: result.ram.normal });
  return out;
}

export function fitProfile(runs: IdleRun[]): Fit {
  if (runs.length === 0) throw new CalibrationError("no idle, completed run to calibrate from");
  const notes: string[] = [];
  const pageSize = 4096;
  const setupMs = median(runs.map((r) => r.result["setup-time"]));

  // Precopy time = a * zero pages + k * normal pages (no intercept: the fixed parts are out).
  // Runs whose cap was the bottleneck for their normal pages would bias k: fit on the others.
  const rows = runs.map((r) => ({
    label: r.label,
    zero: r.result.ram.duplicate,
    normal: r.result.ram.normal,
    ms: Math.max(0, r.result["total-time"] - r.result["setup-time"] - (r.result.downtime ?? 0)),
    capMs: r.scenario.migration.maxBandwidth > 0 ? (r.result.ram.transferred * 1000) / r.scenario.migration.maxBandwidth : 0,
    capped: r.scenario.migration.maxBandwidth > 0,
    samples: r.samples ?? measurementOf(r.result).samples,
    prealloc: r.destinationPrealloc ?? measurementOf(r.result).destinationPrealloc,
  }));
  if (rows.some((r) => r.prealloc === false)) {
    notes.push("some runs' destination was not preallocated: their normal pages carry the host's first-touch cost, which busy runs' re-sent pages do not");
  }
  let a = NaN;
  let k = NaN;
  let pointCount = 0; // polls (and run ends) the per-page costs came from
  // From the polls, where there are any. A rate limit's sleeps would count as page costs:
  // uncapped runs only, unless every run was capped.
  const withSamples = rows.filter((r) => r.samples && r.samples.length > 0);
  const uncappedSampled = withSamples.filter((r) => !r.capped);
  const sampled = uncappedSampled.length > 0 ? uncappedSampled : withSamples;
  if (sampled.length > 0) {
    const points = sampled.flatMap((r) => pointsOf(runs.find((x) => x.label === r.label)!.result, r.samples!));
    const fitted = leastAbsolute2(points);
    if (fitted) {
      ({ a, k } = fitted);
      pointCount = points.length;
      if (uncappedSampled.length === 0) notes.push("every run was capped: the per-page costs are upper bounds");
    } else {
      notes.push("the polls could not separate zero and normal pages: fitted on the run totals");
    }
  }
  if (!Number.isFinite(a)) {
    const uncapped = rows.filter((r) => r.capMs < 0.5 * r.ms);
    const used = uncapped.length > 0 ? uncapped : rows;
    if (uncapped.length === 0) notes.push("every run was limited by its max-bandwidth: the per-page costs are upper bounds");
    ({ a, k } = leastSquares2(used));
    if (!(a > 0) || !(k >= a)) {
      // The unconstrained fit is not physical (a negative cost, or a normal page cheaper than a
      // zero one): keep the better of the two one-cost fits that are.
      const perPageAll = fit1(used.map((r) => ({ x: r.zero + r.normal, y: r.ms })));
      const normalOnly = fit1(used.map((r) => ({ x: r.normal, y: r.ms })));
      const sse = (ca: number, ck: number) => sum(used.map((r) => (ca * r.zero + ck * r.normal - r.ms) ** 2));
      const zeroFloor = normalOnly * 1e-3; // a zero page still costs a little to read
      if (sse(perPageAll, perPageAll) <= sse(zeroFloor, normalOnly)) {
        a = k = perPageAll;
        notes.push("zero and normal pages could not be told apart (too few runs or too little spread): one read rate for both, no stream limit");
      } else {
        a = zeroFloor;
        k = normalOnly;
        notes.push("the runs' precopy time follows their normal pages only: zero pages taken as nearly free");
      }
    }
  }
  // a = page/R + zeroBytes/C and k = page/R + normalBytes/C, in ms per page.
  const zeroBytes = zeroPageBytes();
  const normalBytes = normalPageBytes(pageSize);
  const copyMsPerByte = (k - a) / (normalBytes - zeroBytes);
  const readMsPerPage = Math.max(a - zeroBytes * copyMsPerByte, a * 0.01);
  // QEMU 7.2's downtime is the source's: stop, final pass, device state. Even an idle guest
  // can have tens of MiB left for the final pass (QEMU switches over once what is left fits
  // the limit at the last window's rate), so the fixed part shows only in runs whose final
  // pass carried next to nothing; without any, the final pass's pages come off at their cost.
  const bare = runs.filter((r) => (r.result.ram["downtime-bytes"] ?? Infinity) <= bareFinalPassBytes);
  const switchoverMs = bare.length
    ? median(bare.map((r) => r.result.downtime ?? 0))
    : median(runs.map((r) => Math.max(0, (r.result.downtime ?? 0) - k * finalPassNormalPages(r.result, normalBytes))));
  const profile: MachineProfile = { pageReadBytesPerSecond: (pageSize * 1000) / readMsPerPage, setupMs, switchoverMs };
  if (copyMsPerByte > 0) profile.copyBytesPerSecond = 1000 / copyMsPerByte;
  const residuals = rows.map((r) => ({ label: r.label, measuredMs: r.ms, fittedMs: a * r.zero + k * r.normal }));
  return { profile, residuals, perPage: { zeroUs: a * 1000, normalUs: k * 1000, points: pointCount }, notes };
}

/** A final pass this small (device state and a few pages) costs under a millisecond here. */
export const bareFinalPassBytes = 2 ** 20;

/** Normal pages sent inside the downtime, from its bytes (a zero page's 9 bytes are noise here). */
function finalPassNormalPages(result: MigrationResult, normalBytes: number): number {
  return (result.ram["downtime-bytes"] ?? 0) / normalBytes;
}

/** ms = a * zero + k * normal, least absolute deviations (iteratively reweighted least squares). */
function leastAbsolute2(points: Point[]): { a: number; k: number } | undefined {
  if (points.length < 3) return undefined;
  let weights = points.map(() => 1);
  let fit = { a: NaN, k: NaN };
  for (let round = 0; round < 50; round++) {
    const next = leastSquares2(points, weights);
    if (!Number.isFinite(next.a)) return undefined;
    fit = next;
    // 0.5 ms: below the polls' resolution a residual is as good as none.
    weights = points.map((p) => 1 / Math.max(0.5, Math.abs(p.ms - fit.a * p.zero - fit.k * p.normal)));
  }
  return fit.a > 0 && fit.k > fit.a ? fit : undefined;
}

/** Least squares of y = c x without intercept. */
function fit1(rows: { x: number; y: number }[]): number {
  const sxx = sum(rows.map((r) => r.x * r.x));
  return sxx > 0 ? sum(rows.map((r) => r.x * r.y)) / sxx : 0;
}

/** Least squares of y = a x1 + k x2 without intercept, optionally weighted. */
function leastSquares2(rows: { zero: number; normal: number; ms: number }[], weights?: number[]): { a: number; k: number } {
  let s11 = 0, s12 = 0, s22 = 0, s1y = 0, s2y = 0;
  rows.forEach((r, i) => {
    const w = weights?.[i] ?? 1;
    s11 += w * r.zero * r.zero;
    s12 += w * r.zero * r.normal;
    s22 += w * r.normal * r.normal;
    s1y += w * r.zero * r.ms;
    s2y += w * r.normal * r.ms;
  });
  const det = s11 * s22 - s12 * s12;
  // Nearly collinear regressors (every run has the same mix of pages): no separate answer.
  if (Math.abs(det) < 1e-9 * s11 * s22 || det === 0) return { a: NaN, k: NaN };
  return { a: (s1y * s22 - s2y * s12) / det, k: (s2y * s11 - s1y * s12) / det };
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
