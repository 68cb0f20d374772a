// src/scenario/* against the scenario loader's tests and the input fuzz.
// `nice -n 10 npx stryker run stryker.scenario.config.mjs --concurrency 1` (docs/mutation.md).
import { narrowRun } from "./stryker.narrow.mjs";

export default narrowRun("scenario", ["src/scenario/**/*.ts"]);
