// src/sim without fleet.ts (its own run: stryker.fleet.config.mjs) against the main run's tests
// (stryker.vitest.config.ts), with its own sandbox and report so that it can run beside a main run on src/core.
// `nice -n 19 npx stryker run stryker.sim.config.mjs --concurrency 1` (docs/mutation.md, round 6).
import { narrowRun } from "./stryker.narrow.mjs";

export default {
  ...narrowRun("sim", ["src/sim/**/*.ts", "!src/sim/fleet.ts"]),
  vitest: { configFile: "stryker.vitest.config.ts" },
};
