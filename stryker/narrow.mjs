// A Stryker run over some modules against the tests written for them (stryker/TESTS.vitest.config.ts,
// TESTS = NAME unless given: several runs over parts of one set share its tests), with its own sandbox
// and reports so that it can run beside the main one (docs/mutation.md).
import base from "./all.config.mjs";

export function narrowRun(name, mutate, tests = name) {
  return {
    ...base,
    vitest: { configFile: `stryker/${tests}.vitest.config.ts` },
    mutate,
    tempDirName: `.stryker-tmp-${name}`,
    incrementalFile: `reports/mutation-${name}/incremental.json`,
    htmlReporter: { fileName: `reports/mutation-${name}/index.html` },
    jsonReporter: { fileName: `reports/mutation-${name}/mutation.json` },
    // With `--reporters ...,event-recorder`: each mutant's result as it ends, so a run stopped early still tells.
    eventReporter: { baseDir: `reports/mutation-${name}/events` },
    // Round 8: on the shared machine (load 8 to 14, six niced processes on two cores) a set's tests ran several times
    // slower than in the initial run Stryker timed them by, and 3 s + 1.25 x that counted every mutant of
    // src/sim/simulate.ts as hung (sim3, 18:10-18:25 UTC). A hang now costs ~10 s more; a slow run is not a kill.
    timeoutMS: 10_000,
    timeoutFactor: 2.5,
  };
}
