// `npm run validate`: a validation matrix (default scenarios/qemu-matrix.yaml) on real QEMU,
// the machine profile fitted from its idle cells, every cell predicted with that profile, and
// the matrix's section of docs/validation.md written from it all.
// Usage: node dist/src/qemu/validate.js [--matrix FILE] [--runs N] [--only REGEX] [--append]
//   [--batch NAME] [--rest SECONDS] [--reuse] [--batches A,B] [--drift TRAIN,PREDICT] [--qemu BINARY]
// --only/--append measure some cells and add them to the saved runs (so a matrix can be
// measured in short chunks); --rest waits before every run, so that each starts from the
// same host memory (below); --reuse re-renders from the saved runs (--batches: those batches'
// only); --drift calibrates on one
// batch's idle runs and predicts another batch's busy ones.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import type { MigrationResult } from "../core/result.js";
import { loadScenario } from "../scenario/load.js";
import type { Scenario } from "../scenario/schema.js";
import { median, quantile } from "../measure/stats.js";
import type { MachineProfile } from "../sim/simulate.js";
import { atCpuWait, atPace, bareFinalPassBytes, fitProfile, idleProblem, isIdle, type Fit, type IdleRun } from "./calibrate.js";
import { ensureGuest } from "./guest.js";
import { projectRoot } from "../project-root.js";
import { runMigration } from "./migration.js";
import { bottleneckWait, cpuBoundShare, migrationThreads } from "./thread-times.js";
import { planFor } from "./plan.js";
import { achievedRate, predict } from "./predict.js";
import { figureLine, writeProfile } from "./profile.js";
import type { MeasuredRun } from "./runs-file.js";
import { errorBeyondSpread, spreadOf, type Spread } from "./spread.js";
import { findQemu } from "./vm.js";
import { freePageReportingNote, reportsFreePages } from "./host-limits.js";

const root = projectRoot();
const usage = "usage: npm run validate -- [--matrix FILE] [--runs N] [--only REGEX] [--append] [--batch NAME] [--rest SECONDS] [--reuse] [--batches A,B] [--drift TRAIN,PREDICT] [--qemu BINARY]";

/** Bad arguments: one line naming what was expected, exit 2 (nothing measured, nothing written). */
function refuse(message: string): never {
  process.stderr.write(`livemig: validate: ${message}\n`);
  process.exit(2);
}

