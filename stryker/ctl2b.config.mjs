// Round 9: the rest of ctl2 (controller.ts from line 581 to the end), after ctl2 was stopped at mutant 187 of 559
// (line 581) to let src/sim's changes (sim9) and bitmap.ts run first; the same tests (ctl.vitest.config.ts).
// `nice -n 19 npx stryker run stryker/ctl2b.config.mjs --concurrency 1` (docs/mutation.md).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("ctl2b", ["src/core/controller.ts:581-905"], "ctl");
