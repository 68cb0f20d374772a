// The tests `stryker.strategies-modes.config.mjs` runs against each mutant of the strategies and
// the modes (multifd, post-copy, xbzrle, dirty-limit): the tests written for them. Every
// simulator test reaches some strategy, so against the full set each mutant of a strategy
// runs most of the suite; a narrower set can only kill fewer mutants, never more.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "test/strategy-costs.test.ts",
      "test/device-paths.test.ts",
      "test/strategies.test.ts",
      "test/stale-oracle.test.ts",
      "test/simulate.test.ts",
      "test/modes/*.test.ts",
    ],
    testTimeout: 60_000,
    env: { LIVEMIG_MUTATION: "1" },
  },
});
