// A Stryker run over some modules against the tests written for them (stryker.NAME.vitest.config.ts),
// with its own sandbox and reports so that it can run beside the main one (docs/mutation.md).
import base from "./stryker.config.mjs";

export function narrowRun(name, mutate) {
  return {
    ...base,
    vitest: { configFile: `stryker.${name}.vitest.config.ts` },
    mutate,
    tempDirName: `.stryker-tmp-${name}`,
    incrementalFile: `reports/mutation-${name}/incremental.json`,
    htmlReporter: { fileName: `reports/mutation-${name}/index.html` },
    jsonReporter: { fileName: `reports/mutation-${name}/mutation.json` },
    // With `--reporters ...,event-recorder`: each mutant's result as it ends, so a run stopped early still tells.
    eventReporter: { baseDir: `reports/mutation-${name}/events` },
  };
}
