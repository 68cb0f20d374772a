// The tests `ctl3.config.mjs` runs against each mutant of the controller's neighbours (docs/mutation.md,
// round 7): those written for them (the result from hand-built timelines, the modes' result fields, the nesting
// scan, the formatting) and the two fast files that check results of whole migrations worked by hand (the
// controller's hooks, QEMU's rules). Narrower than ctl.vitest.config.ts: a result.ts mutant reaches every
// test that builds a result, and there each surviving one cost ~9 s of tests (round 7's first ctl3 run).
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests([
  "test/result.test.ts", "test/modes/mode-results.test.ts", "test/nesting.test.ts", "test/format.test.ts",
  "test/controller-hooks.test.ts", "test/qemu-rules.test.ts",
]);
