// The tests `stryker.scenario.config.mjs` runs against each mutant (docs/mutation.md, round 4): the scenario
// loader's own tests and the input fuzz (every mutant of a file is a scenario or one clear rejection). Every
// simulator test loads a scenario too; these are the ones written for loading it.
import { defineConfig } from "vitest/config";

export default defineConfig({ test: { include: ["test/scenario.test.ts", "test/input-fuzz.test.ts"], testTimeout: 60_000, env: { LIVEMIG_MUTATION: "1" } } });
