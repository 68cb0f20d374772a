// src/core/multifd.ts against the channel tests worked by hand (test/modes/multifd-sender.test.ts):
// seconds a mutant, where the copymodes run's whole migrations take minutes.
// `nice -n 19 npx stryker run stryker/multifd.config.mjs --concurrency 1` (docs/mutation.md).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("multifd", ["src/core/multifd.ts"]);
