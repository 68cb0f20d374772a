// The JSON `livemig qemu --json` prints, and reading it back (for `livemig calibrate`).

import { readFileSync } from "node:fs";
import * as z from "../zod.js";
import type { MigrationResult } from "../core/result.js";
import type { Scenario } from "../scenario/schema.js";
import type { GuestReport, QemuRun, Sample } from "./migration.js";
import { fileProblem } from "../cli/errors.js";

export interface MeasuredRun {
  variant: string;
  run: number;
  /** The validated scenario of this variant (sizes in bytes, times in ms). */
  scenario: Scenario;
  result: MigrationResult;
  guest: GuestReport;
  /** The QEMU that ran it (its --version line), e.g. "QEMU emulator version 10.0.2 (...)". */
  qemu?: string;
  /** query-migrate every ~50 ms while active (absent in files from before they were kept). */
  samples?: Sample[];
  /** The destination's RAM was preallocated (-mem-prealloc); absent: it was not. */
  destinationPrealloc?: boolean;
  /** The load the run saw: load average and each QEMU thread's CPU and run-queue wait (absent in older files). */
  host?: QemuRun["host"];
}

export interface RunsFile {
  scenario: string;
  qemu: string;
  accel: "tcg";
  runs: MeasuredRun[];
  /** With --predict: the simulator's result per variant, at the guest's achieved write rate. */
  predictions?: { variant: string; rate: number; result: MigrationResult }[];
}

// Only what calibration reads is checked; the rest is carried as written.
const measuredRun = z.looseObject({
  variant: z.string(),
  run: z.number(),
  scenario: z.looseObject({
    vm: z.looseObject({ memory: z.number(), workload: z.looseObject({ kind: z.string() }) }),
    migration: z.looseObject({ maxBandwidth: z.number(), downtimeLimit: z.number() }),
  }),
  result: z.looseObject({
    status: z.string(),
    "total-time": z.number(),
    "setup-time": z.number(),
    ram: z.looseObject({ duplicate: z.number(), normal: z.number(), transferred: z.number() }),
  }),
  samples: z.optional(z.array(z.object({ t: z.number(), transferred: z.number(), duplicate: z.number(), normal: z.number(), sync: z.number() }))),
  destinationPrealloc: z.optional(z.boolean()),
});

const runsFile = z.looseObject({ scenario: z.string(), qemu: z.string(), runs: z.array(measuredRun) });

export class RunsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunsFileError";
  }
}

export function readRunsFile(file: string): RunsFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new RunsFileError(`${file}: cannot read (${fileProblem(e)})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RunsFileError(`${file}: not JSON; expected the output of livemig qemu --json`);
  }
  const parsed = runsFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RunsFileError(`${file}: ${issue.path.join(".") || "(top level)"}: ${issue.message}; expected the output of livemig qemu --json`);
  }
  const runs = parsed.data as unknown as RunsFile;
  for (const run of runs.runs) remember(run);
  return runs;
}

// `livemig calibrate` hands fitProfile each run's result only; the polls it read with that
// result stay reachable from it here.
const extras = new WeakMap<MigrationResult, { samples?: Sample[]; destinationPrealloc?: boolean }>();

/** Keeps a run's polls and destination setup where measurementOf(run.result) finds them. */
export function remember(run: MeasuredRun): void {
  extras.set(run.result, { samples: run.samples, destinationPrealloc: run.destinationPrealloc });
}

export function measurementOf(result: MigrationResult): { samples?: Sample[]; destinationPrealloc?: boolean } {
  return extras.get(result) ?? {};
}
