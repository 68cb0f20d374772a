// Terminal tables of results: one row per variant, and the seed-style comparison line.

import Table from "cli-table3";
import { formatBytes as bytes, formatMs as seconds } from "../core/format.js";
import { formatDowntime, type MigrationResult } from "../core/result.js";

export { bytes, seconds };

export interface NamedResult {
  variant: string;
  result: MigrationResult;
}

export function resultTable(runs: NamedResult[]): string {
  const table = new Table({
    head: ["variant", "status", "total", "setup", "downtime", "guest-visible", "service", "transferred", "passes", "throttle", "stale pages"],
    style: { head: [], border: [] },
  });
  for (const { variant, result: r } of runs) {
    table.push([
      variant,
      r.status,
      seconds(r["total-time"]),
      setupCell(r),
      formatDowntime(r),
      seconds(r["guest-visible-downtime"]),
      seconds(r["service-downtime"]),
      bytes(r.ram.transferred),
      String(r.ram["dirty-sync-count"]),
      `${r["cpu-throttle-percentage"]} %`,
      r["stale-pages"] > 0 ? `${r["stale-pages"]} UNSAFE` : "0",
    ]);
  }
  return table.toString();
}

export function breakdownTable(runs: NamedResult[]): string {
  const components = [...new Set(runs.flatMap((r) => Object.keys(r.result["downtime-breakdown"] ?? {})))];
  if (components.length === 0) return "";
  const table = new Table({ head: ["downtime breakdown (ms)", ...runs.map((r) => r.variant)], style: { head: [], border: [] } });
  for (const c of components) {
    // A run that never stopped its guest has no breakdown: "-", not zeros.
    table.push([c, ...runs.map((r) => (r.result["downtime-breakdown"] ? (r.result["downtime-breakdown"][c] ?? 0).toFixed(1) : "-"))]);
  }
  return table.toString();
}

/** What `info migrate` shows beside the times: the last estimate of the downtime and the rates. */
export function ratesTable(runs: NamedResult[]): string {
  const table = new Table({ head: ["variant", "expected-downtime", "mbps", "pages-per-second", "dirty-pages-rate"], style: { head: [], border: [] } });
  for (const { variant, result: r } of runs) {
    // A run refused before it started has no rates: "-", not zeros.
    if (!started(r)) table.push([variant, "-", "-", "-", "-"]);
    else table.push([variant, seconds(r["expected-downtime"]), r.ram.mbps.toFixed(1), String(r.ram["pages-per-second"]), String(r.ram["dirty-pages-rate"])]);
  }
  return table.toString();
}

/** Whether a run got past its setup: one that failed before (a blocked or refused device) has no setup time, rates or mode figures to show. */
export function started(r: MigrationResult): boolean {
  return r.status !== "failed" || r.timeline.some((e) => e.kind === "setup-done");
}

function setupCell(r: MigrationResult): string {
  return started(r) ? seconds(r["setup-time"]) : "-";
}

/** "downtime 4.72 s -> 2.09 s (-2.63 s, -56 %)"; no percentage of a zero. */
export function changeLine(label: string, before: number, after: number, format: (x: number) => string = seconds): string {
  const d = after - before;
  const pct = before !== 0 ? `${Math.round((d / before) * 100) > 0 ? "+" : ""}${Math.round((d / before) * 100)} %` : "-";
  const sign = d > 0 ? "+" : d < 0 ? "-" : "±";
  return `${label} ${format(before)} -> ${format(after)} (${sign}${format(Math.abs(d))}, ${pct})`;
}

export const comparedFigures = ["guest-visible-downtime", "downtime", "service-downtime", "total-time"] as const;

/**
 * The seed-style lines of `after` against `before`, prefixed "A -> B: ". A failed run did
 * not finish: its times are not comparable, so the lines say so instead of comparing them.
 */
export function comparisonLines(prefix: string, before: NamedResult, after: NamedResult, figures: readonly (typeof comparedFigures)[number][] = comparedFigures): string[] {
  const failed = [before, after].filter((r) => r.result.status === "failed");
  if (failed.length > 0) {
    // The reason is on stderr and in the result: the line only says why there is no figure.
    return [`${prefix}: not compared: ${failed.map((r) => r.variant).join(" and ")} failed`];
  }
  return figures.flatMap((key) => {
    const a = before.result[key];
    const b = after.result[key];
    return a !== undefined && b !== undefined ? [`${prefix}: ${changeLine(key, a, b)}`] : [];
  });
}