function parseOptions() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        matrix: { type: "string", default: join(root, "scenarios", "qemu-matrix.yaml") },
        runs: { type: "string", default: "1" },
        only: { type: "string" },
        append: { type: "boolean", default: false },
        batch: { type: "string", default: "1" },
        rest: { type: "string", default: "0" },
        reuse: { type: "boolean", default: false },
        drift: { type: "string" },
        batches: { type: "string" },
        qemu: { type: "string" },
        help: { type: "boolean", default: false },
      },
    });
  } catch (e) {
    refuse((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  if (!/^[1-9][0-9]*$/.test(v.runs)) refuse(`--runs: expected a whole number of runs per cell from 1, got "${v.runs}"`);
  if (!/^[0-9]+$/.test(v.rest)) refuse(`--rest: expected whole seconds to wait before each run, from 0, got "${v.rest}"`);
  if (v.only !== undefined) {
    try {
      new RegExp(v.only);
    } catch {
      refuse(`--only: expected a regular expression over the cells' names, got "${v.only}"`);
    }
  }
  if (!existsSync(v.matrix)) refuse(`--matrix: no such file: ${v.matrix}`);
  return v;
}
const args = parseOptions();
const matrixFile = args.matrix;
const matrixName = basename(matrixFile, ".yaml");
const runsPerCell = Number(args.runs);
const restSeconds = Number(args.rest);
const cacheDir = join(root, ".cache", "validation", matrixName);
const savedRuns = join(cacheDir, "runs.json");
// The project's own matrix ships its profile; any other keeps it beside its runs.
const profileFile = matrixName === "qemu-matrix" ? join(root, "scenarios", "qemu-profile.yaml") : join(cacheDir, "profile.yaml");
const docFile = join(root, "docs", "validation.md");

/** A measured run as the validation keeps it: when, and in which batch. */
/** A measured run as saved: its batch, when it started, and how long the host rested before it (s). */
type SavedRun = MeasuredRun & { batch: string; at: string; rest?: number };

const converged = (r: MigrationResult) => r.status === "completed" || r.status === "completed-unsafe";
const log = (s: string) => process.stderr.write(`${s}\n`);

function saved(): { runs: SavedRun[]; qemu: string } {
  return existsSync(savedRuns) ? (JSON.parse(readFileSync(savedRuns, "utf8")) as { runs: SavedRun[]; qemu: string }) : { runs: [], qemu: "" };
}

async function measure(): Promise<{ runs: SavedRun[]; qemu: string }> {
  if (args.reuse) return saved();
  const only = args.only ? new RegExp(args.only) : undefined;
  const cells = loadScenario(readFileSync(matrixFile, "utf8"), matrixFile).slice(1).filter((c) => !only || only.test(c.variant)); // the variants are the cells
  const qemu = findQemu(args.qemu);
  const image = ensureGuest(root, log);
  if (restSeconds === 0 && reportsFreePages()) log(`note: ${freePageReportingNote}; --rest 30 does`);
  const out = args.append ? saved() : { runs: [] as SavedRun[], qemu: qemu.version };
  out.qemu = qemu.version;
  mkdirSync(cacheDir, { recursive: true });
  for (const cell of cells) {
    const plan = planFor(cell.scenario, cell.variant);
    for (let i = 1; i <= runsPerCell; i++) {
      // On a host whose kernel reports free pages to the hypervisor below (virtio-balloon free
      // page reporting), memory freed a few seconds ago is still backed there and costs ~1 us
      // a page on first use, memory reported back ~13 us (docs/validation.md, seventh round):
      // back to back, a run inherits what the previous one freed. A rest gives each run fresh memory.
      if (restSeconds > 0) await new Promise((resolve) => setTimeout(resolve, restSeconds * 1000));
      const started = Date.now();
      const run = await runMigration({ binary: qemu.binary, image, plan });
      const n = out.runs.filter((r) => r.variant === cell.variant).length + 1;
      log(`${cell.variant} [${n}]: ${run.result.status} total ${run.result["total-time"]} ms downtime ${run.result.downtime ?? "-"} ms passes ${run.result.ram["dirty-sync-count"]} (${((Date.now() - started) / 1000).toFixed(0)} s wall)`);
      out.runs.push({ variant: cell.variant, run: n, scenario: cell.scenario, result: run.result, guest: run.guest, qemu: qemu.version, samples: run.samples, destinationPrealloc: run.destinationPrealloc, host: run.host, batch: args.batch, at: new Date(started).toISOString(), ...(restSeconds > 0 ? { rest: restSeconds } : {}) });
      // Saved after every run: a chunk cut short keeps what it measured.
      writeFileSync(savedRuns, JSON.stringify(out));
    }
  }
  return out;
}

/** Non-zero memory of an idle guest as a line in its RAM size (the kernel's page structs grow with it). */
function idleFootprint(idle: MeasuredRun[]): (memory: number) => number {
  const xs = idle.map((r) => r.scenario.vm.memory);
  const ys = idle.map((r) => r.result.ram.normal * 4096);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  const slope = sxx > 0 ? xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / sxx : 0;
  return (memory) => Math.max(0, my + slope * (memory - mx));
}

interface Row {
  cell: string;
  scenario: Scenario;
  measured: MeasuredRun[];
  rate: number;
  predicted: MigrationResult;
  /** The same prediction with the machine at the slow and fast ends of the training runs' pace (Fit.paceSpread). */
  atSlowPace: MigrationResult;
  atFastPace: MigrationResult;
  /** The median downtime over the predictions at the training runs' pace deciles (downtimeOverPaces). */
  downtime: number | undefined;
  /** The total-time predicted for each run given the CPU wait measured in it (contentionAdjusted), their median. */
  adjustedTotal: number | undefined;
}

const pct = (p: number, m: number) => (m > 0 ? ((p - m) / m) * 100 : NaN);
const fmtPct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(0)} %` : "-");
const sec = (ms: number | undefined) => (ms === undefined ? "-" : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
const workingSetOf = (s: Scenario) => (s.vm.workload.kind === "idle" ? 0 : s.vm.workload.workingSet);
const preallocOf = (s: Scenario) => s.migration.destinationPrealloc ?? false;

function describeCell(s: Scenario): { ram: string; workload: string; cap: string; limit: string } {
  const w = s.vm.workload;
  const cap = s.migration.maxBandwidth === 0 ? "unlimited" : `${Math.round(s.migration.maxBandwidth / 2 ** 20)} MiB/s`;
  const workload = w.kind === "idle" ? "idle" : w.rate === 0 ? `${mib(w.workingSet)} filled, idle` : `${w.kind} ${mib(w.workingSet)} @ ${(w.rate / 1000).toFixed(0)}k/s`;
  return { ram: `${s.vm.memory / 2 ** 30} GiB`, workload, cap, limit: `${s.migration.downtimeLimit} ms${s.migration.autoConverge ? ", auto-converge" : ""}` };
}

/**
 * The downtime predicted at each decile of the training runs' paces, their median. Where the
 * final pass begins jumps with the pace: an idle guest's pass 1 may end inside one 50 ms
 * iteration (a bare final pass) or QEMU may stop it at the next iteration with the top of
 * RAM still to send (tens of MiB), and the runs of one cell land on either side. One pace
 * predicts one side; over the paces the runs went at, the median is the figure to compare
 * with the runs' median. Undefined where no pace converges.
 */
async function downtimeOverPaces(scenario: Scenario, rate: number, fit: Fit): Promise<number | undefined> {
  const downtimes: number[] = [];
  for (let decile = 1; decile <= 9; decile++) {
    const result = await predict(scenario, rate, atPace(fit.profile, fit.paces.length ? quantile(fit.paces, decile / 10) : 1));
    if (converged(result)) downtimes.push(result.downtime ?? 0);
  }
  return downtimes.length ? median(downtimes) : undefined;
}

/** The profile from a set of runs' idle ones, and every cell of `predictFrom` predicted with it. */
async function fitAndPredict(train: MeasuredRun[], predictFrom: MeasuredRun[]): Promise<{ fit: Fit; rows: Row[]; idle: IdleRun[] }> {
  const idle: IdleRun[] = [];
  for (const r of train) {
    const label = `${r.variant}[${r.run}]`;
    if (!idleProblem({ label, scenario: r.scenario, result: r.result })) idle.push({ label, scenario: r.scenario, result: r.result, samples: r.samples, destinationPrealloc: r.destinationPrealloc, qemu: r.qemu, host: r.host });
  }
  const fit = fitProfile(idle);
  const footprint = idleFootprint(train.filter((r) => r.scenario.vm.workload.kind === "idle" && r.result.status === "completed"));
  const rows: Row[] = [];
  for (const cell of [...new Set(predictFrom.map((r) => r.variant))]) {
    const measured = predictFrom.filter((r) => r.variant === cell);
    const s = measured[0].scenario;
    const scenario: Scenario = { ...s, vm: { ...s.vm, used: Math.min(s.vm.memory, Math.round(footprint(s.vm.memory) + workingSetOf(s))) } };
    const rate = achievedRate(measured);
    const predicted = await predict(scenario, rate, fit.profile);
    rows.push({
      cell, scenario, measured, rate, predicted,
      atSlowPace: await predict(scenario, rate, atPace(fit.profile, fit.paceSpread.slow)),
      atFastPace: await predict(scenario, rate, atPace(fit.profile, fit.paceSpread.fast)),
      downtime: await downtimeOverPaces(scenario, rate, fit),
      adjustedTotal: converged(predicted) ? await contentionAdjusted(scenario, rate, predicted["total-time"], measured, fit.profile) : undefined,
    });
  }
  return { fit, rows, idle };
}

async function main(): Promise<void> {
  const measured = await measure();
  if (args.only) return; // a chunk: measured and saved; render once all cells are in
  const { qemu } = measured;
  const batches = args.batches?.split(",");
  const runs = batches ? measured.runs.filter((r) => batches.includes(r.batch)) : measured.runs;
  if (!runs.length) refuse(`--batches: no saved run is of batch ${batches!.join(" or ")}`);
  const { fit, rows, idle } = await fitAndPredict(runs, runs);
  writeProfile(profileFile, fit.profile, { machine: hostname(), fittedFrom: idle.map((r) => r.label), figures: fit.figures });
  let drift = "";
  if (args.drift) {
    const [train, test] = args.drift.split(",");
    const later = await fitAndPredict(measured.runs.filter((r) => r.batch === train), measured.runs.filter((r) => r.batch === test && !isIdle(r.scenario)));
    drift = driftSection(train, test, measured.runs, later.rows, later.fit);
  }
  const section = render(rows, fit, qemu, runs) + drift;
  writeSection(section);
  log(`wrote the ${matrixName} section of docs/validation.md and ${profileFile}`);
}

/** Replaces this matrix's section of docs/validation.md (between its markers), or appends it. */
function writeSection(section: string): void {
  const open = `<!-- matrix:${matrixName} -->`;
  const close = `<!-- /matrix:${matrixName} -->`;
  const doc = existsSync(docFile) ? readFileSync(docFile, "utf8") : "# Validation: the simulator against real QEMU migrations\n";
  const block = `${open}\n${section.trim()}\n${close}`;
  const i = doc.indexOf(open);
  const j = doc.indexOf(close);
  writeFileSync(docFile, i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + close.length) : `${doc.trimEnd()}\n\n${block}\n`);
}

/** Per cell: measured medians and spread, the prediction, and its errors. */
interface Judged {
  row: Row;
  kind: "idle" | "busy";
  prealloc: boolean;
  mConv: boolean;
  pConv: boolean;
  /** The measured verdict is the prediction's at the fitted pace or at either end of the pace spread. */
  verdictInPaceSpread: boolean;
  eTotal: number;
  eDown: number;
  /** Every converged run of the cell, over all batches (hours), for total-time and downtime. */
  totalSpread?: Spread;
  downSpread?: Spread;
  /** The errors against those spreads (0 inside), where both converged. */
  eTotalBeyond: number;
  eDownBeyond: number;
}

function judge(row: Row): Judged {
  const results = row.measured.map((m) => m.result);
  const completedRuns = (row.measured as SavedRun[]).filter((m) => converged(m.result));
  const mConv = completedRuns.length > results.length / 2;
  const pConv = converged(row.predicted);
  const timed = (f: (r: MigrationResult) => number) => spreadOf(completedRuns.map((m) => ({ batch: m.batch ?? "1", at: m.at ?? "", value: f(m.result) })));
  const totalSpread = timed((r) => r["total-time"]);
  const downSpread = timed((r) => r.downtime ?? 0);
  const both = mConv && pConv;
  const p = row.predicted["total-time"];
  const pDown = row.downtime ?? row.predicted.downtime ?? 0;
  return {
    row,
    kind: isIdle(row.scenario) ? "idle" : "busy",
    prealloc: preallocOf(row.scenario),
    mConv,
    pConv,
    verdictInPaceSpread: [row.predicted, row.atSlowPace, row.atFastPace].some((r) => converged(r) === mConv),
    eTotal: both && totalSpread ? pct(p, totalSpread.median) : NaN,
    eDown: both && downSpread ? pct(pDown, downSpread.median) : NaN,
    ...(totalSpread ? { totalSpread } : {}),
    ...(downSpread ? { downSpread } : {}),
    eTotalBeyond: both && totalSpread ? errorBeyondSpread(p, totalSpread) : NaN,
    eDownBeyond: both && downSpread ? errorBeyondSpread(pDown, downSpread) : NaN,
  };
}

/** The predicted total-time at the slow and fast ends of the pace spread, where both converge. */
function paceRange(row: Row): string {
  const [slow, fast] = [row.atSlowPace, row.atFastPace];
  return converged(slow) && converged(fast) ? ` (${sec(fast["total-time"])}-${sec(slow["total-time"])})` : "";
}

/** The verdict at the slow or fast pace, where it differs from the fitted pace's. */
function paceVerdicts(row: Row): string {
  const fitted = converged(row.predicted);
  const other = [["slow", row.atSlowPace], ["fast", row.atFastPace]] as const;
  const differs = other.filter(([, r]) => converged(r) !== fitted).map(([name, r]) => `${name} pace: ${converged(r) ? "yes" : "no"}`);
  return differs.length ? ` (${differs.join(", ")})` : "";
}

/** A cell's runs per batch: "A 21:22: 1130, 1807 · C 00:09: 1121". */
function byBatch(s: Spread | undefined): string {
  if (!s) return "-";
  return s.batches.map((b) => `${s.batches.length > 1 || b.batch !== "1" ? `${b.batch} ${b.at.slice(11, 16)}: ` : ""}${b.values.map((v) => v.toFixed(0)).join(", ")}`).join(" · ");
}

/** The error, and where the cell was measured more than once, the error against its spread. */
function errorCell(e: number, beyond: number, s: Spread | undefined): string {
  if (!Number.isFinite(e)) return "-";
  if (!s || s.lo === s.hi) return fmtPct(e);
  return `${fmtPct(e)} (${beyond === 0 ? "in spread" : `${fmtPct(beyond)} beyond`})`;
}

const abs = (xs: number[]) => xs.filter(Number.isFinite).map(Math.abs);
const stat = (xs: number[], q: number) => (xs.length ? `${quantile(xs, q).toFixed(1)} %` : "-");

function summaryRows(judged: Judged[]): string[] {
  const out = [
    "| cells | n | total-time median \\|error\\| | total-time p90 | downtime median \\|error\\| | downtime p90 | total-time in spread; \\|error beyond\\| median / p90 | downtime in spread; median / p90 beyond | verdicts right |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const kind of ["idle", "busy"] as const) {
    for (const mode of [false, true, undefined]) {
      const js = judged.filter((j) => j.kind === kind && (mode === undefined || j.prealloc === mode));
      if (!js.length) continue;
      const t = abs(js.map((j) => j.eTotal));
      const d = abs(js.map((j) => j.eDown));
      const label = `${kind === "idle" ? "idle (the fit)" : "busy (predicted)"}, ${mode === undefined ? "all" : mode ? "destination preallocated" : "destination not preallocated"}`;
      const tb = abs(js.map((j) => j.eTotalBeyond));
      const db = abs(js.map((j) => j.eDownBeyond));
      const inSpread = (xs: number[]) => `${xs.filter((x) => x === 0).length} of ${xs.length}`;
      out.push(
        `| ${label} | ${js.length} | ${stat(t, 0.5)} | ${stat(t, 0.9)} | ${stat(d, 0.5)} | ${stat(d, 0.9)} | ` +
          `${inSpread(tb)}; ${stat(tb, 0.5)} / ${stat(tb, 0.9)} | ${inSpread(db)}; ${stat(db, 0.5)} / ${stat(db, 0.9)} | ${js.filter((j) => j.mConv === j.pConv).length} of ${js.length} |`,
      );
    }
  }
  return out;
}

function goals(judged: Judged[]): string {
  const busy = judged.filter((j) => j.kind === "busy");
  const t = abs(busy.map((j) => j.eTotal));
  const idleDown = abs(judged.filter((j) => j.kind === "idle").map((j) => j.eDown));
  const check = (name: string, value: number, goal: number) => `${name} ${Number.isFinite(value) ? `${value.toFixed(1)} %` : "-"} (goal <= ${goal} %: ${value <= goal ? "met" : "**not met**"})`;
  const wrong = judged.filter((j) => j.mConv !== j.pConv).map((j) => j.row.cell);
  const wrongAtEveryPace = judged.filter((j) => !j.verdictInPaceSpread).map((j) => j.row.cell);
  const tb = abs(busy.map((j) => j.eTotalBeyond));
  const db = abs(judged.filter((j) => j.kind === "idle").map((j) => j.eDownBeyond));
  const hours = judged.filter((j) => (j.totalSpread?.apartMinutes ?? 0) >= 45).length;
  return [
    `- ${check("busy total-time median |error|", t.length ? quantile(t, 0.5) : NaN, 10)}`,
    `- ${check("busy total-time 90th percentile", t.length ? quantile(t, 0.9) : NaN, 20)}`,
    `- ${check("idle downtime median |error|", idleDown.length ? quantile(idleDown, 0.5) : NaN, 30)}`,
    `- convergence verdicts right: ${judged.length - wrong.length} of ${judged.length}${wrong.length ? ` (**wrong: ${wrong.join(", ")}**)` : " (goal: all)"}; ` +
      `the measured verdict is the prediction's at some pace within the training runs' spread in ${judged.length - wrongAtEveryPace.length} of ${judged.length}${wrongAtEveryPace.length ? ` (not: ${wrongAtEveryPace.join(", ")})` : ""}`,
    `- judged against each cell's spread (${hours} of ${judged.length} cells measured in batches 45 minutes or more apart): busy total-time ` +
      `inside the spread in ${tb.filter((x) => x === 0).length} of ${tb.length} cells, |error beyond it| median ${stat(tb, 0.5)}, p90 ${stat(tb, 0.9)}; ` +
      `idle downtime inside in ${db.filter((x) => x === 0).length} of ${db.length}, median beyond ${stat(db, 0.5)}`,
    ...givenWaitLines(busy),
  ].join("\n");
}

