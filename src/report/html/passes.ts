// Remaining dirty bytes and bandwidth per pass, straight from result.passes.

import type { MigrationResult } from "../../core/result.js";

export interface PassRow {
  pass: number;
  t: number;
  series: "remaining dirty" | "bandwidth estimate" | "threshold";
  /** MiB for remaining and threshold, MiB/s for bandwidth. */
  value: number;
}

const MiB = 2 ** 20;

export function passRows(result: MigrationResult): PassRow[] {
  return result.passes.flatMap((p) => [
    { pass: p.pass, t: p.t, series: "remaining dirty" as const, value: p["remaining-bytes"] / MiB },
    { pass: p.pass, t: p.t, series: "threshold" as const, value: p.threshold / MiB },
    { pass: p.pass, t: p.t, series: "bandwidth estimate" as const, value: p.bandwidth / MiB },
  ]);
}

export interface ThrottleRow {
  /** Seconds since the migration started. */
  ts: number;
  /** Share of each vCPU time slice the throttle takes, and what is left to the guest, in %. */
  series: "cpu-throttle-percentage" | "guest vCPU time left";
  value: number;
}

/** Auto-converge's throttle over time, from each raise in the timeline to the end of the run;
 * none when it never throttled. The guest's share is what its writes (and all its work) get. */
export function throttleRows(result: MigrationResult): ThrottleRow[] {
  const raises = result.timeline.flatMap((e) => (e.kind === "throttle" ? [{ t: e.t, pct: Math.round(e.fraction * 100) }] : []));
  if (raises.length === 0) return [];
  const end = result["total-time"];
  const steps = [{ t: 0, pct: 0 }, ...raises, { t: end, pct: raises[raises.length - 1].pct }];
  return steps.flatMap((s) => [
    { ts: s.t / 1000, series: "cpu-throttle-percentage" as const, value: s.pct },
    { ts: s.t / 1000, series: "guest vCPU time left" as const, value: 100 - s.pct },
  ]);
}
