// Round 10: src/sim/fleet.ts's lines changed since round 7's run (evacuate --profile: the profile's stream
// caps each flow, every migration runs on the profile), against the orchestrator's small-guest tests.
// `flock /tmp/livemig-measure.lock npx stryker run stryker/fleet10.config.mjs --concurrency 2 --incremental`.
import { narrowRun } from "./narrow.mjs";

export default narrowRun("fleet10", ["src/sim/fleet.ts:185-185", "src/sim/fleet.ts:189-189", "src/sim/fleet.ts:195-195"], "fleet");
