// The strategies and the modes each against the tests written for them (stryker/*.vitest.config.ts): against
// the full set each mutant reaches most of the simulator's tests; a narrower set can only kill fewer mutants, never more.
// `nice -n 19 npx stryker run stryker/strategies.config.mjs --concurrency 1` (docs/mutation.md).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("strategies", ["src/core/strategies/*.ts"]);