/** The busy cells' errors given each run's measured CPU wait (Row.adjustedTotal), per destination mode; none without recorded waits. */
function givenWaitLines(busy: Judged[]): string[] {
  const errors = (mode: boolean | undefined) =>
    abs(busy.filter((j) => j.mConv && j.row.adjustedTotal !== undefined && (mode === undefined || j.prealloc === mode)).map((j) => pct(j.row.adjustedTotal!, j.totalSpread?.median ?? NaN)));
  const line = (mode: boolean | undefined, label: string) => {
    const e = errors(mode);
    return e.length ? `${label} ${quantile(e, 0.5).toFixed(1)} % / ${quantile(e, 0.9).toFixed(1)} % (${e.length} cells)` : undefined;
  };
  const lines = [line(undefined, "all"), line(false, "destination not preallocated"), line(true, "destination preallocated")].filter(Boolean);
  return lines.length
    ? [`- given each run's measured CPU wait (each run predicted with the profile's per-page costs at its wait, \`simulate --cpu-wait\`: scaled by (1 - the training runs' median wait share) / (1 - the run's), for runs whose bottleneck thread was running or runnable >= ${cpuBoundShare * 100} % of the run; the median over the cell's runs): busy total-time median / p90 |error|: ${lines.join("; ")}`]
    : [];
}


