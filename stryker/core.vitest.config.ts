// The tests `core.config.mjs` runs against each mutant (docs/mutation.md, round 6): the controller's
// rules worked by hand, its hooks, the result and the QEMU rules, the stale-page oracle, the strategies' events
// and costs, the modes and the devices' data paths; about 55 s of tests where the full set takes 146 s.
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests(
  [
    "test/controller.test.ts", "test/controller-hooks.test.ts", "test/page-walk.test.ts", "test/qemu-rules.test.ts",
    "test/stale-oracle.test.ts", "test/strategy-events.test.ts", "test/result.test.ts", "test/bounded.test.ts",
    "test/throttle.test.ts", "test/prober.test.ts", "test/strategy-costs.test.ts", "test/clock-order.test.ts",
    // The controller's mode paths (multifd, xbzrle, dirty-limit, post-copy) and the devices' data paths.
    "test/modes/*.test.ts", "test/device-paths.test.ts",
  ],
  { isolate: true },
);
