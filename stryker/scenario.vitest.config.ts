// The tests `scenario.config.mjs` runs against each mutant (docs/mutation.md, round 5): the scenario
// and fleet loaders' own tests, which name every unit form, bound, default and refusal with its exact line.
// Not the input fuzz (test/input-fuzz.test.ts, still in `npm test`): its 400 cases take ~20 s a mutant on
// the shared machine (about 5 h for src/scenario) and check only that a rejection is one line, not which.
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests(["test/scenario.test.ts", "test/scenario-units.test.ts", "test/scenario-load.test.ts", "test/fleet-load.test.ts"]);