/**
 * The cell's total-time predicted for each run given the CPU wait measured in it, their median:
 * the fitted costs hold at the training runs' typical wait (the profile's cpuWaitShare), so a
 * run whose bottleneck thread waited more (or less) is predicted with the costs at its own wait
 * (atCpuWait, what `simulate --cpu-wait` does). A run whose thread also slept has no wait to
 * read and keeps the plain prediction. Undefined without recorded waits.
 */
async function contentionAdjusted(scenario: Scenario, rate: number, predictedMs: number, runs: MeasuredRun[], profile: MachineProfile): Promise<number | undefined> {
  if (profile.cpuWaitShare === undefined) return undefined;
  const adjusted: number[] = [];
  for (const r of runs.filter((r) => converged(r.result) && r.host)) {
    const wait = bottleneckWait(r);
    const predicted = wait === undefined ? undefined : await predict(scenario, rate, atCpuWait(profile, wait));
    if (wait === undefined) adjusted.push(predictedMs);
    else if (predicted && converged(predicted)) adjusted.push(predicted["total-time"]);
  }
  return adjusted.length ? median(adjusted) : undefined;
}

/**
 * The load each batch's runs saw, where recorded: the load average at the start, and how long
 * the migration's two threads waited for a CPU (run-queue wait) as a share of the run.
 */
