// src/core/bitmap.ts alone, against its own tests (stryker.bitmap.vitest.config.ts):
// `nice -n 19 npx stryker run stryker.bitmap.config.mjs` (docs/mutation.md).
import { narrowRun } from "./stryker.narrow.mjs";

export default narrowRun("bitmap", ["src/core/bitmap.ts"]);
