// Measured runs (livemig analyze/compare): they carry figures, not a timeline, so the report
// shows each run's three downtimes as points per group, and the figures with their sources.

import type { TopLevelSpec } from "vega-lite";
import type { FigureComparison } from "../../measure/compare.js";
import { headlineFigures } from "../../measure/figures.js";
import type { RunAnalysis } from "../../measure/runs.js";

export interface MeasuredGroup {
  label: string;
  runs: RunAnalysis[];
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
