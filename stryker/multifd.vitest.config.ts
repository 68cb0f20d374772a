// The tests `multifd.config.mjs` runs against each mutant (docs/mutation.md, round 6).
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests(["test/modes/multifd-sender.test.ts"], { isolate: true });
