// src/core's controller and its neighbours against the tests written for them (core.vitest.config.ts).
// Against the full set (all.config.mjs) a mutant of the controller reaches every simulator test: the initial
// run took 3 min 41 s and the first mutants ~24 s each at load 9 (round 6), ~25 h for the 1,317 mutants.
// `nice -n 19 npx stryker run stryker/core.config.mjs --concurrency 1` (docs/mutation.md).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("core", [
  "src/core/controller.ts", "src/core/result.ts", "src/core/params.ts", "src/core/timeline.ts", "src/core/wire.ts",
  "src/core/costs.ts", "src/core/device.ts", "src/core/ports.ts", "src/core/nesting.ts", "src/core/format.ts",
]);
