// The tests `sim3.config.mjs` runs against each mutant (docs/mutation.md, round 8): those written for the
// files it mutates, each file a fraction of a second uninstrumented (~4 s for the set, 2026-12-01 17:26 UTC), without
// the whole-migration files of sim.vitest.config.ts (the controller's, QEMU's rules, the bounds, the page walk,
// the RAM oracle), which a clock mutant reaches in every test. A lower bound: those can only kill more.
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests([
  "test/clock-order.test.ts", "test/clock-awaited.test.ts", "test/clock-tasks.test.ts", "test/network.test.ts", "test/sim-link.test.ts",
  "test/prober.test.ts", "test/destination.test.ts", "test/simulate.test.ts", "test/simulate-profile.test.ts",
  "test/fleet-summary.test.ts", "test/workload.test.ts", "test/zipf-rank-table.test.ts",
]);
