// The tests `bitmap.config.mjs` runs against each mutant of src/core/bitmap.ts: the bitmap's
// own property tests (against a plain boolean array) and the fast tests that walk, log and
// send pages through it. Instrumented, every bitmap word operation goes through Stryker's
// mutant switch, and the 4 GiB guests of the full set (test/throttle.test.ts) then take
// minutes per mutant; what they would check of the bitmap these tests check on small guests.
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests([
  "test/bitmap.test.ts", "test/sim-ram.test.ts", "test/page-walk.test.ts", "test/stale-oracle.test.ts", "test/qemu-rules.test.ts",
  // Round 9: pastNthSet and PageRuns.addSet, through the joined slices of quiet pages.
  "test/quiet-slices.test.ts",
]);
