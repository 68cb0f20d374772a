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
