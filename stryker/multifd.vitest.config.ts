// The tests `multifd.config.mjs` runs against each mutant (docs/mutation.md, round 6).
import { defineConfig } from "vitest/config";

export default defineConfig({ test: { include: ["test/modes/multifd-sender.test.ts"], testTimeout: 60_000, env: { LIVEMIG_MUTATION: "1" } } });
