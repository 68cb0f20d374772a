import { loadScenario } from "../src/scenario/load.js";
import type { Scenario } from "../src/scenario/schema.js";
import { simulate } from "../src/sim/simulate.js";

/** A validated scenario from YAML text (the base run). */
export function scenario(yaml: string): Scenario {
  return loadScenario(yaml, "test.yaml")[0].scenario;
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
