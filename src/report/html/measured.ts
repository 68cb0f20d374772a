// Measured runs (livemig analyze/compare): they carry figures, not a timeline, so the report
// shows each run's three downtimes as points per group, and the figures with their sources.

import type { TopLevelSpec } from "vega-lite";
import type { FigureComparison } from "../../measure/compare.js";
import { headlineFigures } from "../../measure/figures.js";
import type { RunAnalysis } from "../../measure/runs.js";
import type { PassRecord } from "../../core/result.js";

export interface MeasuredGroup {
  label: string;
  runs: RunAnalysis[];
  /** The per-pass records of the runs that have them (query-migrate polls, predictions), by run. */
  passes?: { run: string; passes: PassRecord[] }[];
}

export interface OverlayPoint {
  group: string;
  run: string;
  /** Seconds since the migration started, and MiB still dirty at that sync. */
  ts: number;
  mib: number;
}

/** Every run's remaining dirty memory per sync, for one plot of all of them. */
export function overlayPoints(groups: MeasuredGroup[]): OverlayPoint[] {
  return groups.flatMap((g) =>
    (g.passes ?? []).flatMap(({ run, passes }) => passes.map((p) => ({ group: g.label, run, ts: p.t / 1000, mib: p["remaining-bytes"] / 2 ** 20 }))),
  );
}

/** The runs of both sides overlaid: remaining dirty memory over time, a line per run, a colour per side. */
export function overlaySpec(title: string, points: OverlayPoint[]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 700,
    height: 260,
    config: { font: "Helvetica, Arial, sans-serif" },
    data: { values: points },
    mark: { type: "line", point: true, opacity: 0.8 },
    encoding: {
      x: { field: "ts", type: "quantitative", title: "seconds since the migration started" },
      y: { field: "mib", type: "quantitative", title: "MiB still dirty at each sync (symlog scale)", scale: { type: "symlog" } },
      color: { field: "group", type: "nominal", title: "runs", scale: { scheme: "tableau10" }, legend: { orient: "bottom", labelLimit: 600 } },
      detail: { field: "run", type: "nominal" },
      tooltip: [{ field: "group" }, { field: "run" }, { field: "ts", title: "s" }, { field: "mib", format: ".1f", title: "MiB" }],
    },
  };
}

export interface MeasuredComparison {
  a: string;
  b: string;
  rows: FigureComparison[];
}

export interface MeasuredPoint {
  group: string;
  run: string;
  figure: string;
  ms: number;
}

export function measuredPoints(groups: MeasuredGroup[]): MeasuredPoint[] {
  return groups.flatMap((g) =>
    g.runs.flatMap((run) =>
      run.figures.flatMap((f) =>
        headlineFigures.includes(f.name) && f.value !== undefined ? [{ group: g.label, run: run.label, figure: f.name, ms: f.value }] : [],
      ),
    ),
  );
}

export function measuredSpec(title: string, points: MeasuredPoint[]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 700,
    config: { font: "Helvetica, Arial, sans-serif" },
    data: { values: points },
    layer: [
      {
        mark: { type: "point", filled: true, size: 70, opacity: 0.8 },
        encoding: {
          y: { field: "figure", type: "nominal", title: null, sort: [...headlineFigures] },
          yOffset: { field: "group", type: "nominal" },
          x: { field: "ms", type: "quantitative", title: "ms", scale: { zero: true } },
          color: { field: "group", type: "nominal", title: "runs", scale: { scheme: "tableau10" } },
          tooltip: [{ field: "run" }, { field: "figure" }, { field: "ms" }],
        },
      },
      {
        mark: { type: "tick", thickness: 2, color: "black" },
        encoding: {
          y: { field: "figure", type: "nominal", sort: [...headlineFigures] },
          yOffset: { field: "group", type: "nominal" },
          x: { field: "ms", type: "quantitative", aggregate: "median" },
        },
      },
    ],
  };
}
