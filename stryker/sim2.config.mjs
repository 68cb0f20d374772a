// src/sim but the RAM, the workloads (sim1.config.mjs) and the fleet (fleet.config.mjs) against the
// sim tests (sim.vitest.config.ts) (docs/mutation.md, round 7).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("sim2", ["src/sim/**/*.ts", "!src/sim/ram.ts", "!src/sim/workload.ts", "!src/sim/fleet.ts", "!src/sim/fleet-plan.ts"], "sim");
