// multifd and post-copy against the tests written for them (whole migrations of small guests).
// `nice -n 10 npx stryker run stryker/copymodes.config.mjs --concurrency 1` (docs/mutation.md).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("copymodes", ["src/core/multifd.ts", "src/core/postcopy.ts"]);
