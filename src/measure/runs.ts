// From measured files to runs, and from a run to its figures. Within a group of files (one
// directory, or the files named on the command line), taken in name order, the i-th source
// trace pairs with the i-th destination trace, and the i-th ping/prober log and i-th
// query-migrate reply join that run.

import { baseName, downtime, guestVisibleDowntime, serviceDowntime, type Derived, type LabelledTrace } from "./definitions.js";
import { figureNames, figuresOfResult, headlineFigures, type Figure, type FigureName, type ResultFields } from "./figures.js";
import type { MeasuredFile } from "./load.js";
import type { ProbeLog } from "./probe-log.js";
import type { QueryMigrate } from "./query-migrate.js";
import { traceMigration } from "./trace-migration.js";

export interface FileGroup {
  label: string;
  files: MeasuredFile[];
}

export interface Run {
  label: string;
  source?: LabelledTrace;
  destination?: LabelledTrace;
  probe?: { file: string; log: ProbeLog };
  queryMigrate?: { file: string; queryMigrate: QueryMigrate };
  prediction?: { file: string; variant: string; result: ResultFields };
  /** A trace that is neither a source nor a destination: reported, not used. */
  unusedTrace?: string;
  /** What each file is, for the report: "source trace (vhost_vdpa_suspend at line 31)". */
  files: { file: string; what: string }[];
}

export interface RunAnalysis {
  label: string;
  files: { file: string; what: string }[];
  status?: string;
  figures: Figure[];
  /** About the run as a whole (QEMU's warnings, blocked reasons). */
  notes: string[];
}

export interface AnalyzeOptions {
  /** How far the destination host's clock is ahead of the source's, ms. */
  clockOffsetMs?: number;
  /** The probing interval, ms, when a ping log cannot tell. */
  intervalMs?: number;
}

export function runsOf(group: FileGroup): { runs: Run[]; notes: string[] } {
  const notes: string[] = [];
  const of = <K extends MeasuredFile["kind"]>(kind: K) => group.files.filter((f): f is Extract<MeasuredFile, { kind: K }> => f.kind === kind);
  const traces = of("trace");
  const sources = traces.filter((t) => t.role.role === "source");
  const destinations = traces.filter((t) => t.role.role === "destination");
  const unknowns = traces.filter((t) => t.role.role === "unknown");
  const probes = of("probe");
  const replies = of("query-migrate");
  const predictions = of("prediction");

  const counts = [sources.length, destinations.length, probes.length, replies.length];
  const n = Math.max(...counts, unknowns.length);
  const present = counts.filter((c) => c > 0);
  if (present.some((c) => c !== present[0])) {
    notes.push(
      `${group.label}: ${sources.length} source trace(s), ${destinations.length} destination trace(s), ` +
        `${probes.length} ping/prober log(s), ${replies.length} query-migrate file(s): joined into runs by name order`,
    );
  }
  const total = n + predictions.length;
  const label = (i: number) => (total > 1 ? `${group.label} [${i + 1}]` : group.label);
  const runs: Run[] = [];
  for (let i = 0; i < n; i++) {
    const run: Run = { label: label(i), files: [] };
    const src = sources[i];
    const dst = destinations[i];
    if (src) {
      run.source = { file: src.file, trace: src.trace };
      run.files.push({ file: src.file, what: `source trace (${src.role.because})` });
    }
    if (dst) {
      run.destination = { file: dst.file, trace: dst.trace };
      run.files.push({ file: dst.file, what: `destination trace (${dst.role.because})` });
    }
    if (unknowns[i]) {
      run.unusedTrace = unknowns[i].file;
      run.files.push({ file: unknowns[i].file, what: `trace of neither end (${unknowns[i].role.because}): not used` });
    }
    if (probes[i]) {
      run.probe = { file: probes[i].file, log: probes[i].log };
      const replied = probes[i].log.probes.filter((p) => p.answered).length;
      run.files.push({ file: probes[i].file, what: `${probes[i].log.format} log, ${replied} replies` });
    }
    if (replies[i]) {
      run.queryMigrate = { file: replies[i].file, queryMigrate: replies[i].queryMigrate };
      const count = replies[i].queryMigrate.replies.length;
      run.files.push({ file: replies[i].file, what: count === 1 ? "query-migrate reply" : `${count} query-migrate replies (the last one counts)` });
    }
    runs.push(run);
  }
  predictions.forEach((p, i) => {
    runs.push({
      label: label(n + i),
      prediction: { file: p.file, variant: p.variant, result: p.result },
      files: [{ file: p.file, what: `livemig simulate prediction, variant ${p.variant}` }],
    });
  });
  return { runs, notes };
}

