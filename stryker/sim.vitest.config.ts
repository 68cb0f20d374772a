// The tests `sim.config.mjs` runs against each mutant (docs/mutation.md, round 6): the RAM and its
// stale-page oracle, the workload models, the link and the network, the destination, the prober, the clock's
// order and its awaited alarms, the fleet's summary, and the controller's whole-migration tests that drive them (~22 s).
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests([
  "test/sim-ram.test.ts", "test/stale-oracle.test.ts", "test/simulate.test.ts", "test/destination.test.ts",
  "test/workload.test.ts", "test/zipf-rank-table.test.ts", "test/prober.test.ts", "test/network.test.ts",
  "test/fleet-summary.test.ts", "test/clock-order.test.ts", "test/clock-awaited.test.ts", "test/controller.test.ts",
  "test/qemu-rules.test.ts", "test/bounded.test.ts", "test/page-walk.test.ts",
]);
