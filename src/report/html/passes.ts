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
