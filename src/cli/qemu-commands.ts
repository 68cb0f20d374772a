// What `livemig qemu` and `livemig calibrate` do (src/cli/qemu.ts declares them): loaded
// only when one of them runs.

import { hostname } from "node:os";
import type { MigrationResult } from "../core/result.js";
import { summarizeRuns } from "../measure/compare.js";
import { figuresOfResult } from "../measure/figures.js";
import { formatValue, runsReport } from "../measure/render.js";
import type { RunAnalysis } from "../measure/runs.js";
import { CalibrationError, fitProfile, idleProblem, isIdle, type IdleRun } from "../qemu/calibrate.js";
import { fitMultifd, multifdRunProblem } from "../qemu/calibrate-multifd.js";
import { hostCores, laggingBufferBytes, socketBufferBytes } from "../qemu/host-limits.js";
import { GuestBuildError } from "../qemu/guest.js";
import { UnsupportedScenarioError } from "../qemu/plan.js";
import { figureLine, ProfileError, readProfile, writeProfile } from "../qemu/profile.js";
import { readRunsFile, RunsFileError, type MeasuredRun, type RunsFile } from "../qemu/runs-file.js";
import { runSession } from "../qemu/session.js";
import { bottleneckWait } from "../qemu/thread-times.js";
import { QemuMissingError, QemuRunError } from "../qemu/vm.js";
import { QmpCommandError, QmpConnectionError } from "../qemu/qmp.js";
import { UsageError, exitCodeOf, exitCodes } from "./errors.js";
import type { QemuOptions } from "./qemu.js";
import { checkReportTarget, readScenarioFile, writeHtml } from "./simulate.js";
import { predictionReport } from "../report/prediction.js";
import type { ReportInput } from "../report/html/index.js";

function analysisOf(run: MeasuredRun): RunAnalysis {
  return {
    label: `${run.variant} [${run.run}]`,
    files: [],
    status: run.result.status,
    figures: figuresOfResult(run.result, "measured by livemig qemu (query-migrate)"),
    notes: [...run.result.warnings],
  };
}

function runLine(run: MeasuredRun): string {
  const r = run.result;
  const g = run.guest;
  const rate = g["target-rate"] > 0 ? `, guest wrote ${(g["rate-during"] / 1000).toFixed(1)}k pages/s (asked ${(g["target-rate"] / 1000).toFixed(1)}k)` : "";
  const down = r.downtime !== undefined ? `, downtime ${formatValue(r.downtime, "ms")}` : "";
  const why = r["error-desc"] ? `: ${r["error-desc"]}` : "";
  const qemu = run.qemu?.match(/version (\S+)/)?.[1];
  // What `simulate --cpu-wait` takes to predict this host.
  const w = bottleneckWait(run);
  const wait = w !== undefined ? `; the migration's busiest thread waited for a CPU ${(w * 100).toFixed(0)} % of the run` : "";
  return `${run.variant} run ${run.run}: ${r.status}${why}; total ${formatValue(r["total-time"], "ms")}${down}, ${r.ram["dirty-sync-count"]} passes${rate}${qemu ? ` (QEMU ${qemu})` : ""}${wait}`;
}

/** Measured medians beside the prediction, per variant (the same report as run --predict). */
function qemuPredictions(file: RunsFile): string {
  return predictionReport(
    (file.predictions ?? []).map((p) => ({
      variant: p.variant,
      measured: file.runs.filter((r) => r.variant === p.variant).map((r) => r.result),
      predicted: [p.result],
      at: `${p.rate} page writes/s`,
    })),
  );
}

/** The HTML report of the runs: each run, with its variant's prediction beside it. */
export function qemuReportInput(file: RunsFile): ReportInput {
  return {
    title: `livemig qemu ${file.scenario}`,
    runs: file.runs.map((r) => ({
      variant: `${r.variant} run ${r.run}`,
      result: r.result,
      ...(file.predictions ? { predicted: file.predictions.find((p) => p.variant === r.variant)?.result } : {}),
    })),
  };
}

/** QEMU and guest failures are exit 1 with their message; a missing QEMU or a bad file is exit 2. */
function asCommandErrors(e: unknown): void {
  if (e instanceof UnsupportedScenarioError || e instanceof ProfileError || e instanceof RunsFileError || e instanceof CalibrationError) throw new UsageError(e.message);
  if (e instanceof QemuMissingError) throw new UsageError(e.message);
  if (e instanceof QemuRunError || e instanceof QmpCommandError || e instanceof QmpConnectionError || e instanceof GuestBuildError) {
    process.stderr.write(`livemig: ${e.message}\n`);
    process.exitCode = exitCodes.migrationFailed;
    return;
  }
  throw e;
}

