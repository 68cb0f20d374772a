// The tests written for the strategies, and nothing else (docs/mutation.md, rounds 3 and 4): their downtime parts,
// their events, sides and flags, stale pages per strategy (the reference model and the property), the blocked
// VF, and vDPA pinning on a modelled destination.
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests([
  "test/strategy-costs.test.ts",
  "test/strategy-events.test.ts",
  "test/device-paths.test.ts",
  "test/strategies.test.ts",
  "test/stale-oracle.test.ts",
  "test/destination.test.ts",
]);
