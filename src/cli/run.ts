// `livemig run FILE`: the scenario migrated for real (src/live/), optionally beside the
// simulator's prediction; and `livemig dest`: the destination side for `run --dest`.

import { readFileSync } from "node:fs";
import { Option, type Command } from "commander";
import type { MigrationResult } from "../core/result.js";
import type { MachineProfile } from "../sim/simulate.js";
import { qemuIterationMs } from "../core/params.js";
import { normalPageBytes } from "../core/wire.js";
import type { LinkEmulation } from "../live/migration.js";
import type { NamedResult } from "../report/table.js";
import { UsageError, exitCodeOf, fileProblem } from "./errors.js";
import { checkReportTarget, parseSeed, readProfileOption, readScenarioFile, report, writeHtml } from "./simulate.js";

interface Address {
  host: string;
  port: number;
}

function parseAddress(option: string, allowAnyPort: boolean) {
  return (value: string): Address => {
    const m = /^(.+):(\d+)$/.exec(value);
    const port = m ? Number(m[2]) : NaN;
    if (!m || !(port >= (allowAnyPort ? 0 : 1) && port <= 65535)) throw new UsageError(`${option}: expected HOST:PORT, got "${value}"`);
    return { host: m[1].replace(/^\[(.*)\]$/, "$1"), port };
  };
}

/** Both commands take the shared secret the same way: a file of text, trimmed, at least 8 characters. */
const secretFileHelp = "file holding the secret shared by source and destination (text, trimmed, at least 8 characters)";

function readSecretFile(file: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`--secret-file ${file}: cannot read it (${fileProblem(e)})`);
  }
  const secret = Buffer.from(text.trim(), "utf8");
  if (secret.length < 8) throw new UsageError(`--secret-file ${file}: expected a shared secret of at least 8 characters`);
  return secret;
}

/** Both commands take the peer deadline the same way. */
const peerTimeoutHelp = "seconds of silence from the peer (or of waiting for its answer) after which the migration fails (default 8)";

function parsePeerTimeout(value: string): number {
  const s = Number(value);
  if (!(s >= 0.1 && s <= 3600)) throw new UsageError(`--peer-timeout: expected seconds between 0.1 and 3600, got "${value}"`);
  return s * 1000;
}

interface RunOptions {
  json?: boolean;
  predict?: boolean;
  runs: number;
  html?: string;
  dest?: Address;
  secretFile?: string;
  seed?: number;
  protocolVersion?: number;
  emulateLink: LinkEmulation;
  peerTimeout?: number;
  profile?: string;
  startAt?: number;
  verify: VerifyScope;
}

const linkEmulations: LinkEmulation[] = ["both", "bandwidth", "latency", "none"];

function parseEmulation(value: string): LinkEmulation {
  if (!(linkEmulations as string[]).includes(value)) throw new UsageError(`--emulate-link: expected one of ${linkEmulations.join(", ")}, got "${value}"`);
  return value as LinkEmulation;
}

type VerifyScope = "dma" | "all";
const verifyScopes: VerifyScope[] = ["dma", "all"];

function parseVerify(value: string): VerifyScope {
  if (!(verifyScopes as string[]).includes(value)) throw new UsageError(`--verify: expected one of ${verifyScopes.join(", ")}, got "${value}"`);
  return value as VerifyScope;
}

