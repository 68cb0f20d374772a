// `livemig simulate FILE`: predict every run of a scenario.
// Modules beyond commander are imported when a command runs, not when livemig starts: `--help`
// and a simulation load only what they use (bench/startup.ts).

import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import type { ScenarioRun } from "../scenario/load.js";
import type { MachineProfile } from "../sim/simulate.js";
import type { NamedResult } from "../report/table.js";
import type { ReportInput } from "../report/html/index.js";
import { UsageError, exitCodeOf, fileProblem } from "./errors.js";

/** A scenario file, or with "-" the standard input (named "stdin" in messages). */
export async function readScenarioFile(file: string): Promise<ScenarioRun[]> {
  const { loadScenario } = await import("../scenario/load.js");
  const { name, text } = readInput(file, "scenario file");
  return loadScenario(text, name);
}

/** A file's text, or with "-" the standard input's; unreadable is the user's error, naming `what`. */
export function readInput(file: string, what: string): { name: string; text: string } {
  const name = file === "-" ? "stdin" : file;
  try {
    return { name, text: readFileSync(file === "-" ? 0 : file, "utf8") };
  } catch (e) {
    throw new UsageError(`${name}: cannot read the ${what} (${fileProblem(e)})`);
  }
}

export function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) throw new UsageError(`--seed: expected an integer in [0, 2147483647], got "${value}"`);
  return n;
}

/** `--cpu-wait`: the share of the run the target host's migration thread waits for a CPU. */
export function parseCpuWait(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 0.9) throw new UsageError(`--cpu-wait: expected a share between 0 and 0.9 (0.2: the migration thread waits for a CPU a fifth of the run), got "${value}"`);
  return n;
}

/** `pipedProgressMs`: how long a piped simulation runs before it says so on stderr. */
export async function runSimulations(runs: ScenarioRun[], seed?: number, profile?: MachineProfile, pipedProgressMs = 10_000): Promise<NamedResult[]> {
  const { simulate } = await import("../sim/simulate.js");
  const out: NamedResult[] = [];
  const tty = process.stderr.isTTY;
  for (const r of runs) {
    if (tty) process.stderr.write(`simulating ${r.scenario.name} / ${r.variant} ...`);
    const status = (p: { pass: number; remainingBytes: number; t: number }) =>
      `simulating ${r.scenario.name} / ${r.variant}: pass ${p.pass}, ${(p.remainingBytes / 2 ** 20).toFixed(0)} MiB dirty, t=${(p.t / 1000).toFixed(1)} s`;
    // Piped, a progress bar is noise; but a run that takes long still says, now and then, that it runs.
    let quietSince = Date.now();
    const result = await simulate(r.scenario, {
      seed,
      ...(profile ? { profile } : {}),
      onProgress: tty
        ? (p) => process.stderr.write(`\r${status(p)}   `)
        : (p) => {
            if (Date.now() - quietSince < pipedProgressMs) return;
            quietSince = Date.now();
            process.stderr.write(`livemig: note: ${status(p)} (still running)\n`);
          },
    });
    if (tty) process.stderr.write("\r\x1b[K");
    out.push({ variant: r.variant, result });
  }
  return out;
}

/** Prints results; returns the exit code (1 when a migration failed). */
export async function report(name: string, results: NamedResult[], json: boolean): Promise<number> {
  if (json) {
    process.stdout.write(JSON.stringify({ scenario: name, runs: results.map((r) => ({ variant: r.variant, result: r.result })) }) + "\n");
  } else {
    const { breakdownTable, comparisonLines, ratesTable, resultTable } = await import("../report/table.js");
    process.stdout.write(`scenario ${name}\n${resultTable(results)}\n${ratesTable(results)}\n`);
    const breakdown = breakdownTable(results);
    if (breakdown) process.stdout.write(`${breakdown}\n`);
    const modes = (await import("../report/modes-table.js")).modesTable(results);
    if (modes) process.stdout.write(`${modes}\n`);
    const [base, ...others] = results;
    for (const other of others) for (const line of comparisonLines(`${base.variant} -> ${other.variant}`, base, other)) process.stdout.write(line + "\n");
    for (const r of results) for (const w of r.result.warnings) process.stdout.write(`${r.variant}: ${w}\n`);
  }
  return exitCodeOf(name, results);
}

/** `--html FILE` of every command; a file that cannot be written is the user's error. */
export async function writeHtml(file: string, input: ReportInput): Promise<void> {
  await writeReport(file, async () => (await import("../report/html/index.js")).writeHtmlReport(file, input));
}

/**
 * `--html FILE` of a command that runs for long (run, qemu): a report it could not write is said
 * before the migrations, not after them.
 */
