// The controller's second half (the iteration to the end) against the fast core tests (stryker.ctl.vitest.config.ts).
// `nice -n 19 npx stryker run stryker.ctl2.config.mjs --concurrency 1` (docs/mutation.md, round 7).
// Round 8: from line 446, where ctl1's lines 1-435 of round 7's file (commit 5bfafb4) end now that ten lines of
// constants (sliceBuildMs, runChunkMaxPages) came before them, to the file's end.
import { narrowRun } from "./stryker.narrow.mjs";

export default narrowRun("ctl2", ["src/core/controller.ts:446-829"], "ctl");
