// The tests modes10 runs (docs/mutation.md, round 10): the modes' set (modes.vitest.config.ts) and the fleet's
// (fleet.vitest.config.ts) together, so that one run (one hold of the measurement lock) scores the modes and
// fleet.ts's changed lines; each mutant still runs only the tests that reach it (coverageAnalysis: perTest).
import { defineConfig } from "vitest/config";
import fleet from "./fleet.vitest.config.ts";
import modes from "./modes.vitest.config.ts";

export default defineConfig({
  test: { ...modes.test, include: [...(modes.test?.include ?? []), ...(fleet.test?.include ?? [])] },
});
