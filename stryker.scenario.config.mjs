// src/scenario/* against the scenario, input-fuzz and fleet tests (every sim test loads a scenario; these are the ones written for loading it).
// `nice -n 10 npx stryker run stryker.scenario.config.mjs --concurrency 1` (docs/mutation.md).
import { narrowRun } from "./stryker.narrow.mjs";

export default narrowRun("scenario", ["src/scenario/**/*.ts"]);
