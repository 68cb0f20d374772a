// src/measure/definitions.ts against the tests of the downtime definitions and the parsers' properties.
// `nice -n 10 npx stryker run stryker/definitions.config.mjs --concurrency 1` (docs/mutation.md).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("definitions", ["src/measure/definitions.ts"]);
