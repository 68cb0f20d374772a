// src/core/postcopy.ts alone against the copy modes' tests (copymodes.vitest.config.ts): multifd.ts has
// its own run (multifd.config.mjs). `nice -n 19 npx stryker run stryker/postcopy.config.mjs --concurrency 1`.
import { narrowRun } from "./narrow.mjs";

export default narrowRun("postcopy", ["src/core/postcopy.ts"], "copymodes");
