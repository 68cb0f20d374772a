// Which plots a set of runs gets: the side-by-side ones, then each run's own. Shared by the
// HTML report (rendered to SVG) and the what-if page (drawn in the browser).

import type { TopLevelSpec } from "vega-lite";
import { breakdownRows, downtimeLimits, downtimeRows, type NamedRun } from "./figures.js";
import { passRows, throttleRows } from "./passes.js";
import { categoryOrder, phaseBars, phaseMarks, switchOverRange } from "./phases.js";
import { proberSeries } from "./prober.js";
import { breakdownSpec, downtimesSpec, passesSpec, proberSpec, throttleSpec, timelineSpec } from "./specs.js";

export type ChartKind = "downtimes" | "breakdown" | "timeline" | "switch-over" | "passes" | "throttle" | "prober";

export interface Chart {
  kind: ChartKind;
  spec: TopLevelSpec;
}

/** The colour order of phases and components over all the runs of a report. */
export function categoriesOf(runs: NamedRun[]): string[] {
  const order = categoryOrder(runs.flatMap((r) => phaseBars(r.result)));
  // Time in the downtime that no span covers is "other": it needs a colour too.
  const extra = breakdownRows(runs).map((b) => b.component).filter((c) => !order.includes(c));
  return [...order, ...new Set(extra)];
}

export function summaryCharts(runs: NamedRun[], categories = categoriesOf(runs)): Chart[] {
  const order = runs.map((r) => r.name);
  const charts: Chart[] = [];
  const downtimes = downtimeRows(runs);
  if (downtimes.length > 0) charts.push({ kind: "downtimes", spec: downtimesSpec("The three downtimes", downtimes, order, downtimeLimits(runs)) });
  const breakdown = breakdownRows(runs);
  if (breakdown.length > 0) charts.push({ kind: "breakdown", spec: breakdownSpec("Where the downtime goes", breakdown, order, categories) });
  return charts;
}

/** A run's heading; a run that was blocked says so, since it has nothing to plot. */
export function runHeading({ name, result }: NamedRun): string {
  const blocked = result["blocked-reasons"];
  return blocked ? `${name}: blocked, nothing was sent: ${blocked.join("; ")}` : `${name}: ${result.status}`;
}

export function runCharts({ name, result }: NamedRun, categories: string[]): Chart[] {
  const charts: Chart[] = [];
  // A blocked migration never started: no phase, pass or downtime to draw (the heading says why).
  if (result["blocked-reasons"]) return charts;
  const bars = phaseBars(result);
  const marks = phaseMarks(result);
  charts.push({ kind: "timeline", spec: timelineSpec(`${name}: phases`, bars, marks, categories) });
  const range = switchOverRange(result);
  if (range) charts.push({ kind: "switch-over", spec: timelineSpec(`${name}: the switch-over`, bars, marks, categories, range) });
  if (result.passes.length > 0) charts.push({ kind: "passes", spec: passesSpec(`${name}: remaining dirty memory and bandwidth per pass`, passRows(result)) });
  const throttle = throttleRows(result);
  if (throttle.length > 0) charts.push({ kind: "throttle", spec: throttleSpec(`${name}: auto-converge's throttle`, throttle) });
  const prober = proberSeries(result);
  if (prober) charts.push({ kind: "prober", spec: proberSpec(`${name}: prober replies`, prober) });
  return charts;
}
