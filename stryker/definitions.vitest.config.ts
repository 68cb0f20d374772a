// The tests `definitions.config.mjs` runs against each mutant (docs/mutation.md, round 4).
import { defineConfig } from "vitest/config";

export default defineConfig({ test: { include: ["test/measure/definitions.test.ts", "test/measure/properties.test.ts"], testTimeout: 60_000, env: { LIVEMIG_MUTATION: "1" } } });
