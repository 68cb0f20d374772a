// The JSON `livemig qemu --json` prints, and reading it back (for `livemig calibrate`).

import { readFileSync } from "node:fs";
import { z } from "zod";
import type { MigrationResult } from "../core/result.js";
import type { Scenario } from "../scenario/schema.js";
import type { GuestReport } from "./migration.js";

export interface MeasuredRun {
  variant: string;
  run: number;
  /** The validated scenario of this variant (sizes in bytes, times in ms). */
  scenario: Scenario;
  result: MigrationResult;
  guest: GuestReport;
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
    throw new RunsFileError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
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
  return parsed.data as unknown as RunsFile;
}
