// `livemig qemu`'s work, apart from the terminal: every variant of a scenario, N runs each,
// on real QEMU, with the simulator's prediction beside when asked.

import { join } from "node:path";
import type { ScenarioRun } from "../scenario/load.js";
import type { MachineProfile } from "../sim/simulate.js";
import { ensureGuest } from "./guest.js";
import { runMigration } from "./migration.js";
import { planFor, UnsupportedScenarioError } from "./plan.js";
import { achievedRate, predict } from "./predict.js";
import type { MeasuredRun, RunsFile } from "./runs-file.js";
import { findQemu } from "./vm.js";
import { freePageReportingNote, reportsFreePages } from "./host-limits.js";

export interface SessionOptions {
  file: string;
  runs: number;
  predict: boolean;
  profile?: MachineProfile;
  traceDir?: string;
  /** The QEMU binary (--qemu), else findQemu's default. */
  qemu?: string;
  log: (line: string) => void;
  /** Each finished run, as soon as it is known. */
  onRun?: (run: MeasuredRun) => void;
}

export async function runSession(scenarioRuns: ScenarioRun[], o: SessionOptions): Promise<{ file: RunsFile; notes: string[] }> {
  // Check every variant first: an unsupported field is the user's error, before any boot.
  const problems: string[] = [];
  const plans = scenarioRuns.map((r) => {
    try {
      return planFor(r.scenario, r.variant === "base" ? o.file : `${o.file} (variant "${r.variant}")`);
    } catch (e) {
      if (e instanceof UnsupportedScenarioError) problems.push(...e.problems);
      else throw e;
      return undefined;
    }
  });
  if (problems.length) throw new UnsupportedScenarioError(problems);
  const qemu = findQemu(o.qemu);
  const image = ensureGuest(undefined, o.log);
  const out: RunsFile = { scenario: scenarioRuns[0].scenario.name, qemu: qemu.version, accel: "tcg", runs: [] };
  const notes = [...new Set(plans.flatMap((p) => p?.notes ?? []))];
  if (o.runs * scenarioRuns.length > 1 && reportsFreePages()) notes.push(freePageReportingNote);
  for (let v = 0; v < scenarioRuns.length; v++) {
    const { variant, scenario } = scenarioRuns[v];
    const plan = plans[v]!;
    const measured: MeasuredRun[] = [];
    for (let i = 1; i <= o.runs; i++) {
      const label = `${variant} run ${i}/${o.runs}`;
      const traceDir = o.traceDir ? join(o.traceDir, `${safe(variant)}-${i}`) : undefined;
      const run = await runMigration({ binary: qemu.binary, image, plan, traceDir, onStatus: (s) => o.log(`${label}: ${s}`) });
      const entry: MeasuredRun = { variant, run: i, scenario, result: run.result, guest: run.guest, qemu: qemu.version, samples: run.samples, destinationPrealloc: run.destinationPrealloc, host: run.host };
      measured.push(entry);
      out.runs.push(entry);
      o.onRun?.(entry);
    }
    if (o.predict) {
      const rate = achievedRate(measured);
      const result = await predict(scenario, rate, o.profile);
      (out.predictions ??= []).push({ variant, rate, result });
    }
  }
  return { file: out, notes };
}

const safe = (name: string) => name.replace(/[^A-Za-z0-9._-]/g, "_");
