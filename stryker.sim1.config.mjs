// src/sim's RAM and workload models against the sim tests (stryker.sim.vitest.config.ts); `stryker.sim2.config.mjs`
// has the rest of src/sim but the fleet, so the two can run side by side (docs/mutation.md, round 7).
import { narrowRun } from "./stryker.narrow.mjs";

export default narrowRun("sim1", ["src/sim/ram.ts", "src/sim/workload.ts"], "sim");
