// The tests `stryker.scenario.config.mjs` runs against each mutant (docs/mutation.md, round 4).
import { defineConfig } from "vitest/config";

export default defineConfig({ test: { include: ["test/scenario.test.ts", "test/input-fuzz.test.ts", "test/fleet.test.ts"], testTimeout: 60_000, env: { LIVEMIG_MUTATION: "1" } } });
