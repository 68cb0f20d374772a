// The tests `stryker.scenario.config.mjs` runs against each mutant (docs/mutation.md, rounds 4 and 5): the
// scenario and fleet loaders' own tests (every unit form, bound, default and refusal, with its exact line)
// and the input fuzz (every mutant of a file is a scenario or one clear rejection). Every simulator test
// loads a scenario too; these are the ones written for loading it.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/scenario.test.ts", "test/scenario-units.test.ts", "test/scenario-load.test.ts", "test/fleet-load.test.ts", "test/input-fuzz.test.ts"],
    testTimeout: 60_000,
    env: { LIVEMIG_MUTATION: "1" },
  },
});