/** What a query-migrate reply adds to the figures the traces and logs give. */
const QEMU_COUNTERS = new Set<FigureName>(["total-time", "setup-time", "dirty-sync-count", "transferred"]);

const fromDerived = (name: FigureName, d: Derived): Figure =>
  d.ok ? { name, value: d.ms, how: d.how, notes: d.notes } : { name, why: d.why };

export function analyzeRun(run: Run, options: AnalyzeOptions = {}): RunAnalysis {
  const offset = options.clockOffsetMs ?? 0;
  if (run.prediction) {
    const { variant, result } = run.prediction;
    const figures = figuresOfResult(result, `predicted by livemig simulate (variant ${variant})`);
    for (const name of headlineFigures) {
      if (!figures.some((f) => f.name === name)) figures.push({ name, why: "not in this prediction" });
    }
    return { label: run.label, files: run.files, status: result.status, figures: ordered(figures), notes: [...(result.warnings ?? [])] };
  }

  const figures: Figure[] = [];
  const hasTraces = run.source !== undefined || run.destination !== undefined || run.unusedTrace !== undefined;
  figures.push(
    hasTraces
      ? fromDerived("guest-visible-downtime", guestVisibleDowntime(run.source, run.destination, offset))
      : { name: "guest-visible-downtime", why: "needs the source and destination QEMU traces (vhost_vdpa_* events)" },
  );
  const reported = run.queryMigrate && { file: run.queryMigrate.file, result: run.queryMigrate.queryMigrate.result };
  figures.push(
    hasTraces || reported
      ? fromDerived("downtime", downtime({ source: run.source, destination: run.destination, reported }, offset))
      : { name: "downtime", why: "needs QEMU traces with downtime checkpoints, or a query-migrate reply" },
  );
  if (run.probe) {
    const given = options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : undefined;
    const service = serviceDowntime(run.probe.file, run.probe.log, given);
    figures.push(fromDerived("service-downtime", service.downtime));
    const interval = service.intervalMs !== undefined ? `, interval ${service.intervalMs} ms` : "";
    figures.push({ name: "lost-replies", value: service.lostReplies, how: `of ${service.sent} probes sent (${baseName(run.probe.file)})${interval}`, notes: [] });
  } else {
    figures.push({ name: "service-downtime", why: "needs a ping -D, ping or livemig prober log" });
  }

  let status: string | undefined;
  const notes: string[] = [];
  if (reported) {
    const result = reported.result;
    status = result.status;
    const how = `reported by query-migrate (${baseName(reported.file)})`;
    for (const f of figuresOfResult(result, how)) {
      if (QEMU_COUNTERS.has(f.name)) figures.push(f);
    }
    if (result["error-desc"]) notes.push(`migration ${result.status}: ${result["error-desc"]}`);
    notes.push(...result.warnings);
  } else if (run.source) {
    const m = traceMigration(run.source.trace);
    status = m.status;
    const file = baseName(run.source.file);
    const where = (a?: number, b?: number) => `migrate_set_state (${file}:${a} -> ${file}:${b})`;
    if (m.totalTime !== undefined) figures.push({ name: "total-time", value: m.totalTime, how: where(m.lines.setup, m.lines.end), notes: [] });
    if (m.setupTime !== undefined) figures.push({ name: "setup-time", value: m.setupTime, how: where(m.lines.setup, m.lines.active), notes: [] });
    if (m.dirtySyncCount > 0) figures.push({ name: "dirty-sync-count", value: m.dirtySyncCount, how: `migration_bitmap_sync_end records (${file})`, notes: [] });
  }
  const analysis: RunAnalysis = { label: run.label, files: run.files, figures: ordered(figures), notes };
  if (status !== undefined) analysis.status = status;
  return analysis;
}

function ordered(figures: Figure[]): Figure[] {
  return [...figures].sort((a, b) => figureNames.indexOf(a.name) - figureNames.indexOf(b.name));
}
