// The controller's second half (the iteration to the end) against the fast core tests (ctl.vitest.config.ts).
// `nice -n 19 npx stryker run stryker/ctl2.config.mjs --concurrency 1` (docs/mutation.md, round 7).
// Round 8: from line 446, where ctl1's lines 1-435 of round 7's file (commit 5bfafb4) end now that ten lines of
// constants (sliceBuildMs, runChunkMaxPages) came before them, to the file's end.
// Round 9 (main at 24f9729): the iteration now starts at line 452 (the file is 905 lines), and the lines ctl1's
// range gained since (the start time the deadlines count from, the pages of a full slice) are run here too.
import { narrowRun } from "./narrow.mjs";

export default narrowRun("ctl2", [
  "src/core/controller.ts:106-107",
  "src/core/controller.ts:148-148",
  "src/core/controller.ts:206-206",
  "src/core/controller.ts:452-905",
], "ctl");
