// The tests `ctl1.config.mjs`, `ctl2.config.mjs` and `ctl3.config.mjs` run against each mutant of the controller and
// its neighbours (docs/mutation.md, round 7): the core set (core.vitest.config.ts) without its long runs
// (the strategies' events and costs, xbzrle's, dirty-limit's and post-copy's whole-migration tests, ~45 s of its
// ~55 s), so that a surviving or looping mutant of the main loop costs seconds, not minutes. The mode paths are
// reached by the modes' small tests (mode-results, the multifd sender, the post-copy phase). A lower bound:
// the tests left out can only kill more. `isolate: false` (all of this round's sets): one module graph for all
// the files of a run, where vitest would import the instrumented modules again for each file (half of a run's time).
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests([
  "test/controller.test.ts", "test/controller-hooks.test.ts", "test/page-walk.test.ts", "test/qemu-rules.test.ts",
  "test/result.test.ts", "test/bounded.test.ts", "test/throttle.test.ts", "test/prober.test.ts", "test/clock-order.test.ts",
  "test/modes/mode-results.test.ts", "test/modes/multifd-sender.test.ts", "test/modes/postcopy-phase.test.ts",
  "test/device-paths.test.ts", "test/controller-device-data.test.ts",
  // src/core/nesting.ts's own (the scenario loader's tests reach it too, at ~6 s a mutant instrumented).
  "test/nesting.test.ts",
  // src/core/format.ts's own (elsewhere only the CLI's and the report's tests read its strings).
  "test/format.test.ts",
  // Round 9: slices of quiet pages sent as one (quietSlices, takeQuietSlices; ~0.5 s).
  "test/quiet-slices.test.ts",
  // Round 10: multifd's packets and SYNCs and xbzrle's first round, walked by hand (~1 s).
  "test/modes/mode-walk.test.ts",
]);
