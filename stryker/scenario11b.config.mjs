// Round 11: the rest of src/scenario (scenario11a.config.mjs has load.ts and assemble.ts) against the same tests.
// `flock /tmp/livemig-measure.lock npx stryker run stryker/scenario11b.config.mjs --concurrency 2 --incremental`.
import { narrowRun } from "./narrow.mjs";

export default narrowRun("scenario11b", ["src/scenario/units.ts", "src/scenario/schema.ts", "src/scenario/fleet.ts"], "scenario");
