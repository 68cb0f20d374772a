// Round 9 (main at 24f9729): what changed in src/sim since round 8's runs (sim3 at e95399d, sim3b at dd023a1):
// the destination's load thread (destination.ts whole, the pipelined arrival in ram.ts's readIntoDestination,
// simulate.ts's load parameters) and fleet8's joined slices (ram.ts's quietRun, the link's and the flow's
// sendSections), against src/sim's fast tests and the quiet-slices test (sim9.vitest.config.ts).
// `nice -n 19 npx stryker run stryker/sim9.config.mjs --concurrency 1` (docs/mutation.md).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("sim9", [
  "src/sim/destination.ts",
  "src/sim/ram.ts:238-300",
  "src/sim/link.ts:27-29",
  "src/sim/network.ts:197-200",
  "src/sim/simulate.ts:177-182",
], "sim9");
