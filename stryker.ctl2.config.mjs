// The controller's second half (the iteration to the end) against the fast core tests (stryker.ctl.vitest.config.ts).
// `nice -n 19 npx stryker run stryker.ctl2.config.mjs --concurrency 1` (docs/mutation.md, round 7).
import { narrowRun } from "./stryker.narrow.mjs";

export default narrowRun("ctl2", ["src/core/controller.ts:436-815"], "ctl");
