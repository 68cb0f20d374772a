// The tests `fleetplan.config.mjs` runs against each mutant of src/sim/fleet-plan.ts (docs/mutation.md,
// round 7): the plan search against every trial run to its end (1.5 to 2 GiB guests, ~5 s uninstrumented).
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests(["test/fleet-plan.test.ts"], { testTimeout: 120_000 });
