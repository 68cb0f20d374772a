// Measured runs beside the simulator's prediction, per variant: the one way `livemig run
// --predict` and `livemig qemu --predict` print it.

import type { MigrationResult } from "../core/result.js";
import { figuresOfResult, unitOf, type FigureName } from "../measure/figures.js";
import { formatValue } from "../measure/render.js";
import { median } from "../measure/stats.js";

export interface VariantPrediction {
  variant: string;
  /** Every measured run of the variant (one for `run`, --runs N for `qemu`). */
  measured: MigrationResult[];
  /** The prediction, or one per measured run (each at its run's measured rates): compared by their median. */
  predicted: MigrationResult[];
  /** What the prediction was made at, when it is not simply the scenario (qemu: the achieved write rate). */
  at?: string;
}

const compared: FigureName[] = ["total-time", "setup-time", "downtime", "guest-visible-downtime", "service-downtime", "dirty-sync-count", "transferred"];

export const converged = (r: MigrationResult) => r.status === "completed" || r.status === "completed-unsafe";

function verdict(results: MigrationResult[]): string {
  const yes = results.filter(converged).length;
  return yes === results.length ? "yes" : yes === 0 ? "no" : `${yes} of ${results.length}`;
}

/** A figure's values over the results that have it. */
function valuesOf(results: MigrationResult[], name: FigureName): number[] {
  return results.flatMap((r) => figuresOfResult(r, "").filter((f) => f.name === name).map((f) => f.value as number));
}

/** A heading per variant, then a row per figure both sides have: measured (median), predicted, error. */
export function predictionReport(variants: VariantPrediction[]): string {
  const lines: string[] = [];
  for (const v of variants) {
    const measuredWhat = v.measured.length === 1 ? "measured" : `measured (median of ${v.measured.length})`;
    const predictedWhat = v.predicted.length === 1 ? "predicted" : `predicted (median of ${v.predicted.length}, one per run)`;
    lines.push(`${v.variant}: ${measuredWhat} vs ${predictedWhat}${v.at ? ` (at ${v.at})` : ""}; converged: measured ${verdict(v.measured)}, predicted ${verdict(v.predicted)}`);
    for (const name of compared) {
      const measured = valuesOf(v.measured, name);
      const predictions = valuesOf(v.predicted, name);
      if (measured.length === 0 || predictions.length === 0) continue;
      const m = median(measured);
      const predicted = median(predictions);
      const err = m !== 0 ? `${(((predicted - m) / m) * 100).toFixed(0)} %` : "-";
      lines.push(`  ${name.padEnd(22)} ${formatValue(m, unitOf[name]).padStart(10)}  ${formatValue(predicted, unitOf[name]).padStart(10)}  ${err}`);
    }
  }
  return lines.join("\n");
}
