// The controller's first half (the constructor to the devices' data) against the fast core tests
// (ctl.vitest.config.ts); `ctl2.config.mjs` has the rest, so the two can run side by side.
// `nice -n 19 npx stryker run stryker/ctl1.config.mjs --concurrency 1` (docs/mutation.md, round 7).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("ctl1", ["src/core/controller.ts:1-435"], "ctl");
