// The controller's second half (the iteration to the end) and its neighbours against the fast core tests
// (stryker.ctl.vitest.config.ts). `nice -n 19 npx stryker run stryker.ctl2.config.mjs --concurrency 1`.
import { narrowRun } from "./stryker.narrow.mjs";

export default narrowRun("ctl2", [
  "src/core/controller.ts:436-815", "src/core/result.ts", "src/core/params.ts", "src/core/timeline.ts", "src/core/wire.ts",
  "src/core/costs.ts", "src/core/device.ts", "src/core/ports.ts", "src/core/nesting.ts", "src/core/format.ts",
], "ctl");
