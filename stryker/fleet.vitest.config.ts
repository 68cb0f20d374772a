// The tests `fleet.config.mjs` runs against each mutant (docs/mutation.md, round 4): the orchestrator's
// rules on 32 to 256 MiB guests, the drain's early stops (round 7), and the drain summary. test/fleet.test.ts (1 to 4 GiB guests, a 200 s nova run)
// checks the same rules on the figures but takes tens of seconds per mutant.
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests(["test/fleet-rules.test.ts", "test/fleet-summary.test.ts", "test/fleet-stop.test.ts"]);
