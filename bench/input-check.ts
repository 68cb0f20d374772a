// One input through the entry the CLI uses, classified as the CLI would end: accepted,
// rejected (the error classes main.ts prints as one `livemig: ...` line with exit 2), or
// crashed (anything else: main.ts would rethrow it, a stack trace and exit 1).

import { UsageError } from "../src/cli/errors.js";
import { analyzeArguments } from "../src/cli/analyze-commands.js";
import { InputError } from "../src/measure/files.js";
import { loadScenario, ScenarioError, type ScenarioRun } from "../src/scenario/load.js";

export type Outcome<T> = { kind: "accepted"; value: T } | { kind: "rejected"; message: string } | { kind: "crashed"; error: unknown };

/** What main.ts prints for a rejection is `livemig: ${message}`: it must be one line. */
export function oneLine(message: string): boolean {
  return message.length > 0 && !/[\r\n]/.test(message);
}

function classify<T>(work: () => T): Outcome<T> {
  try {
    return { kind: "accepted", value: work() };
  } catch (e) {
    if (e instanceof ScenarioError || e instanceof UsageError || e instanceof InputError) return { kind: "rejected", message: e.message };
    return { kind: "crashed", error: e };
  }
}

/** `livemig simulate FILE` up to the simulation: the scenario loader. */
export function checkScenario(text: string, file: string): Outcome<ScenarioRun[]> {
  return classify(() => loadScenario(text, file));
}

/** `livemig analyze FILE`: detection, every parser, the run analysis. */
export function checkMeasurement(path: string): Outcome<ReturnType<typeof analyzeArguments>> {
  return classify(() => analyzeArguments([path], {}));
}
