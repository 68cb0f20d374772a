import { loadScenario, ScenarioError } from "../src/scenario/load.js";
import type { Scenario } from "../src/scenario/schema.js";
import { simulate } from "../src/sim/simulate.js";

/** The problems a loader refuses a file with (a ScenarioError's lines); [] when it loads. */
export function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems;
    throw e;
  }
  return [];
}

/** A validated scenario from YAML text (the base run). */
export function scenario(yaml: string): Scenario {
  return loadScenario(yaml, "test.yaml")[0].scenario;
}

/** The parts of a scenario file that the tests vary; `scenarioYaml` writes the file. */
export interface ScenarioParts {
  name?: string;
  seed?: number;
  memory: string;
  used?: string;
  /** With `workingSet`, a guest writing `rate` pages/s over it (`kind`, uniform unless said); without, an idle one. */
  workingSet?: string;
  rate?: number;
  kind?: string;
  /** The link's bandwidth; 10 Gbit/s unless said. */
  bandwidth?: string;
  /** The migration map's entries as a file writes them: "maxBandwidth: 0, autoConverge: true". */
  migration?: string;
  /** The devices list's entries as a file writes them: "{kind: vdpa, pinning: early}". */
  devices?: string;
}

/** A scenario file (YAML) from its parts. */
export function scenarioYaml(p: ScenarioParts): string {
  const workload = p.workingSet === undefined ? "" : `, workload: {kind: ${p.kind ?? "uniform"}, workingSet: ${p.workingSet}, rate: ${p.rate ?? 0}}`;
  return [
    `name: ${p.name ?? "test"}`,
    p.seed === undefined ? "" : `seed: ${p.seed}`,
    `vm: {memory: ${p.memory}${p.used === undefined ? "" : `, used: ${p.used}`}${workload}}`,
    `link: {bandwidth: ${p.bandwidth ?? "10Gbit/s"}}`,
    p.migration === undefined ? "" : `migration: {${p.migration}}`,
    p.devices === undefined ? "" : `devices: [${p.devices}]`,
  ].filter((line) => line !== "").join("\n") + "\n";
}

export async function run(yaml: string, seed?: number) {
  return simulate(scenario(yaml), { seed });
}

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;

/**
 * Under `npm run mutate` (docs/mutation.md) every test runs against hundreds of mutants:
 * the long runs are left out there and property tests try a third of their cases.
 */
export const mutating = process.env.LIVEMIG_MUTATION === "1";
export const propertyRuns = (n: number) => (mutating ? Math.ceil(n / 3) : n);