function loadLines(runs: SavedRun[]): string {
  const lines: string[] = [];
  for (const batch of [...new Set(runs.filter((r) => r.host).map((r) => r.batch))]) {
    const mine = runs.filter((r) => r.batch === batch && r.host && r.result["total-time"] > 0);
    const waitShare = (kind: "idle" | "busy") =>
      mine
        .filter((r) => isIdle(r.scenario) === (kind === "idle"))
        .map((r) => (r.host!.threads.filter(migrationThreads).reduce((a, t) => a + t["wait-ms"], 0) / r.result["total-time"]) * 100);
    const loads = mine.map((r) => r.host!["load-average"]);
    const f = (xs: number[], d = 0) => (xs.length ? `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})` : "-");
    lines.push(`- batch ${batch}: load average at the start ${f(loads, 1)}; the two migration threads waited for a CPU, in % of the run: idle runs ${f(waitShare("idle"))}, busy runs ${f(waitShare("busy"))} (median (range))`);
  }
  return lines.length ? `\nThe load the runs saw (recorded per run: the 1-minute load average when the migration started; the source's migration thread and the destination's main thread's run-queue wait, from schedstat, summed):\n${lines.join("\n")}\n` : "";
}

function render(rows: Row[], fit: Fit, qemu: string, runs: MeasuredRun[]): string {
  const judged = rows.map(judge);
  const table = [
    "| cell | destination | RAM | workload | cap | downtime limit | rate achieved | total-time measured (median; runs) | predicted | error | downtime measured (median; runs) | predicted | error | passes m / p | converged m / p | guest after |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const j of judged) {
    const { row } = j;
    const d = describeCell(row.scenario);
    const results = row.measured.map((m) => m.result);
    const passes = `${median(results.map((r) => r.ram["dirty-sync-count"]))} / ${row.predicted.ram["dirty-sync-count"]}`;
    const health = results.map((r) => (r.status === "completed" ? "ok" : r.status === "completed-unsafe" ? "CRASHED" : "-")).join(", ");
    table.push(
      `| ${row.cell} | ${j.prealloc ? "preallocated" : "not preallocated"} | ${d.ram} | ${d.workload} | ${d.cap} | ${d.limit} | ${j.kind === "idle" ? "-" : `${(row.rate / 1000).toFixed(1)}k/s`} | ` +
        `${j.mConv ? `${sec(j.totalSpread?.median)}; ${byBatch(j.totalSpread)}` : "gave up"} | ${j.pConv ? sec(row.predicted["total-time"]) : "gives up"}${paceRange(row)} | ${errorCell(j.eTotal, j.eTotalBeyond, j.totalSpread)} | ` +
        `${j.mConv ? `${sec(j.downSpread?.median)}; ${byBatch(j.downSpread)}` : "-"} | ${j.pConv ? sec(row.downtime ?? row.predicted.downtime) : "-"} | ${errorCell(j.eDown, j.eDownBeyond, j.downSpread)} | ${passes} | ` +
        `${j.mConv ? "yes" : "no"} / ${j.pConv ? "yes" : "no"}${paceVerdicts(row)}${j.mConv === j.pConv ? "" : j.verdictInPaceSpread ? " **MISMATCH** at the fitted pace" : " **MISMATCH**"} | ${health} |`,
    );
  }
  const unsafe = runs.filter((m) => m.result.status === "completed-unsafe").length;
  const completedRuns = runs.filter((m) => converged(m.result)).length;
  const times = (runs as SavedRun[]).map((r) => r.at).filter(Boolean).sort();
  const residuals = fit.residuals.map((r) => Math.abs(pct(r.fittedMs, r.measuredMs))).filter(Number.isFinite);
  return `## Matrix \`${matrixName}\` (${qemu.replace(/^QEMU emulator version /, "QEMU ")})

Generated by \`npm run validate -- --matrix ${matrixFile.startsWith(root) ? matrixFile.slice(root.length + 1) : matrixFile}\` on ${hostname()}, 2 cores, TCG
(\`-accel tcg\`), from ${runs.length} runs (${Math.max(...rows.map((r) => r.measured.length))} per cell)${times.length ? ` measured ${times[0].slice(0, 16)}-${times[times.length - 1].slice(11, 16)} UTC` : ""}.

How each prediction is made: the cell's scenario, with
- the machine profile fitted by \`livemig calibrate\` from this matrix's **idle cells only**
  (${fit.capBoundIntervals} poll intervals left out where the rate limiter may have slept):
${fit.figures.map((f) => `  - ${figureLine(f)}`).join("\n")}
${fit.profile.idleLayout ? `  - where an idle guest's non-zero pages lie: shares per 1/${fit.profile.idleLayout.length} of RAM from the first-pass polls of the idle guests (bottom ${(fit.profile.idleLayout[0] * 100).toFixed(0)} %, top ${(fit.profile.idleLayout[fit.profile.idleLayout.length - 1] * 100).toFixed(0)} %)\n` : ""}  - residual of the fitted precopy on the ${fit.residuals.length} training runs: median ${residuals.length ? median(residuals).toFixed(1) : "-"} %, largest ${residuals.length ? Math.max(...residuals).toFixed(1) : "-"} %;
  - the machine's pace spread: the training runs took ${fit.paceSpread.fast.toFixed(2)}-${fit.paceSpread.slow.toFixed(2)} times the fitted precopy (10th-90th percentile); each cell is also predicted with every per-page cost scaled by both (in brackets after the prediction);
  - the downtime predicted is the median of the cell's predictions at the 9 deciles of the training runs' paces: where the final pass begins jumps with the pace (below), so one pace gives one side of the jump;
${fit.profile.qemu ? `  - the QEMU release the runs name (${fit.profile.qemu}): the simulator follows its iteration cadence, the threshold looked at only between \`ram_save_iterate\` calls of at most 50 ms;\n` : ""}- \`vm.used\` = the non-zero memory the idle guests showed (a line in RAM size) plus the working set;
- the write rate the guest reported achieving on the source during the migration, not the rate asked for.

${table.join("\n")}

${summaryRows(judged).join("\n")}

Against the goals (busy cells, both destination modes together):
${goals(judged)}

Runs are listed per batch (its name and the UTC time it started); "(in spread)": the
prediction lies between the cell's fastest and slowest run over all batches, else "beyond"
gives its distance to the nearer of them, in percent of the median. Errors are of the
prediction against the median of all the cell's runs, over cells where both converged. "gave up" =
livemig cancelled the migration by the scenario's give-up rule.
${unsafe} of ${completedRuns} completed migrations left a destination guest that crashed or lost writes.
${loadLines(runs as SavedRun[])}${fit.notes.length ? `\nCalibration notes: ${fit.notes.join("; ")}.\n` : ""}
${[capLines(rows, fit), ...capEffect(rows), downtimeLine(rows)].filter(Boolean).join("\n")}
`;
}

