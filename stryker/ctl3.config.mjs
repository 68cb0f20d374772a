// The controller's neighbours in src/core (the result, the parameters, the timeline, the wire formats, the costs,
// the device port, the nesting scan, the formatting) against the tests written for them (ctl3.vitest.config.ts).
// `nice -n 19 npx stryker run stryker/ctl3.config.mjs --concurrency 1` (docs/mutation.md, round 7).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("ctl3", [
  "src/core/result.ts", "src/core/params.ts", "src/core/timeline.ts", "src/core/wire.ts", "src/core/costs.ts",
  "src/core/device.ts", "src/core/ports.ts", "src/core/nesting.ts", "src/core/format.ts",
], "ctl3");
