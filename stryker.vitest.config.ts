// The tests `npm run mutate` runs against each mutant: the fast unit tests of what it mutates
// (src/core, src/sim, src/measure/definitions.ts, src/scenario). No browser, live engine,
// network namespace, QEMU or built-CLI test: they run dist/, which Stryker does not mutate.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "test/*.test.ts",
      "test/modes/*.test.ts",
      "test/measure/definitions.test.ts",
      "test/measure/properties.test.ts",
      "test/qemu/calibrate.test.ts",
    ],
    // These run the built CLI (dist/), which Stryker does not mutate.
    exclude: ["test/cli.test.ts", "test/cli-errors.test.ts", "test/evacuate-cli.test.ts", "test/readme.test.ts", "test/startup.test.ts", "test/measure/cli.test.ts"],
    // Instrumented code (every mutant behind a switch) runs several times slower.
    testTimeout: 60_000,
    // test/strategies.test.ts leaves out its 2 to 128 GiB seed-figure runs under mutation.
    env: { LIVEMIG_MUTATION: "1" },
  },
});
