// What `livemig analyze` and `livemig compare` do (src/cli/analyze.ts declares them): loaded
// only when one of them runs.

import { compareRuns, summarizeRuns } from "../measure/compare.js";
import { expandArguments, InputError, readText } from "../measure/files.js";
import { loadText } from "../measure/load.js";
import { firstError, located, summarizeWarnings } from "../measure/problems.js";
import { comparisonReport, runReport, runsReport } from "../measure/render.js";
import { analyzeRun, runsOf, type AnalyzeOptions, type FileGroup, type RunAnalysis } from "../measure/runs.js";
import { UsageError } from "./errors.js";
import { writeHtml } from "./simulate.js";
import type { MeasureOptions } from "./analyze.js";
import type { PassRecord } from "../core/result.js";
import type { MeasuredGroup } from "../report/html/measured.js";

/** Reads, recognises and parses every file; a file that is not what it claims ends the command. */
function loadGroups(args: string[]): { groups: FileGroup[]; warnings: string[] } {
  const groups: FileGroup[] = [];
  const warnings: string[] = [];
  for (const input of expandArguments(args)) {
    const group: FileGroup = { label: input.label, files: [] };
    for (const entry of input.entries) {
      const loaded = loadText(entry.path, readText(entry.path), entry.variant);
      const bad = firstError(loaded.problems);
      if (!loaded.recognized && !entry.explicit) {
        warnings.push(`${entry.path}: skipped: ${bad?.message ?? "not a file livemig reads"}`);
        continue;
      }
      if (bad) throw new UsageError(located(entry.path, bad));
      warnings.push(...summarizeWarnings(entry.path, loaded.problems));
      group.files.push(...loaded.files);
    }
    if (group.files.length > 0) groups.push(group);
  }
  return { groups, warnings };
}

type PassSeries = NonNullable<MeasuredGroup["passes"]>;

export function analyzeArguments(args: string[], options: AnalyzeOptions): { runs: RunAnalysis[]; passes: PassSeries; notes: string[]; warnings: string[] } {
  const { groups, warnings } = loadGroups(args);
  const runs: RunAnalysis[] = [];
  const passes: PassSeries = [];
  const notes: string[] = [];
  for (const group of groups) {
    const grouped = runsOf(group);
    notes.push(...grouped.notes);
    runs.push(...grouped.runs.map((r) => analyzeRun(r, options)));
    // The runs whose result has per-pass records (polled query-migrate, a prediction), for the overlaid plot.
    for (const r of grouped.runs) {
      const result = (r.prediction?.result ?? r.queryMigrate?.queryMigrate.result) as { passes?: PassRecord[] } | undefined;
      if (result?.passes?.length) passes.push({ run: r.label, passes: result.passes });
    }
  }
  if (runs.length === 0) throw new UsageError(`${args.join(" ")}: nothing to analyze (no trace, ping, prober, query-migrate or simulate file)`);
  const variants = new Set(groups.flatMap((g) => g.files.flatMap((f) => (f.kind === "prediction" ? [f.variant] : []))));
  if (variants.size > 1) notes.push(`pooling predictions of different variants (${[...variants].join(", ")})`);
  return { runs, passes, notes, warnings };
}

/** InputError is the file layer's; the command reports it like any other user error. */
function asUsageErrors<T>(work: () => T): T {
  try {
    return work();
  } catch (e) {
    if (e instanceof InputError) throw new UsageError(e.message);
    throw e;
  }
}

const writeWarnings = (warnings: string[]) => {
  for (const w of warnings) process.stderr.write(`livemig: note: ${w}\n`);
};

function analyzeOptions(opts: MeasureOptions): AnalyzeOptions {
  const out: AnalyzeOptions = {};
  if (opts.clockOffset !== undefined) out.clockOffsetMs = opts.clockOffset;
  if (opts.interval !== undefined) out.intervalMs = opts.interval;
  return out;
}

/** `livemig analyze FILES...`. */
export async function analyzeCommand(files: string[], opts: MeasureOptions): Promise<void> {
  const { runs, passes, notes, warnings } = asUsageErrors(() => analyzeArguments(files, analyzeOptions(opts)));
  const summary = summarizeRuns(runs);
  if (opts.html) await writeHtml(opts.html, { title: `livemig analyze ${files.join(" ")}`, runs: [], measured: [{ label: "runs", runs, passes }] });
  if (opts.json) {
    process.stdout.write(JSON.stringify({ runs, summary, notes, warnings }) + "\n");
    return;
  }
  writeWarnings(warnings);
  const text = runs.length === 1 ? runReport(runs[0]) : runsReport(runs, summary);
  process.stdout.write(text + "\n");
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
}

/** `livemig compare A B`. */
export async function compareCommand(a: string, b: string, opts: MeasureOptions): Promise<void> {
  const options = analyzeOptions(opts);
  const setA = asUsageErrors(() => analyzeArguments([a], options));
  const setB = asUsageErrors(() => analyzeArguments([b], options));
  const comparison = compareRuns(setA.runs, setB.runs);
  const warnings = [...setA.warnings, ...setB.warnings];
  if (opts.html) {
    const measured = [{ label: a, runs: setA.runs, passes: setA.passes }, { label: b, runs: setB.runs, passes: setB.passes }];
    await writeHtml(opts.html, { title: `livemig compare ${a} ${b}`, runs: [], measured, comparison: { a, b, rows: comparison.rows } });
  }
  if (opts.json) {
    const side = (label: string, set: typeof setA) => ({ label, runs: set.runs.length, notes: set.notes });
    process.stdout.write(JSON.stringify({ a: side(a, setA), b: side(b, setB), ...comparison, warnings }) + "\n");
    return;
  }
  writeWarnings(warnings);
  process.stdout.write(comparisonReport(a, b, setA.runs.length, setB.runs.length, comparison) + "\n");
  for (const n of [...setA.notes, ...setB.notes]) process.stdout.write(`note: ${n}\n`);
}
