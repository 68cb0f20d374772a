// The tests `sim9.config.mjs` runs (docs/mutation.md, round 9): src/sim's fast set
// (simfast.vitest.config.ts) and the joined slices of quiet pages (GuestRam.quietRun,
// Channel.sendSections), which only test/quiet-slices.test.ts reaches among the fast tests.
import { mutationTests } from "./mutation-tests.ts";
import simfast from "./simfast.vitest.config.ts";

export default mutationTests([...(simfast.test?.include ?? []), "test/quiet-slices.test.ts"]);
