// `npm run validate`: the validation matrix (scenarios/qemu-matrix.yaml) on real QEMU, the
// machine profile fitted from its idle cells, every cell predicted with that profile, and
// docs/validation.md written from it all. Usage: node dist/src/qemu/validate.js [--runs N]

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { MigrationResult } from "../core/result.js";
import { loadScenario } from "../scenario/load.js";
import type { Scenario } from "../scenario/schema.js";
import { median } from "../measure/stats.js";
import type { MachineProfile } from "../sim/simulate.js";
import { fitProfile, idleProblem, type IdleRun } from "./calibrate.js";
import { ensureGuest, projectRoot } from "./guest.js";
import { runMigration } from "./migration.js";
import { planFor } from "./plan.js";
import { achievedRate, predict } from "./predict.js";
import { writeProfile } from "./profile.js";
import type { MeasuredRun } from "./runs-file.js";
import { findQemu } from "./vm.js";

const root = projectRoot();
const runsArg = process.argv.indexOf("--runs");
const runsPerCell = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 1;
const reuse = process.argv.includes("--reuse"); // re-render from the saved runs
const cacheDir = join(root, ".cache", "validation");
const savedRuns = join(cacheDir, "runs.json");
const matrixFile = join(root, "scenarios", "qemu-matrix.yaml");
const profileFile = join(root, "scenarios", "qemu-profile.yaml");

const converged = (r: MigrationResult) => r.status === "completed" || r.status === "completed-unsafe";
const log = (s: string) => process.stderr.write(`${s}\n`);

async function measure(): Promise<{ runs: MeasuredRun[]; qemu: string }> {
  if (reuse) return JSON.parse(readFileSync(savedRuns, "utf8")) as { runs: MeasuredRun[]; qemu: string };
  const cells = loadScenario(readFileSync(matrixFile, "utf8"), matrixFile).slice(1); // the variants are the cells
  const qemu = findQemu();
  const image = ensureGuest(root, log);
  const runs: MeasuredRun[] = [];
  for (const cell of cells) {
    const plan = planFor(cell.scenario, cell.variant);
    for (let i = 1; i <= runsPerCell; i++) {
      const started = Date.now();
      const run = await runMigration({ binary: qemu.binary, image, plan });
      log(`${cell.variant} [${i}]: ${run.result.status} total ${run.result["total-time"]} ms downtime ${run.result.downtime ?? "-"} ms passes ${run.result.ram["dirty-sync-count"]} (${((Date.now() - started) / 1000).toFixed(0)} s wall)`);
      runs.push({ variant: cell.variant, run: i, scenario: cell.scenario, result: run.result, guest: run.guest });
    }
  }
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(savedRuns, JSON.stringify({ qemu: qemu.version, runs }));
  return { runs, qemu: qemu.version };
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
}

