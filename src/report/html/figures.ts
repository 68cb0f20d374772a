// Tables and bars of figures the result already holds: the downtime breakdown per run, the
// three downtimes, and the query-migrate-shaped fields. Nothing here is recomputed.

import { formatBytes, formatMs } from "../../core/format.js";
import { formatDowntime, type MigrationResult } from "../../core/result.js";

export interface NamedRun {
  /** The column or bar name: a variant, "base (predicted)", a measured run's label. */
  name: string;
  result: MigrationResult;
}

export interface BreakdownRow {
  run: string;
  component: string;
  ms: number;
}

/** One row per run and component, in the runs' order; a run without a downtime has none. */
export function breakdownRows(runs: NamedRun[]): BreakdownRow[] {
  return runs.flatMap(({ name, result }) =>
    Object.entries(result["downtime-breakdown"] ?? {})
      .filter(([, ms]) => ms > 0)
      .map(([component, ms]) => ({ run: name, component, ms })),
  );
}

export const downtimeNames = ["downtime", "guest-visible-downtime", "service-downtime"] as const;

export interface DowntimeRow {
  run: string;
  figure: (typeof downtimeNames)[number];
  ms: number;
}

export function downtimeRows(runs: NamedRun[]): DowntimeRow[] {
  return runs.flatMap(({ name, result }) =>
    downtimeNames.flatMap((figure) => (result[figure] !== undefined ? [{ run: name, figure, ms: result[figure] as number }] : [])),
  );
}

/** The downtime-limits the runs were given, each once: drawn as lines over the downtimes. */
export function downtimeLimits(runs: NamedRun[]): number[] {
  return [...new Set(runs.flatMap(({ result }) => (result.parameters ? [result.parameters["downtime-limit"]] : [])))];
}

type Format = (r: MigrationResult) => string;
const ms = (get: (r: MigrationResult) => number | undefined): Format => (r) => formatMs(get(r));
const bytes = (get: (r: MigrationResult) => number): Format => (r) => formatBytes(get(r));
const count = (get: (r: MigrationResult) => number | undefined): Format => (r) => {
  const v = get(r);
  return v === undefined ? "-" : String(v);
};

/** query-migrate's fields (and livemig's), with QEMU's names, in QEMU's order. */
export const queryMigrateFields: [string, Format][] = [
  ["status", (r) => r.status],
  ["total-time", ms((r) => r["total-time"])],
  ["setup-time", ms((r) => r["setup-time"])],
  ["downtime", formatDowntime],
  ["expected-downtime", ms((r) => r["expected-downtime"])],
  ["guest-visible-downtime", ms((r) => r["guest-visible-downtime"])],
  ["service-downtime", ms((r) => r["service-downtime"])],
  ["ram.transferred", bytes((r) => r.ram.transferred)],
  ["ram.remaining", bytes((r) => r.ram.remaining)],
  ["ram.total", bytes((r) => r.ram.total)],
  ["ram.duplicate", count((r) => r.ram.duplicate)],
  ["ram.normal", count((r) => r.ram.normal)],
  ["ram.normal-bytes", bytes((r) => r.ram["normal-bytes"])],
  ["ram.dirty-sync-count", count((r) => r.ram["dirty-sync-count"])],
  ["ram.mbps", count((r) => r.ram.mbps)],
  ["ram.pages-per-second", count((r) => r.ram["pages-per-second"])],
  ["ram.dirty-pages-rate", count((r) => r.ram["dirty-pages-rate"])],
  ["ram.precopy-bytes", bytes((r) => r.ram["precopy-bytes"])],
  ["ram.downtime-bytes", bytes((r) => r.ram["downtime-bytes"])],
  ["cpu-throttle-percentage", count((r) => r["cpu-throttle-percentage"])],
  ["network.lost-replies", count((r) => r.network?.["lost-replies"])],
  ["network.degraded-time", ms((r) => r.network?.["degraded-time"])],
  ["stale-pages", (r) => (r["stale-pages"] > 0 ? `${r["stale-pages"]} UNSAFE` : "0")],
  ["error-desc", (r) => r["error-desc"] ?? "-"],
  ["blocked-reasons", (r) => r["blocked-reasons"]?.join("; ") ?? "-"],
  ["downtime-limit", ms((r) => r.parameters?.["downtime-limit"])],
  ["cpu-throttle-initial", count((r) => r.parameters?.["cpu-throttle-initial"])],
  ["cpu-throttle-increment", count((r) => r.parameters?.["cpu-throttle-increment"])],
  ["cpu-throttle-tailslow", (r) => (r.parameters ? String(r.parameters["cpu-throttle-tailslow"]) : "-")],
  ["max-cpu-throttle", count((r) => r.parameters?.["max-cpu-throttle"])],
];

/** Rows of [field, value per run]. */
export function queryMigrateTable(runs: NamedRun[]): { head: string[]; rows: string[][] } {
  return {
    head: ["field", ...runs.map((r) => r.name)],
    rows: queryMigrateFields.map(([field, format]) => [field, ...runs.map((r) => format(r.result))]),
  };
}
