// The tests modes10 runs (docs/mutation.md, round 10): the modes' set (modes.vitest.config.ts) and the fleet's
// (fleet.vitest.config.ts) together, so that one run (one hold of the measurement lock) scores the modes and
// fleet.ts's changed lines; each mutant still runs only the tests that reach it (coverageAnalysis: perTest).
import fleet from "./fleet.vitest.config.ts";
import modes from "./modes.vitest.config.ts";
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests([...(modes.test?.include ?? []), ...(fleet.test?.include ?? [])]);
