// Terminal tables of results: one row per variant, and the seed-style comparison line.

import Table from "cli-table3";
import { formatBytes as bytes, formatMs as seconds } from "../core/format.js";
import type { MigrationResult } from "../core/result.js";

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
      seconds(r["setup-time"]),
      seconds(r.downtime),
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
    table.push([c, ...runs.map((r) => (r.result["downtime-breakdown"]?.[c] ?? 0).toFixed(1))]);
  }
  return table.toString();
}

/** "downtime 4.72 s -> 2.09 s (-2.63 s, -56 %)" */
export function changeLine(label: string, before: number, after: number): string {
  const d = after - before;
  const pct = before !== 0 ? Math.round((d / before) * 100) : 0;
  const sign = d > 0 ? "+" : d < 0 ? "-" : "±";
  return `${label} ${seconds(before)} -> ${seconds(after)} (${sign}${seconds(Math.abs(d))}, ${pct > 0 ? "+" : ""}${pct} %)`;
}
