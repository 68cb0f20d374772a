// The strategies and the modes each against the tests written for them (stryker.*.vitest.config.ts): against
// the full set each mutant reaches most of the simulator's tests; a narrower set can only kill fewer mutants, never more.
// `nice -n 19 npx stryker run stryker.strategies.config.mjs --concurrency 1` (docs/mutation.md).
import base from "./stryker.config.mjs";

export default {
  ...base,
  vitest: { configFile: "stryker.strategies.vitest.config.ts" },
  mutate: ["src/core/strategies/*.ts"],
  tempDirName: ".stryker-tmp-strategies",
  incrementalFile: "reports/mutation-strategies/incremental.json",
  htmlReporter: { fileName: "reports/mutation-strategies/index.html" },
  jsonReporter: { fileName: "reports/mutation-strategies/mutation.json" },
};