export function registerRun(program: Command): void {
  program
    .command("run")
    .description("migrate the scenario's guest for real: source, destination, switch and prober (loopback unless --dest)")
    .argument("<file>", "scenario file (YAML or JSON), as simulate takes it")
    .option("--json", "print one JSON object: {scenario, runs: [{variant, result}]} (and predicted with --predict)")
    .option("--predict", "also simulate the scenario and print measured and predicted side by side")
    .option("--profile <file>", "with --predict: the machine profile the prediction uses (its first-touch cost, copy rate and page read rate are replaced by the ones measured in the run)")
    .option("--dest <host:port>", "a destination started with `livemig dest` (needs --secret-file)", parseAddress("--dest", false))
    .option("--secret-file <file>", `with --dest: ${secretFileHelp}`)
    .option(
      "--emulate-link <which>",
      "which of the scenario's link.bandwidth and link.latency the sender emulates: both, bandwidth, latency, none (when the network between the hosts is the link, e.g. tc-shaped)",
      parseEmulation,
      "both",
    )
    .option(
      "--verify <which>",
      "pages compared at switch-over: dma (the NIC's rings and buffers, the only pages a write outside the dirty log reaches: exact for stale pages) or all (every page, hashed on both sides beside the stream: also checks the engine, costs stream throughput)",
      parseVerify,
      "dma",
    )
    .option("--seed <n>", "seed for the workload (overrides the file's)", parseSeed)
    .option("--runs <n>", "migrate each variant N times (fresh processes each) and print median, spread and the median's bootstrap interval", parseRuns, 1)
    .option("--html <file>", "also write an HTML report with plots to FILE (measured beside predicted with --predict)")
    .option("--peer-timeout <s>", peerTimeoutHelp, parsePeerTimeout)
    .option("--start-at <epoch-ms>", "start the migration at this wall-clock time (ms since 1970), once the guest has warmed up: several runs started together (evacuation validation); a time already past starts it at once", parseStartAt)
    .addOption(new Option("--protocol-version <n>", "speak another protocol version (tests the refusal)").argParser(Number).hideHelp())
    .action(async (file: string, opts: RunOptions) => {
      // The live engine and the simulator, loaded when the command runs (not for --help).
      const [{ runLive }, { liveProblems }, { ScenarioError }, { simulate }, { median }] = await Promise.all([
        import("../live/migration.js"), import("../live/support.js"), import("../scenario/load.js"), import("../sim/simulate.js"), import("../measure/stats.js"),
      ]);
      const runs = await readScenarioFile(file);
      const problems = runs.flatMap((r) => liveProblems(r.scenario, r.variant === "base" ? "" : ` (variant "${r.variant}")`));
      if (problems.length > 0) throw new ScenarioError([...new Set(problems)].map((p) => `${file}: ${p}`));
      if (opts.dest && !opts.secretFile) throw new UsageError("--dest: needs --secret-file FILE, the secret the destination was started with");
      if (!opts.dest && opts.secretFile) throw new UsageError("--secret-file: only with --dest (a loopback run starts its own destination with a fresh secret)");
      const secret = opts.secretFile ? readSecretFile(opts.secretFile) : undefined;
      if (opts.profile && !opts.predict) throw new UsageError("--profile: only with --predict (it is the prediction's machine profile)");
      const profile = opts.profile ? await readProfileOption(opts.profile) : undefined;
      if (opts.html) checkReportTarget(opts.html);
      const tty = process.stderr.isTTY;
      const measured: LiveRuns[] = [];
      const predicted: Prediction[] = [];
      for (const r of runs) {
        const results: MigrationResult[] = [];
        for (let i = 0; i < opts.runs; i++) {
          const label = `${r.scenario.name} / ${r.variant}${opts.runs > 1 ? ` (run ${i + 1} of ${opts.runs})` : ""}`;
          if (tty) process.stderr.write(`running ${label} live ...`);
          results.push(
            await runLive(r.scenario, {
              dest: opts.dest,
              secret,
              seed: opts.seed,
              protocolVersion: opts.protocolVersion,
              emulateLink: opts.emulateLink,
              peerTimeoutMs: opts.peerTimeout,
              startAt: opts.startAt,
              verifyAllPages: opts.verify === "all",
              onProgress: tty
                ? (p) => process.stderr.write(`\r\x1b[Krunning ${label} live: pass ${p.pass}, ${(p.remainingBytes / 2 ** 20).toFixed(1)} MiB remaining, ${(p.bandwidth / 2 ** 20).toFixed(0)} MiB/s`)
                : undefined,
            }),
          );
          if (tty) process.stderr.write("\r\x1b[K");
        }
        measured.push({ variant: r.variant, results });
        if (opts.predict) {
          // Each run is predicted with the rates its own probes measured (its minute's physics
          // replace the profile's), at the live engine's cadence (QEMU's, src/live/migration.ts).
          // Per run, not once at the runs' median rates: the downtime can be a step function of
          // a rate (whether the zero tail fills the last rate window, docs/live.md), and then the
          // prediction at the median rate is not the median of the runs' predictions.
          const each: MigrationResult[] = [];
          for (const result of results) {
            const figures = figuresOf(result);
            const runProfile = figures ? { ...profile, ...profileOfFigures(figures, r.scenario.vm.pageSize) } : profile;
            each.push(await simulate(r.scenario, { seed: opts.seed, iterationMs: qemuIterationMs, ...(runProfile ? { profile: runProfile } : {}) }));
          }
          const figures = measuredFigures(results, median);
          predicted.push({ variant: r.variant, result: representative(each), results: each, ...(figures ? { figures } : {}) });
        }
      }
      const name = runs[0].scenario.name;
      if (opts.html) {
        await writeHtml(opts.html, {
          title: `livemig run ${file}`,
          runs: measured.map((m, i) => ({ variant: m.variant, result: representative(m.results), predicted: predicted[i]?.result })),
        });
      }
      process.exitCode = opts.runs > 1 ? await reportRuns(name, measured, predicted, !!opts.json) : opts.predict
        ? await reportSideBySide(name, measured.map((m) => ({ variant: m.variant, result: m.results[0] })), predicted, !!opts.json)
        : await report(name, measured.map((m) => ({ variant: m.variant, result: m.results[0] })), !!opts.json);
    });

  program
    .command("dest")
    .description("the destination of `livemig run --dest`: receives migrations and runs the guest")
    .requiredOption("--listen <host:port>", "address to listen on (port 0: any free port)", parseAddress("--listen", true))
    .option("--secret-file <file>", secretFileHelp)
    .option("--once", "exit after the first source")
    .option("--peer-timeout <s>", peerTimeoutHelp, parsePeerTimeout)
    .action(async (opts: { listen: Address; secretFile?: string; once?: boolean; peerTimeout?: number }) => {
      if (!opts.secretFile) throw new UsageError("--secret-file: needs FILE, the secret the source will give to `livemig run --dest`");
      const secret = readSecretFile(opts.secretFile);
      const { listenDestination } = await import("../live/destination.js");
      let dest;
      try {
        dest = await listenDestination({ ...opts.listen, secret, once: opts.once, peerTimeoutMs: opts.peerTimeout, log: (line) => process.stderr.write(`livemig dest: ${line}\n`) });
      } catch (e) {
        throw new UsageError(`--listen ${opts.listen.host}:${opts.listen.port}: cannot listen (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      process.stdout.write(`listening on ${dest.address.host}:${dest.address.port}\n`);
      await dest.closed;
    });
}

function parseStartAt(value: string): number {
  const t = Number(value);
  if (!Number.isFinite(t) || t < 0) throw new UsageError(`--start-at: expected a wall-clock time in ms since 1970, got "${value}"`);
  return t;
}

function parseRuns(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UsageError(`--runs: expected a whole number of runs from 1 to 1000, got "${value}"`);
  return n;
}

/** The hosts' figures a prediction used, us a page, the medians of the variant's live runs' probes. */
export interface MeasuredFigures {
  /** The destination's first touch of fresh memory. */
  firstTouchUs: number;
  /** The destination's check and copy of a data page into populated memory. */
  applyUs: number;
  /** The source's zero check of a page the guest never wrote. */
  zeroCheckUs: number;
}

/** A variant's prediction: each run's (with its own figures), the median one, and the figures' medians. */
interface Prediction extends NamedResult {
  results: MigrationResult[];
  figures?: MeasuredFigures;
}

/**
 * Zero pages the walk must have checked (pages the pinning must have faulted in) for its own
 * figure to replace the probe's: a run chunk's worth (src/core/controller.ts runChunkMaxPages),
 * so a few timer ticks do not make it.
 */
const walkFigurePages = 4096;

/**
 * One run's figures, each from the migration's own work where it did enough of it, else from
 * the probe at the run's start: the source's zero check from its walk (what a pass's zero pages
 * really cost that run); the first touch from vDPA's pinning, its CPU per page fault (the
 * 64 MiB probe at Config read 14.9, 23.7 and 23.5 us a page in three runs whose pinning faulted
 * 2 GiB in at 15.3-15.6, docs/live.md, twelfth round); the apply from the probe.
 */
function figuresOf(r: MigrationResult): MeasuredFigures | undefined {
  const d = r.destination;
  if (!d || !r.source) return undefined;
  const walked = (r.source["walk-zero-pages"] ?? 0) >= walkFigurePages ? r.source["walk-zero-check-us"] : undefined;
  const pinned = d["pin-faults"] !== undefined && d["pin-faults"] >= walkFigurePages && d["pin-cpu-ms"] !== undefined ? (d["pin-cpu-ms"] * 1000) / d["pin-faults"] : undefined;
  return { firstTouchUs: pinned ?? d["first-touch-us"], applyUs: d["apply-us"], zeroCheckUs: walked ?? r.source["zero-check-us"] };
}

/** The medians of the runs' probes (each measured at its run's start). */
function measuredFigures(results: MigrationResult[], median: (values: number[]) => number): MeasuredFigures | undefined {
  const probed = results.flatMap((r) => figuresOf(r) ?? []);
  if (probed.length === 0) return undefined;
  return {
    firstTouchUs: median(probed.map((f) => f.firstTouchUs)),
    applyUs: median(probed.map((f) => f.applyUs)),
    zeroCheckUs: median(probed.map((f) => f.zeroCheckUs)),
  };
}

/**
 * The machine profile's rates from the measured figures: the destination's first touch; its
 * copy of a normal page (stream bytes a second: a page's wire bytes per apply), so that the
 * simulator's copy of a page takes what the live destination's did; the source's read of a page
 * (its bytes per zero check), so that a pass over RAM the guest never wrote takes what the
 * live walk's did.
 */
export function profileOfFigures(f: MeasuredFigures, pageSize: number): MachineProfile {
  return {
    firstTouchUsPerPage: f.firstTouchUs,
    copyBytesPerSecond: (normalPageBytes(pageSize) * 1e6) / f.applyUs,
    pageReadBytesPerSecond: (pageSize * 1e6) / f.zeroCheckUs,
  };
}

/** The line that says which measured figures a prediction used. */
function figuresNote(variant: string, p: Prediction | undefined): string {
  const f = p?.figures;
  return f
    ? `${variant}: ${p!.results.length > 1 ? "each run predicted with the figures measured in it; their medians" : "predicted with the figures measured in the run"}, us a page: destination first touch ${f.firstTouchUs.toFixed(2)}, apply ${f.applyUs.toFixed(2)}; source zero check ${f.zeroCheckUs.toFixed(2)}\n`
    : "";
}

/** A prediction's measured figures, as --json gives them. */
function predictedFigures(p: Prediction): Record<string, number> {
  const f = p.figures;
  return f ? { "predicted-first-touch-us": f.firstTouchUs, "predicted-apply-us": f.applyUs, "predicted-zero-check-us": f.zeroCheckUs } : {};
}

/** A variant's live runs. */
interface LiveRuns {
  variant: string;
  results: MigrationResult[];
}

/** The run whose downtime is the (lower) median: the one a report shows in full. */
function representative(results: MigrationResult[]): MigrationResult {
  const sorted = [...results].sort((a, b) => (a.downtime ?? Infinity) - (b.downtime ?? Infinity));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * Many runs per variant: a row per run and the figures' median, spread and bootstrap interval
 * of the median, as `analyze` gives them (the same code); with --predict, the prediction.
 */
async function reportRuns(name: string, measured: LiveRuns[], predicted: Prediction[], json: boolean): Promise<number> {
  const [{ summarizeRuns }, { figuresOfResult }, { runsReport }, { predictionReport }] = await Promise.all([
    import("../measure/compare.js"), import("../measure/figures.js"), import("../measure/render.js"), import("../report/prediction.js"),
  ]);
  const analyses = measured.map((m) =>
    m.results.map((result, i) => ({
      label: `${m.variant} [${i + 1}]`,
      files: [],
      status: result.status,
      figures: figuresOfResult(result, "measured by livemig run"),
      notes: result.warnings,
    })),
  );
  if (json) {
    const runs = measured.map((m, i) => ({
      variant: m.variant,
      result: representative(m.results),
      results: m.results,
      summary: summarizeRuns(analyses[i]),
      ...(predicted[i] ? { predicted: predicted[i].result, "predicted-runs": predicted[i].results, ...predictedFigures(predicted[i]) } : {}),
    }));
    process.stdout.write(JSON.stringify({ scenario: name, runs }) + "\n");
  } else {
    process.stdout.write(`scenario ${name}\n`);
    measured.forEach((m, i) => {
      process.stdout.write(`\nvariant ${m.variant}: ${m.results.length} live runs\n${runsReport(analyses[i], summarizeRuns(analyses[i]))}\n`);
      const p = predicted[i];
      if (p) process.stdout.write(predictionReport([{ variant: m.variant, measured: m.results, predicted: p.results }]) + "\n" + figuresNote(m.variant, p));
      const warnings = new Set(m.results.flatMap((r) => r.warnings));
      for (const w of warnings) process.stdout.write(`${m.variant}: ${w}\n`);
    });
  }
  return exitCodeOf(name, measured.flatMap((m) => m.results.map((result) => ({ variant: m.variant, result }))));
}

/** Measured and predicted, row by row; returns the exit code of the measured runs. */
async function reportSideBySide(name: string, measured: NamedResult[], predicted: Prediction[], json: boolean): Promise<number> {
  if (json) {
    const runs = measured.map((m, i) => ({
      variant: m.variant, result: m.result, predicted: predicted[i].result, ...predictedFigures(predicted[i]),
    }));
    process.stdout.write(JSON.stringify({ scenario: name, runs }) + "\n");
  } else {
    const [{ breakdownTable, ratesTable, resultTable }, { predictionReport }] = await Promise.all([import("../report/table.js"), import("../report/prediction.js")]);
    const rows = measured.flatMap((m, i) => [
      { variant: `${m.variant} measured`, result: m.result },
      { variant: `${m.variant} predicted`, result: predicted[i].result },
    ]);
    process.stdout.write(`scenario ${name}\n${resultTable(rows)}\n${ratesTable(rows)}\n`);
    const breakdown = breakdownTable(rows);
    if (breakdown) process.stdout.write(`${breakdown}\n`);
    process.stdout.write(predictionReport(measured.map((m, i) => ({ variant: m.variant, measured: [m.result], predicted: predicted[i].results }))) + "\n");
    for (const [i, m] of measured.entries()) process.stdout.write(figuresNote(m.variant, predicted[i]));
    for (const m of measured) for (const w of m.result.warnings) process.stdout.write(`${m.variant}: ${w}\n`);
  }
  return exitCodeOf(name, measured.map((m) => ({ variant: m.variant, result: m.result })));
}
