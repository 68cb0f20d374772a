// Round 11: what rounds 7-10 left neither killed nor argued equivalent: src/core/nesting.ts (round 8's 24 and 30,
// which round 9 could not identify without a report), fleet.ts 255 and 285 (the orchestrator after an abort) and
// controller.ts 470 (an iteration's device and RAM bytes); and what earlier rounds triaged as killed outside their
// narrow sets, partly planted, now run against the tests that reach it: device.ts (the NIC's suspend and ready
// records), result.ts 201 and 264 (post-copy's end, the service figure's guard), the controller's dirty-limit
// paths, post-copy's due check and `ctx.net` (round 7's ctl1). Tests: round11.vitest.config.ts.
// `flock /tmp/livemig-measure.lock npx stryker run stryker/round11.config.mjs --concurrency 2 --incremental` (docs/mutation.md).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("round11", [
  "src/core/nesting.ts", "src/sim/fleet.ts:255-255", "src/sim/fleet.ts:285-285", "src/core/controller.ts:470-470",
  "src/core/device.ts", "src/core/result.ts:201-201", "src/core/result.ts:264-264",
  "src/core/controller.ts:158-158", "src/core/controller.ts:178-180", "src/core/controller.ts:271-275",
  "src/core/controller.ts:338-339", "src/core/controller.ts:361-364", "src/core/controller.ts:373-378",
]);
