// The tests `copymodes.config.mjs` runs against each mutant (docs/mutation.md, round 4).
import { defineConfig } from "vitest/config";

export default defineConfig({ test: { include: ["test/modes/multifd-sender.test.ts", "test/modes/postcopy-phase.test.ts", "test/modes/multifd.test.ts", "test/modes/postcopy.test.ts", "test/modes/mode-results.test.ts"], testTimeout: 60_000, isolate: false, env: { LIVEMIG_MUTATION: "1" } } });
