// The tests `copymodes.config.mjs` runs against each mutant (docs/mutation.md, round 4).
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests(["test/modes/multifd-sender.test.ts", "test/modes/postcopy-phase.test.ts", "test/modes/multifd.test.ts", "test/modes/postcopy.test.ts", "test/modes/mode-results.test.ts"]);
