// The strategies and the modes each against the tests written for them (stryker.*.vitest.config.ts): against
// the full set each mutant reaches most of the simulator's tests; a narrower set can only kill fewer mutants, never more.
// `nice -n 19 npx stryker run stryker.modes.config.mjs --concurrency 1` (docs/mutation.md).
import base from "./stryker.config.mjs";

export default {
  ...base,
  vitest: { configFile: "stryker.modes.vitest.config.ts" },
  mutate: ["src/core/xbzrle.ts", "src/core/dirty-limit.ts", "src/core/mode-results.ts"],
  tempDirName: ".stryker-tmp-modes",
  incrementalFile: "reports/mutation-modes/incremental.json",
  htmlReporter: { fileName: "reports/mutation-modes/index.html" },
  jsonReporter: { fileName: "reports/mutation-modes/mutation.json" },
};
