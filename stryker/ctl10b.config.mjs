// Round 10: the controller from line 702 to its end (post-copy's requested pages, multifd's flush, the
// switch-over, post-copy, the device state) against the same tests as ctl10a (docs/mutation.md).
// `flock /tmp/livemig-measure.lock npx stryker run stryker/ctl10b.config.mjs --concurrency 2 --incremental`.
import { narrowRun } from "./narrow.mjs";

export default narrowRun("ctl10b", ["src/core/controller.ts:702-905"], "ctl");
