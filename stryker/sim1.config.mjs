// src/sim's RAM and workload models against the sim tests (sim.vitest.config.ts); `sim2.config.mjs`
// has the rest of src/sim but the fleet, so the two can run side by side (docs/mutation.md, round 7).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("sim1", ["src/sim/ram.ts", "src/sim/workload.ts"], "sim");
