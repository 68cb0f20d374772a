// src/sim/fleet.ts (the orchestrator) against its rules on small guests and the drain summary.
// `nice -n 10 npx stryker run stryker/fleet.config.mjs --concurrency 1` (docs/mutation.md).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("fleet", ["src/sim/fleet.ts"]);
