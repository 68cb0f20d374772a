// Round 10: the controller's lines ctl2b left (583-905) in two runs of <= 25 minutes each (docs/mutation.md):
// this one 583-701 (the rest of sendDirty, takeQuietSlices, takeWord, xbzrle's encodeSlice), ctl10b the rest.
// `flock /tmp/livemig-measure.lock npx stryker run stryker/ctl10a.config.mjs --concurrency 2 --incremental`.
import { narrowRun } from "./narrow.mjs";

export default narrowRun("ctl10a", ["src/core/controller.ts:583-701"], "ctl");
