// src/core/bitmap.ts alone, against its own tests (stryker.bitmap.vitest.config.ts):
// `nice -n 19 npx stryker run stryker.bitmap.config.mjs` (docs/mutation.md).
import base from "./stryker.config.mjs";

export default {
  ...base,
  vitest: { configFile: "stryker.bitmap.vitest.config.ts" },
  mutate: ["src/core/bitmap.ts"],
  tempDirName: ".stryker-tmp-bitmap",
  incrementalFile: "reports/mutation-bitmap/incremental.json",
  htmlReporter: { fileName: "reports/mutation-bitmap/index.html" },
  jsonReporter: { fileName: "reports/mutation-bitmap/mutation.json" },
};