const pct = (p: number, m: number) => (m > 0 ? ((p - m) / m) * 100 : NaN);
const fmtPct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(0)} %` : "-");
const sec = (ms: number | undefined) => (ms === undefined ? "-" : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;

function describeCell(s: Scenario): string[] {
  const w = s.vm.workload;
  const cap = s.migration.maxBandwidth === 0 ? "unlimited" : `${Math.round(s.migration.maxBandwidth / 2 ** 20)} MiB/s`;
  const ws = w.kind === "uniform" ? `${mib(w.workingSet)} @ ${(w.rate / 1000).toFixed(0)}k/s` : "idle";
  return [`${s.vm.memory / 2 ** 30} GiB`, ws, cap, `${s.migration.downtimeLimit} ms${s.migration.autoConverge ? ", auto-converge" : ""}`];
}

async function main(): Promise<void> {
  const { runs, qemu } = await measure();
  const idle: IdleRun[] = [];
  for (const r of runs) {
    const label = `${r.variant}[${r.run}]`;
    if (!idleProblem({ label, scenario: r.scenario, result: r.result })) idle.push({ label, scenario: r.scenario, result: r.result });
  }
  const fit = fitProfile(idle);
  const profile: MachineProfile = fit.profile;
  writeProfile(profileFile, profile, { machine: hostname(), fittedFrom: idle.map((r) => r.label) });
  const footprint = idleFootprint(runs.filter((r) => r.scenario.vm.workload.kind === "idle" && r.result.status === "completed"));

  const rows: Row[] = [];
  for (const cell of [...new Set(runs.map((r) => r.variant))]) {
    const measured = runs.filter((r) => r.variant === cell);
    const s = measured[0].scenario;
    const ws = s.vm.workload.kind === "uniform" ? s.vm.workload.workingSet : 0;
    const scenario: Scenario = { ...s, vm: { ...s.vm, used: Math.min(s.vm.memory, Math.round(footprint(s.vm.memory) + ws)) } };
    const rate = achievedRate(measured);
    rows.push({ cell, scenario, measured, rate, predicted: await predict(scenario, rate, profile) });
  }
  writeFileSync(join(root, "docs", "validation.md"), render(rows, fit.notes, profile, qemu));
  log(`wrote docs/validation.md and scenarios/qemu-profile.yaml`);
}

function render(rows: Row[], notes: string[], profile: MachineProfile, qemu: string): string {
  const table = [
    "| cell | RAM | working set @ rate asked | cap | downtime limit | rate achieved | total-time measured | predicted | error | downtime measured | predicted | error | passes m / p | converged m / p | guest after |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const errors = { idle: { total: [] as number[], down: [] as number[] }, busy: { total: [] as number[], down: [] as number[] } };
  let verdicts = 0;
  let verdictsRight = 0;
  for (const row of rows) {
    const results = row.measured.map((m) => m.result);
    const mConv = results.filter(converged).length > results.length / 2;
    const pConv = converged(row.predicted);
    verdicts++;
    if (mConv === pConv) verdictsRight++;
    const kind = row.scenario.vm.workload.kind === "idle" ? "idle" : "busy";
    const completed = results.filter(converged);
    const mTotal = completed.length ? median(completed.map((r) => r["total-time"])) : undefined;
    const mDown = completed.length ? median(completed.map((r) => r.downtime ?? 0)) : undefined;
    const eTotal = mConv && pConv && mTotal !== undefined ? pct(row.predicted["total-time"], mTotal) : NaN;
    const eDown = mConv && pConv && mDown !== undefined ? pct(row.predicted.downtime ?? 0, mDown) : NaN;
    if (Number.isFinite(eTotal)) errors[kind].total.push(Math.abs(eTotal));
    if (Number.isFinite(eDown)) errors[kind].down.push(Math.abs(eDown));
    const passes = `${median(results.map((r) => r.ram["dirty-sync-count"]))} / ${row.predicted.ram["dirty-sync-count"]}`;
    const health = results.map((r) => (r.status === "completed" ? "ok" : r.status === "completed-unsafe" ? "CRASHED" : "-")).join(", ");
    const failedNote = (r: MigrationResult) => (converged(r) ? "yes" : "no");
    table.push(
      `| ${row.cell} | ${describeCell(row.scenario).slice(0, 1)} | ${describeCell(row.scenario)[1]} | ${describeCell(row.scenario)[2]} | ${describeCell(row.scenario)[3]} | ` +
        `${row.scenario.vm.workload.kind === "idle" ? "-" : `${(row.rate / 1000).toFixed(1)}k/s`} | ${mConv ? sec(mTotal) : "gave up"} | ${pConv ? sec(row.predicted["total-time"]) : "gives up"} | ${fmtPct(eTotal)} | ` +
        `${mConv ? sec(mDown) : "-"} | ${pConv ? sec(row.predicted.downtime) : "-"} | ${fmtPct(eDown)} | ${passes} | ${mConv ? "yes" : "no"} / ${failedNote(row.predicted)}${mConv === pConv ? "" : " **MISMATCH**"} | ${health} |`,
    );
  }
  const med = (xs: number[]) => (xs.length ? `${median(xs).toFixed(1)} % (${xs.length} cells)` : "- (no cell)");
  const unsafe = rows.flatMap((r) => r.measured).filter((m) => m.result.status === "completed-unsafe").length;
  const completedRuns = rows.flatMap((r) => r.measured).filter((m) => converged(m.result)).length;
  return `# Validation: the simulator against real QEMU migrations

