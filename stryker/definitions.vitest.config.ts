// The tests `definitions.config.mjs` runs against each mutant (docs/mutation.md, round 4).
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests(["test/measure/definitions.test.ts", "test/measure/properties.test.ts"]);
