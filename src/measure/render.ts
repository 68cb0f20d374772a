// Terminal output of `livemig analyze` and `livemig compare`.

import Table from "cli-table3";
import { bytes, changeLine, seconds } from "../report/table.js";
import type { Comparison, FigureComparison, FigureSummary } from "./compare.js";
import { unitOf, type Figure, type Unit } from "./figures.js";
import type { RunAnalysis } from "./runs.js";
import type { Interval } from "./stats.js";

const plain = { head: [] as string[], border: [] as string[] };

export function formatValue(value: number | undefined, unit: Unit): string {
  if (value === undefined) return "-";
  if (unit === "ms") return seconds(value);
  if (unit === "bytes") return bytes(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function formatInterval(interval: Interval | undefined, unit: Unit): string {
  return interval ? `[${formatValue(interval.lo, unit)}, ${formatValue(interval.hi, unit)}]` : "-";
}

/** One run: every figure with where it comes from, or why it cannot be derived. */
export function runReport(run: RunAnalysis): string {
  const lines = [`run ${run.label}${run.status ? ` (status ${run.status})` : ""}`];
  for (const f of run.files) lines.push(`  ${f.file}: ${f.what}`);
  const table = new Table({ head: ["figure", "value", "from"], style: plain, colWidths: [24, 12, 84], wordWrap: true });
  const notes: string[] = [];
  for (const f of run.figures) {
    table.push([f.name, formatValue(f.value, unitOf[f.name]), f.value !== undefined ? f.how : `cannot derive: ${f.why}`]);
    if (f.value !== undefined) notes.push(...f.notes.map((n) => `${f.name}: ${n}`));
  }
  lines.push(table.toString());
  for (const n of [...notes, ...run.notes]) lines.push(`note: ${n}`);
  return lines.join("\n");
}

const perRunColumns: { name: Figure["name"]; head: string }[] = [
  { name: "guest-visible-downtime", head: "guest-visible" },
  { name: "downtime", head: "downtime" },
  { name: "service-downtime", head: "service" },
  { name: "lost-replies", head: "lost" },
  { name: "total-time", head: "total" },
];

/** Many runs: a row per run, then median, p95, min, max and the median's interval per figure. */
export function runsReport(runs: RunAnalysis[], summaries: FigureSummary[]): string {
  const perRun = new Table({ head: ["run", "status", ...perRunColumns.map((c) => c.head)], style: plain });
  for (const run of runs) {
    const value = (name: Figure["name"]) => formatValue(run.figures.find((f) => f.name === name)?.value, unitOf[name]);
    perRun.push([run.label, run.status ?? "-", ...perRunColumns.map((c) => value(c.name))]);
  }
  const summary = new Table({ head: ["figure", "runs", "median", "p95", "min", "max", "95 % interval of the median"], style: plain });
  const missing: string[] = [];
  for (const s of summaries) {
    if (s.summary) {
      const v = (x: number) => formatValue(x, s.unit);
      summary.push([s.name, String(s.summary.runs), v(s.summary.median), v(s.summary.p95), v(s.summary.min), v(s.summary.max), formatInterval(s.summary.interval, s.unit)]);
    }
    const have = s.summary?.runs ?? 0;
    if (s.missing.length > 0) missing.push(`${s.name}: ${have} of ${runs.length} runs; the others: ${s.missing.join("; ")}`);
  }
  const out = [perRun.toString(), summary.toString()];
  if (missing.length) out.push(...missing.map((m) => `cannot derive ${m}`));
  return out.join("\n");
}

function changeOf(name: string, unit: Unit, before: number, after: number): string {
  return changeLine(name, before, after, (x) => formatValue(x, unit));
}

function verdict(row: FigureComparison): string {
  if (row.beyondNoise === undefined) {
    const one = row.a.runs < 2 ? "A" : "B";
    return `cannot tell: one run in ${one}`;
  }
  const few = Math.min(row.a.runs, row.b.runs) < 5 ? " (few runs)" : "";
  return (row.beyondNoise ? "yes: the interval excludes 0" : "no: the interval includes 0") + few;
}

/** The seed's lines ("4.72 s -> 2.09 s (-2.63 s, -56 %)"), then the intervals behind them. */
export function comparisonReport(labelA: string, labelB: string, runsA: number, runsB: number, comparison: Comparison): string {
  const plural = (n: number) => `${n} run${n === 1 ? "" : "s"}`;
  const out = [`A: ${labelA} (${plural(runsA)})`, `B: ${labelB} (${plural(runsB)})`];
  if (comparison.rows.length === 0) {
    out.push("no figure is in both sets");
  } else {
    for (const row of comparison.rows) out.push(changeOf(row.name, row.unit, row.a.median, row.b.median));
    const table = new Table({ head: ["figure", "A median [95 %]", "B median [95 %]", "B - A [95 %]", "larger than the noise?"], style: plain });
    for (const row of comparison.rows) {
      const cell = (value: number, interval: Interval | undefined) => `${formatValue(value, row.unit)} ${formatInterval(interval, row.unit)}`;
      const diff = `${row.difference < 0 ? "-" : "+"}${formatValue(Math.abs(row.difference), row.unit)} ${row.interval ? signedInterval(row.interval, row.unit) : "-"}`;
      table.push([row.name, cell(row.a.median, row.a.interval), cell(row.b.median, row.b.interval), diff, verdict(row)]);
    }
    out.push(table.toString());
  }
  for (const u of comparison.unmatched) out.push(`${u.name}: only in ${u.side}`);
  return out.join("\n");
}

function signedInterval(interval: Interval, unit: Unit): string {
  const signed = (x: number) => `${x < 0 ? "-" : x > 0 ? "+" : ""}${formatValue(Math.abs(x), unit)}`;
  return `[${signed(interval.lo)}, ${signed(interval.hi)}]`;
}
