// Fits a machine profile from measured idle runs. An idle guest's migration is all machine:
// its precopy time is a cost per zero page (read and zero-check a page, send a 9-byte
// header) plus a cost per normal page (read it and push 4 KiB through the stream), and the
// rest is fixed setup and switch-over work. Busy runs are what the profile must then predict,
// so they are never used here.

import type { MigrationResult } from "../core/result.js";
import type { Scenario } from "../scenario/schema.js";
import { median } from "../measure/stats.js";
import type { MachineProfile } from "../sim/simulate.js";
import { normalPageBytes, zeroPageBytes } from "../core/wire.js";

/** What calibration reads of one measured run. */
export interface IdleRun {
  label: string;
  scenario: Scenario;
  result: MigrationResult;
}

export interface Fit {
  profile: MachineProfile;
  /** Per run: the precopy time measured and as the fitted rates give it. */
  residuals: { label: string; measuredMs: number; fittedMs: number }[];
  notes: string[];
}

export class CalibrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CalibrationError";
  }
}

/** Whether a run may calibrate: an idle guest whose migration completed. */
export function idleProblem(run: IdleRun): string | undefined {
  if (run.scenario.vm.workload.kind !== "idle") return `workload "${run.scenario.vm.workload.kind}" is not idle (busy runs are what a profile must predict)`;
  if (run.result.status !== "completed") return `status ${run.result.status}`;
  if (run.result.downtime === undefined) return "no downtime reported";
  return undefined;
}

export function fitProfile(runs: IdleRun[]): Fit {
  if (runs.length === 0) throw new CalibrationError("no idle, completed run to calibrate from");
  const notes: string[] = [];
  const pageSize = 4096;
  const setupMs = median(runs.map((r) => r.result["setup-time"]));
  // QEMU 7.2's downtime is the source's: stop, final pass, device state; an idle guest has
  // next to nothing left for the final pass, so the downtime is the fixed switch-over work.
  const switchoverMs = median(runs.map((r) => r.result.downtime ?? 0));

  // Precopy time = a * zero pages + k * normal pages (no intercept: the fixed parts are out).
  // Runs whose cap was the bottleneck for their normal pages would bias k: fit on the others.
  const rows = runs.map((r) => ({
    label: r.label,
    zero: r.result.ram.duplicate,
    normal: r.result.ram.normal,
    ms: Math.max(0, r.result["total-time"] - r.result["setup-time"] - (r.result.downtime ?? 0)),
    capMs: r.scenario.migration.maxBandwidth > 0 ? (r.result.ram.transferred * 1000) / r.scenario.migration.maxBandwidth : 0,
  }));
  const uncapped = rows.filter((r) => r.capMs < 0.5 * r.ms);
  const used = uncapped.length > 0 ? uncapped : rows;
  if (uncapped.length === 0) notes.push("every run was limited by its max-bandwidth: the per-page costs are upper bounds");
  let { a, k } = leastSquares2(used);
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
  // a = page/R + zeroBytes/C and k = page/R + normalBytes/C, in ms per page.
  const zeroBytes = zeroPageBytes();
  const normalBytes = normalPageBytes(pageSize);
  const copyMsPerByte = (k - a) / (normalBytes - zeroBytes);
  const readMsPerPage = Math.max(a - zeroBytes * copyMsPerByte, a * 0.01);
  const profile: MachineProfile = { pageReadBytesPerSecond: (pageSize * 1000) / readMsPerPage, setupMs, switchoverMs };
  if (copyMsPerByte > 0) profile.copyBytesPerSecond = 1000 / copyMsPerByte;
  const residuals = rows.map((r) => ({ label: r.label, measuredMs: r.ms, fittedMs: a * r.zero + k * r.normal }));
  return { profile, residuals, notes };
}

/** Least squares of y = c x without intercept. */
function fit1(rows: { x: number; y: number }[]): number {
  const sxx = sum(rows.map((r) => r.x * r.x));
  return sxx > 0 ? sum(rows.map((r) => r.x * r.y)) / sxx : 0;
}

/** Least squares of y = a x1 + k x2 without intercept. */
function leastSquares2(rows: { zero: number; normal: number; ms: number }[]): { a: number; k: number } {
  let s11 = 0, s12 = 0, s22 = 0, s1y = 0, s2y = 0;
  for (const r of rows) {
    s11 += r.zero * r.zero;
    s12 += r.zero * r.normal;
    s22 += r.normal * r.normal;
    s1y += r.zero * r.ms;
    s2y += r.normal * r.ms;
  }
  const det = s11 * s22 - s12 * s12;
  // Nearly collinear regressors (every run has the same mix of pages): no separate answer.
  if (Math.abs(det) < 1e-9 * s11 * s22 || det === 0) return { a: NaN, k: NaN };
  return { a: (s1y * s22 - s2y * s12) / det, k: (s2y * s11 - s1y * s12) / det };
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