/** Calibrated on one batch's idle runs, predicting a later batch's busy cells. */
function driftSection(train: string, test: string, runs: MeasuredRun[], rows: Row[], fit: Fit): string {
  const judged = rows.map(judge);
  const at = (b: string) => (runs as SavedRun[]).filter((r) => r.batch === b).map((r) => r.at).sort();
  const span = (b: string) => `${at(b)[0]?.slice(11, 16)}-${at(b).slice(-1)[0]?.slice(11, 16)} UTC`;
  return `
### Drift: calibrated on batch ${train} (${span(train)}), predicting batch ${test} (${span(test)})

Profile from batch ${train}'s idle runs: ${fit.figures.map(figureLine).join("; ")}.

${summaryRows(judged).join("\n")}
${givenWaitLines(judged.filter((j) => j.kind === "busy")).join("\n")}
`;
}

/**
 * The same idle guest with and without a cap the machine can reach: what the cap's pacing
 * changes, measured against predicted, judged against the uncapped runs' own scatter.
 */
function capEffect(rows: Row[]): string[] {
  const idle = rows.filter((r) => isIdle(r.scenario));
  const totals = (r: Row) => r.measured.filter((m) => converged(m.result)).map((m) => m.result["total-time"]);
  const out: string[] = [];
  for (const capped of idle.filter((r) => r.scenario.migration.maxBandwidth >= 500 * 2 ** 20)) {
    const free = idle.find((r) => r.scenario.migration.maxBandwidth === 0 && r.scenario.vm.memory === capped.scenario.vm.memory && isSameFill(r, capped));
    if (!free) continue;
    const c = totals(capped);
    const f = totals(free);
    if (!c.length || !f.length) continue;
    const change = (a: number, b: number) => `${a >= b ? "+" : ""}${(((a - b) / b) * 100).toFixed(0)} %`;
    const scatter = (Math.max(...f) - Math.min(...f)) / median(f);
    const gap = Math.abs(median(c) - median(f)) / median(f);
    out.push(
      `- **The cap's effect, ${capped.cell} against ${free.cell}:** ${c.join(", ")} ms against ${f.join(", ")} ms ` +
        `(${change(median(c), median(f))}, ${gap <= scatter ? "within" : "beyond"} the uncapped runs' scatter); predicted ` +
        `${change(capped.predicted["total-time"], free.predicted["total-time"])}.`,
    );
  }
  return out;
}