export function checkReportTarget(file: string): void {
  try {
    const dir = dirname(resolve(file));
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(dir), { code: "ENOTDIR" });
    accessSync(dir, constants.W_OK);
    if (existsSync(file) && statSync(file).isDirectory()) throw Object.assign(new Error(file), { code: "EISDIR" });
  } catch (e) {
    throw new UsageError(`--html ${file}: cannot write the report (${fileProblem(e)})`);
  }
}

/** Runs `write` (which writes FILE); a file that cannot be written is the user's error. */
export async function writeReport(file: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code) throw new UsageError(`--html ${file}: cannot write the report (${fileProblem(e)})`);
    throw e;
  }
  process.stderr.write(`livemig: wrote the report ${file}\n`);
}

/** Every strategy's costs as one JSON object: {strategy: {cost: {value, unit, source}}}. */
export async function costsJson(): Promise<string> {
  const { strategies } = await import("../core/strategies/index.js");
  return JSON.stringify(Object.fromEntries(Object.values(strategies).map((s) => [s.kind, s.costs])));
}

export async function costsTable(): Promise<string> {
  const { strategies } = await import("../core/strategies/index.js");
  const { default: Table } = await import("cli-table3");
  const table = new Table({ head: ["strategy", "cost", "default", "unit", "source"], style: { head: [], border: [] }, colWidths: [16, 26, 10, 8, 70], wordWrap: true });
  for (const s of Object.values(strategies)) {
    for (const [name, c] of Object.entries(s.costs)) table.push([s.kind, name, String(c.value), c.unit, c.source]);
  }
  return table.toString();
}

export function registerSimulate(program: Command): void {
  program
    .command("simulate")
    .description("predict a migration: every run of a scenario file (base, then each variant)")
    .argument("[file]", "scenario file (YAML or JSON); - reads it from standard input")
    .option("--json", "print one JSON object: {scenario, runs: [{variant, result}]}")
    .option("--seed <n>", "seed for the workload models (overrides the file's)", parseSeed)
    .option("--costs", "print every strategy's cost table (with --json: as JSON) and exit")
    .option("--html <file>", "also write an HTML report with plots to FILE")
    .option("--profile <file>", "machine profile (from livemig calibrate): this host's page read rate, stream rate, setup and switch-over costs")
    .option("--cpu-wait <share>", "with --profile: predict a host whose migration thread waits this share of the run for a CPU (the profile's costs hold at its cpuWaitShare)", parseCpuWait)
    .action(async (file: string | undefined, opts: { json?: boolean; seed?: number; costs?: boolean; html?: string; profile?: string; cpuWait?: number }) => {
      if (opts.costs) {
        process.stdout.write((opts.json ? await costsJson() : await costsTable()) + "\n");
        return;
      }
      if (!file) throw new UsageError("simulate: expected a scenario file (or --costs)");
      const runs = await readScenarioFile(file);
      const profile = await profileOptions(opts);
      const results = await runSimulations(runs, opts.seed, profile);
      if (opts.html) await writeHtml(opts.html, { title: `livemig simulate ${runs[0].scenario.name}`, runs: results });
      process.exitCode = await report(runs[0].scenario.name, results, !!opts.json);
    });
}

/** `--profile FILE [--cpu-wait W]` (simulate, evacuate): the profile at that wait; undefined without --profile. */
export async function profileOptions(opts: { profile?: string; cpuWait?: number | string }): Promise<MachineProfile | undefined> {
  const cpuWait = typeof opts.cpuWait === "string" ? parseCpuWait(opts.cpuWait) : opts.cpuWait;
  if (cpuWait !== undefined && !opts.profile) throw new UsageError("--cpu-wait: needs --profile (it rescales the profile's costs from the CPU wait they were fitted at)");
  return opts.profile ? readProfileOption(opts.profile, cpuWait) : undefined;
}

/**
 * `--profile FILE` (simulate, run --predict): the machine profile, at `cpuWait` if given, or one
 * `livemig:` line naming what is wrong with it.
 */
export async function readProfileOption(file: string, cpuWait?: number): Promise<MachineProfile> {
  const { ProfileError, readProfile } = await import("../qemu/profile.js");
  let profile: MachineProfile;
  try {
    profile = readProfile(file);
  } catch (e) {
    throw e instanceof ProfileError ? new UsageError(e.message) : e;
  }
  if (cpuWait === undefined) return profile;
  if (profile.cpuWaitShare === undefined) throw new UsageError(`--cpu-wait: ${file} does not say the CPU wait its costs were fitted at (cpuWaitShare); calibrate it from runs that recorded their threads (livemig qemu --json records them)`);
  const { atCpuWait } = await import("../qemu/calibrate.js");
  return atCpuWait(profile, cpuWait);
}
