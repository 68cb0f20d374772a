// `--html FILE`: one self-contained HTML report of predicted, live or measured runs.

import { writeFileSync } from "node:fs";
import type { MigrationResult } from "../../core/result.js";
import { categoriesOf, runCharts, runHeading, summaryCharts } from "./charts.js";
import { queryMigrateTable, type NamedRun } from "./figures.js";
import { measuredPoints, measuredSpec, overlayPoints, overlaySpec, type MeasuredComparison, type MeasuredGroup } from "./measured.js";
import { comparisonHtml, documentHtml, escapeHtml, measuredTablesHtml, plotHtml, tableHtml, warningsHtml, windowsHtml } from "./page.js";
import { specToSvg } from "./svg.js";
import { downtimeWindows } from "./windows.js";

export type { MeasuredComparison, MeasuredGroup } from "./measured.js";

export interface ReportRun {
  variant: string;
  result: MigrationResult;
  /** The simulator's prediction for the same configuration, laid beside a live or measured run. */
  predicted?: MigrationResult;
}

export interface ReportInput {
  title: string;
  runs: ReportRun[];
  /** Measured runs (analyze, compare): figures without a timeline. */
  measured?: MeasuredGroup[];
  comparison?: MeasuredComparison;
}

/** Each run, then its prediction when it has one, as named columns and bars. */
export function namedRuns(runs: ReportRun[]): NamedRun[] {
  return runs.flatMap((r) => [
    { name: r.variant, result: r.result },
    ...(r.predicted ? [{ name: `${r.variant} (predicted)`, result: r.predicted }] : []),
  ]);
}

export async function renderHtmlReport(input: ReportInput): Promise<string> {
  const named = namedRuns(input.runs);
  const parts: string[] = [warningsHtml(named)];
  const categories = categoriesOf(named);
  if (named.length > 0) {
    const summary: string[] = [];
    for (const c of summaryCharts(named, categories)) summary.push(plotHtml(c.kind, await specToSvg(c.spec)));
    const table = queryMigrateTable(named);
    parts.push(`<h2>All runs</h2><div class="plots">${summary.join("\n")}</div>`, `<h3>query-migrate</h3>${tableHtml(table.head, table.rows)}`);
  }
  for (const run of named) {
    const plots: string[] = [];
    for (const c of runCharts(run, categories)) plots.push(plotHtml(c.kind, await specToSvg(c.spec)));
    parts.push(
      `<section class="run" data-run="${escapeHtml(run.name)}"><h2>${escapeHtml(runHeading(run))}</h2>`,
      windowsHtml(downtimeWindows(run.result)),
      `<div class="plots">${plots.join("\n")}</div></section>`,
    );
  }
  if (input.measured && input.measured.length > 0) {
    const points = measuredPoints(input.measured);
    parts.push(`<h2>Measured runs</h2>`);
    if (points.length > 0) parts.push(plotHtml("measured", await specToSvg(measuredSpec("The three downtimes, per run (tick: median)", points))));
    const overlay = overlayPoints(input.measured);
    if (overlay.length > 0) parts.push(plotHtml("overlay", await specToSvg(overlaySpec("Remaining dirty memory per sync, every run overlaid", overlay))));
    if (input.comparison) parts.push(`<h3>${escapeHtml(input.comparison.a)} -> ${escapeHtml(input.comparison.b)}</h3>`, comparisonHtml(input.comparison));
    parts.push(measuredTablesHtml(input.measured));
  }
  return documentHtml(input.title, parts.join("\n"));
}

export async function writeHtmlReport(file: string, input: ReportInput): Promise<void> {
  writeFileSync(file, await renderHtmlReport(input));
}