/** Where the downtime goes: the fixed part against the final pass's pages. */
function downtimeLine(rows: Row[]): string {
  const idleRuns = rows.filter((r) => isIdle(r.scenario)).flatMap((r) => r.measured.filter((m) => converged(m.result)).map((m) => ({ limit: r.scenario.migration.downtimeLimit, result: m.result })));
  const bare = idleRuns.filter((m) => (m.result.ram["downtime-bytes"] ?? Infinity) <= bareFinalPassBytes);
  const wide = idleRuns.filter((m) => m.limit >= 300);
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  const finalBytes = wide.map((m) => m.result.ram["downtime-bytes"] ?? 0);
  const downs = wide.map((m) => m.result.downtime ?? 0);
  return (
    `- **Downtime: a small fixed part, then the final pass.** ${bare.length} idle runs whose final pass carried at most ${mib(bareFinalPassBytes)} MiB ` +
    `stopped for ${bare.length ? `${Math.min(...bare.map((m) => m.result.downtime ?? 0))}-${Math.max(...bare.map((m) => m.result.downtime ?? 0))} ms` : "-"}: that is the switch-over cost. ` +
    `With a 300 ms limit, idle runs carried ${mib(Math.min(...finalBytes))}-${mib(Math.max(...finalBytes))} MiB in the final pass and stopped for ` +
    `${Math.min(...downs)}-${Math.max(...downs)} ms: QEMU compares what is left with a threshold from the last 100 ms window's rate, and when that window ` +
    "held a cluster of normal pages the threshold stays high while a run of zero pages drains what is left, so it switches over early. " +
    "Where a guest's non-zero pages lie decides this: the final pass carries what pass 1 had not reached, the top of RAM. The simulator places an idle " +
    "guest's pages by the profile's map (its top slice at the top of RAM, where Linux's page array lies). A busy guest's final pass holds its dirty working set, which the simulator models."
  );
}

