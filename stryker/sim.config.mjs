// src/sim without fleet.ts (its own run: fleet.config.mjs) and fleet-plan.ts (its --plan search tests
// passed 60 s each in the initial run with the clock instrumented) against the tests written for it
// (sim.vitest.config.ts). Against the full set a mutant of the clock, the RAM or the workload reaches
// every simulator test (the initial run alone: 3 min 41 s at load 9, round 6).
// `nice -n 19 npx stryker run stryker/sim.config.mjs --concurrency 1` (docs/mutation.md).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("sim", ["src/sim/**/*.ts", "!src/sim/fleet.ts", "!src/sim/fleet-plan.ts"]);
