// src/core/nesting.ts against its own test (round 9: round 8's ctl3 left 6 of its mutants alive, 5 untriaged).
// `nice -n 19 npx stryker run stryker/nesting.config.mjs --concurrency 1` (docs/mutation.md).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("nesting", ["src/core/nesting.ts"]);