/** What each busy cap allows per normal page, against the machine's own per-page cost. */
function capLines(rows: Row[], fit: Fit): string {
  const caps = [...new Set(rows.filter((r) => !isIdle(r.scenario) && r.scenario.migration.maxBandwidth > 0).map((r) => r.scenario.migration.maxBandwidth))].sort((a, b) => b - a);
  if (!caps.length) return "";
  return "- " + caps
    .map((cap) => {
      const usPerPage = (4096 / cap) * 1e6;
      const bound = usPerPage > fit.perPage.normalUs ? "the cap, not the machine, sets their pace" : "the machine, not the cap, sets their pace";
      const cold = fit.perPage.firstTouchUs !== undefined && usPerPage < fit.perPage.normalUs + fit.perPage.firstTouchUs ? ` (on a destination without preallocation a first arrival costs ${(fit.perPage.normalUs + fit.perPage.firstTouchUs).toFixed(1)} us: there the machine sets the first pass's pace)` : "";
      return `Busy cells capped at ${(cap / 2 ** 20).toFixed(0)} MiB/s allow ${usPerPage.toFixed(1)} us a normal page: ${bound}${cold}.`;
    })
    .join(" ");
}

/** The same guest and destination, whatever the cap. */
function isSameFill(a: Row, b: Row): boolean {
  return workingSetOf(a.scenario) === workingSetOf(b.scenario) && preallocOf(a.scenario) === preallocOf(b.scenario);
}


main().catch((e: unknown) => {
  log(`validate: ${(e as Error).message}`);
  process.exitCode = 1;
});
