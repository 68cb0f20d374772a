// src/sim but the RAM (sim1's, finished in round 7), the fleet and the plan search (their own runs) against the
// sim's fast tests (simfast.vitest.config.ts): the clock, the network, the single-VM simulation, the
// destination, the prober, the link, the random source, the drain summary and the workload models
// (docs/mutation.md, round 8). `nice -n 19 npx stryker run stryker/sim3.config.mjs --concurrency 1`.
import { narrowRun } from "./narrow.mjs";

export default narrowRun("sim3", ["src/sim/**/*.ts", "!src/sim/ram.ts", "!src/sim/fleet.ts", "!src/sim/fleet-plan.ts"], "simfast");
