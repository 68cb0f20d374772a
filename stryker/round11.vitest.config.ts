// The tests round11.config.mjs runs (docs/mutation.md, round 11): the wide set of round 10's ctl10c
// (ctlwide.vitest.config.ts: the controller's fast tests, the modes' and strategies' whole migrations, the nesting
// scan's own), the orchestrator's small-guest set (fleet.vitest.config.ts) and `simulate`'s (the prober's figure).
import ctlwide from "./ctlwide.vitest.config.ts";
import fleet from "./fleet.vitest.config.ts";
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests([...(ctlwide.test?.include ?? []), ...(fleet.test?.include ?? []), "test/simulate.test.ts"]);
