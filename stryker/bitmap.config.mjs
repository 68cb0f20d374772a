// src/core/bitmap.ts alone, against its own tests (bitmap.vitest.config.ts):
// `nice -n 19 npx stryker run stryker/bitmap.config.mjs` (docs/mutation.md).
import { narrowRun } from "./narrow.mjs";

export default narrowRun("bitmap", ["src/core/bitmap.ts"]);
