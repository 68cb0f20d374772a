// Round 10: the modes (xbzrle, dirty-limit, mode-results: unchanged since round 6, what they call changed) and
// src/sim/fleet.ts's lines changed since round 7 (fleet10.config.mjs's), in one run against both sets' tests.
// `flock /tmp/livemig-measure.lock npx stryker run stryker/modes10.config.mjs --concurrency 2 --incremental`.
import { narrowRun } from "./narrow.mjs";

export default narrowRun("modes10", [
  "src/core/xbzrle.ts", "src/core/dirty-limit.ts", "src/core/mode-results.ts",
  "src/sim/fleet.ts:185-185", "src/sim/fleet.ts:189-189", "src/sim/fleet.ts:195-195",
], "modesfleet");
