// The strategies and the modes against the tests written for them
// (stryker.strategies-modes.vitest.config.ts):
// `nice -n 19 npx stryker run stryker.strategies-modes.config.mjs --concurrency 1` (docs/mutation.md).
import base from "./stryker.config.mjs";

export default {
  ...base,
  vitest: { configFile: "stryker.strategies-modes.vitest.config.ts" },
  mutate: ["src/core/strategies/*.ts", "src/core/multifd.ts", "src/core/postcopy.ts", "src/core/xbzrle.ts", "src/core/dirty-limit.ts", "src/core/mode-results.ts"],
  tempDirName: ".stryker-tmp-strategies-modes",
  incrementalFile: "reports/mutation-strategies-modes/incremental.json",
  htmlReporter: { fileName: "reports/mutation-strategies-modes/index.html" },
  jsonReporter: { fileName: "reports/mutation-strategies-modes/mutation.json" },
};
