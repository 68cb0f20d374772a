// src/sim/fleet-plan.ts, the plan search, against its own tests (fleetplan.vitest.config.ts): outside the
// sim runs, where the clock is instrumented too and the search passed its 60 s (docs/mutation.md, round 6).
// `nice -n 19 npx stryker run stryker/fleetplan.config.mjs --concurrency 1`.
import { narrowRun } from "./narrow.mjs";

export default narrowRun("fleetplan", ["src/sim/fleet-plan.ts"]);
