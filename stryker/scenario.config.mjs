// src/scenario/* against the scenario and fleet loaders' tests (scenario.vitest.config.ts).
// `nice -n 19 npx stryker run stryker/scenario.config.mjs --concurrency 1` (docs/mutation.md).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("scenario", ["src/scenario/**/*.ts"]);
