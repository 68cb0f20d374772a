// Figures over many runs, and two sets of runs side by side: medians, their bootstrap
// intervals, and whether the difference stands out from the run-to-run noise.

import { figureNames, unitOf, type FigureName, type Unit } from "./figures.js";
import type { RunAnalysis } from "./runs.js";
import { bootstrapMedianDifference, median, summarize, type Interval, type Summary } from "./stats.js";

export interface FigureSummary {
  name: FigureName;
  unit: Unit;
  summary?: Summary;
  /** Why runs lack this figure, each reason once. */
  missing: string[];
}

export function summarizeRuns(runs: RunAnalysis[]): FigureSummary[] {
  const out: FigureSummary[] = [];
  for (const name of figureNames) {
    const values: number[] = [];
    const missing = new Set<string>();
    let mentioned = false;
    for (const run of runs) {
      for (const f of run.figures) {
        if (f.name !== name) continue;
        mentioned = true;
        if (f.value !== undefined) values.push(f.value);
        else missing.add(f.why);
      }
    }
    if (!mentioned) continue;
    const s: FigureSummary = { name, unit: unitOf[name], missing: [...missing] };
    const summary = summarize(values);
    if (summary) s.summary = summary;
    out.push(s);
  }
  return out;
}

export interface FigureComparison {
  name: FigureName;
  unit: Unit;
  a: Summary;
  b: Summary;
  /** median(B) - median(A). */
  difference: number;
  /** Bootstrap interval of the difference of medians, from two runs on each side. */
  interval?: Interval;
  /** The interval excludes 0; undefined when there is no interval. */
  beyondNoise?: boolean;
}

export interface Comparison {
  rows: FigureComparison[];
  /** Figures only one side has. */
  unmatched: { name: FigureName; side: "A" | "B" }[];
}

export function compareRuns(a: RunAnalysis[], b: RunAnalysis[]): Comparison {
  const valuesOf = (runs: RunAnalysis[], name: FigureName) =>
    runs.flatMap((r) => r.figures.filter((f) => f.name === name && f.value !== undefined).map((f) => f.value as number));
  const rows: FigureComparison[] = [];
  const unmatched: Comparison["unmatched"] = [];
  for (const name of figureNames) {
    const va = valuesOf(a, name);
    const vb = valuesOf(b, name);
    if (va.length === 0 || vb.length === 0) {
      if (va.length > 0) unmatched.push({ name, side: "A" });
      if (vb.length > 0) unmatched.push({ name, side: "B" });
      continue;
    }
    const row: FigureComparison = {
      name,
      unit: unitOf[name],
      a: summarize(va)!,
      b: summarize(vb)!,
      difference: median(vb) - median(va),
    };
    const interval = bootstrapMedianDifference(va, vb);
    if (interval) {
      row.interval = interval;
      row.beyondNoise = interval.lo > 0 || interval.hi < 0;
    }
    rows.push(row);
  }
  return { rows, unmatched };
}
