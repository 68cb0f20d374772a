// The figures of a drain: how long, how many completed, downtime percentiles over the VMs.

import { quantile } from "../measure/stats.js";
import { round3, type FleetRun } from "./fleet.js";

export interface Spread {
  p50: number;
  p95: number;
  max: number;
}

export interface FleetSummary {
  /** From the first start to the last end (resume or failure), ms. */
  "drain-time": number;
  completed: number;
  failed: number;
  downtime?: Spread;
  "guest-visible-downtime"?: Spread;
  "service-downtime"?: Spread;
  /** Migration stream bytes of every VM. */
  bytes: number;
}

function spread(values: number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  return { p50: round3(quantile(values, 0.5)), p95: round3(quantile(values, 0.95)), max: round3(Math.max(...values)) };
}

export function summarize(run: FleetRun): FleetSummary {
  const done = run.vms.filter((v) => v.result.status !== "failed");
  const figures = (key: "downtime" | "guest-visible-downtime" | "service-downtime") =>
    spread(done.flatMap((v) => (v.result[key] === undefined ? [] : [v.result[key]!])));
  const spreads: Partial<FleetSummary> = {};
  for (const key of ["downtime", "guest-visible-downtime", "service-downtime"] as const) {
    const s = figures(key);
    if (s) spreads[key] = s;
  }
  // In the order the issue lists the fields.
  return {
    "drain-time": round3(run.vms.reduce((t, v) => Math.max(t, v.end), 0)),
    completed: done.length,
    failed: run.vms.length - done.length,
    ...spreads,
    bytes: run.vms.reduce((n, v) => n + v.result.ram.transferred, 0),
  };
}