Generated by \`npm run validate\` (\`node dist/src/qemu/validate.js [--runs N] [--reuse]\`) on
${hostname()}, 2 cores, ${qemu}, TCG (\`-accel tcg\`), guest = Debian's cloud kernel + busybox
initramfs + livemig's writer (\`guest/\`). Runs per cell: ${Math.max(...rows.map((r) => r.measured.length))}.
Migration over loopback TCP; source and destination QEMU share the machine's two cores with
the guest's vCPU.

How each prediction is made: the cell's scenario, with
- the machine profile fitted from the **idle cells only** (\`livemig calibrate\`; written to
  \`scenarios/qemu-profile.yaml\`): ${profileLine(profile)};
- \`vm.used\` = the non-zero memory the idle guests showed (a line in RAM size, fitted on the
  idle cells' \`normal\` page counts) plus the working set;
- the write rate the guest reported achieving on the source during the migration (its
  heartbeat), not the rate asked for.

Idle cells are the calibration set: their errors show the fit, not a prediction. Busy cells
are predictions.

${table.join("\n")}

| | total-time median \\|error\\| | downtime median \\|error\\| |
|---|---|---|
| idle (fit) | ${med(errors.idle.total)} | ${med(errors.idle.down)} |
| busy (predicted) | ${med(errors.busy.total)} | ${med(errors.busy.down)} |

Convergence verdicts right: ${verdictsRight} of ${verdicts}.
Errors are over cells where both converged. "gave up" = livemig cancelled the migration by
the scenario's give-up rule (30 passes or 25 s).

**Guest health.** ${unsafe} of ${completedRuns} completed migrations left a destination
guest that crashed or lost writes (status \`completed-unsafe\`, "CRASHED" above): QEMU 7.2
under TCG loses dirty writes of a busy guest (the destination kernel oopses within a second,
often on a pointer that holds one of the writer's page stamps). livemig reports these runs
as unsafe with the console lines as evidence; their timings are still QEMU's.
${notes.length ? `\nCalibration notes: ${notes.join("; ")}.\n` : ""}
## What this shows (first run, QEMU 7.2.22, TCG, 2 cores)

- **The idle fit is good for total-time, not for downtime.** An idle guest's precopy follows
  its normal (non-zero) pages only; zero pages are nearly free. The downtime of an idle guest
  is small and noisy (6-222 ms): the 4 GiB cell switched over with 41 MiB still to send,
  because QEMU counts a zero page as 4 KiB pending while it costs 9 bytes on the wire; a
  single median switch-over cost cannot follow that.
- **The stream an idle guest shows is not the stream a busy guest gets.** Idle runs moved
  their ~100-160 MiB of kernel pages at ~150 MB/s (query-migrate mbps ~1200), while busy runs
  on the same machine, unlimited, reached 290-800 MB/s (mbps 2300-6400). A profile fitted on
  idle runs therefore predicts busy unlimited runs 1.4-12x too slow, and one cell (4 GiB,
  150k pages/s, 30 ms) as not converging when QEMU did converge. With a 100 MiB/s cap, where
  the cap and not the machine sets the stream, the busy prediction is right to 1 %.
  Why idle runs stream slower is not established; the vCPU is halted in an idle TCG guest and
  running in a busy one, which changes how QEMU's threads share the two cores.
- **Not met:** the goal of total-time median error <= 15 % on busy cells; one convergence
  verdict of eleven is wrong. Calibrating the stream rate on busy runs instead would fix the
  figures but break the rule that busy runs are only predicted.
`;
}

function profileLine(p: MachineProfile): string {
  const m = (x?: number) => (x === undefined ? "none" : `${(x / 2 ** 20).toFixed(0)} MiB/s`);
  return `page read ${m(p.pageReadBytesPerSecond)}, stream ${m(p.copyBytesPerSecond)}, setup ${p.setupMs?.toFixed(1)} ms, switch-over ${p.switchoverMs?.toFixed(1)} ms`;
}

main().catch((e: unknown) => {
  log(`validate: ${(e as Error).message}`);
  process.exitCode = 1;
});