/** `livemig qemu SCENARIO`. */
export async function qemuCommand(scenarioFile: string, opts: QemuOptions): Promise<void> {
  const scenarioRuns = await readScenarioFile(scenarioFile);
  if (opts.html) checkReportTarget(opts.html);
  const tty = process.stderr.isTTY;
  try {
    const profile = opts.profile ? readProfile(opts.profile) : undefined;
    const { file, notes } = await runSession(scenarioRuns, {
      file: scenarioFile,
      runs: opts.runs,
      predict: !!opts.predict || !!profile,
      profile,
      traceDir: opts.trace,
      qemu: opts.qemu,
      log: (line) => {
        if (tty) process.stderr.write(`\r\x1b[K${line}`);
      },
      onRun: (run) => {
        if (tty) process.stderr.write("\r\x1b[K");
        if (!opts.json) process.stdout.write(runLine(run) + "\n");
      },
    });
    if (tty) process.stderr.write("\r\x1b[K");
    if (opts.html) await writeHtml(opts.html, qemuReportInput(file));
    if (opts.json) {
      process.stdout.write(JSON.stringify(file) + "\n");
    } else {
      const analyses = file.runs.map(analysisOf);
      if (analyses.length > 1) process.stdout.write(runsReport(analyses, summarizeRuns(analyses)) + "\n");
      for (const run of file.runs) for (const w of run.result.warnings) process.stdout.write(`${run.variant} run ${run.run}: ${w}\n`);
      if (file.predictions) process.stdout.write(qemuPredictions(file) + "\n");
      // The modes' fields, each run beside its prediction.
      const modeRows = [
        ...file.runs.map((run) => ({ variant: `${run.variant} run ${run.run}`, result: run.result })),
        ...(file.predictions ?? []).map((p) => ({ variant: `${p.variant} (predicted)`, result: p.result })),
      ];
      const modes = (await import("../report/modes-table.js")).modesTable(modeRows);
      if (modes) process.stdout.write(modes + "\n");
      for (const n of notes) process.stdout.write(`note: ${n}\n`);
    }
    process.exitCode = exitCodeOf(file.scenario, file.runs.map((run) => ({ variant: `${run.variant} run ${run.run}`, result: run.result })));
  } catch (e) {
    if (tty) process.stderr.write("\r\x1b[K");
    asCommandErrors(e);
  }
}

/** `livemig calibrate RUNS... -o FILE`. */
export function calibrateCommand(files: string[], opts: { output: string }): void {
  try {
    const idle: IdleRun[] = [];
    const multifd: IdleRun[] = [];
    for (const f of files) {
      const file = readRunsFile(f);
      for (const run of file.runs) {
        const label = `${f}#${run.variant}[${run.run}]`;
        const r: IdleRun = { label, scenario: run.scenario, result: run.result, samples: run.samples, destinationPrealloc: run.destinationPrealloc, qemu: run.qemu ?? file.qemu, host: run.host };
        const problem = idleProblem(r);
        const multifdProblem = isIdle(r.scenario) ? multifdRunProblem(r) : problem;
        if (!problem) idle.push(r);
        else if (!multifdProblem) multifd.push(r);
        else process.stderr.write(`livemig: note: ${label}: not used: ${r.scenario.migration.multifd ? multifdProblem : problem}\n`);
      }
    }
    const fit = fitProfile(idle);
    if (multifd.length) {
      // The cores the one-channel runs' threads shared, which more channels share too.
      const m = fitMultifd(multifd, fit.profile.switchoverMs ?? 0, fit.profile.sourceFirstReadUsPerPage);
      Object.assign(fit.profile, m.profile, { hostCores: hostCores() });
      fit.figures.push(...m.figures);
    }
    const buffers = socketBufferBytes();
    if (buffers !== undefined) fit.profile.socketBufferBytes = buffers;
    const lagging = laggingBufferBytes();
    if (lagging !== undefined) fit.profile.laggingBufferBytes = lagging;
    writeProfile(opts.output, fit.profile, { machine: hostname(), fittedFrom: [...idle, ...multifd].map((r) => r.label), figures: fit.figures });
    process.stdout.write(`profile ${opts.output} from ${idle.length} idle run(s)${multifd.length ? ` and ${multifd.length} one-channel multifd run(s)` : ""} (${fit.capBoundIntervals} poll interval(s) left out where the cap may have bound):\n`);
    for (const f of fit.figures) process.stdout.write(`  ${figureLine(f)}\n`);
    if (fit.profile.qemu) process.stdout.write(`  QEMU ${fit.profile.qemu}: the simulator follows its 50 ms iterations\n`);
    process.stdout.write("precopy per training run:\n");
    for (const r of fit.residuals) {
      const off = r.measuredMs > 0 ? `${(((r.fittedMs - r.measuredMs) / r.measuredMs) * 100).toFixed(0)} %` : "-";
      process.stdout.write(`  ${r.label}: ${r.measuredMs.toFixed(0)} ms measured, ${r.fittedMs.toFixed(0)} ms fitted (${off})\n`);
    }
    process.stdout.write(`the machine's pace: the training runs took ${fit.paceSpread.fast.toFixed(2)}-${fit.paceSpread.slow.toFixed(2)} times the fitted precopy (10th-90th percentile)\n`);
    for (const n of fit.notes) process.stdout.write(`note: ${n}\n`);
  } catch (e) {
    asCommandErrors(e);
  }
}
