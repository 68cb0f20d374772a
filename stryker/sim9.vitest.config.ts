// The tests `sim9.config.mjs` runs (docs/mutation.md, round 9): src/sim's fast set
// (simfast.vitest.config.ts) and the joined slices of quiet pages (GuestRam.quietRun,
// Channel.sendSections), which only test/quiet-slices.test.ts reaches among the fast tests.
import { defineConfig } from "vitest/config";
import simfast from "./simfast.vitest.config.ts";

export default defineConfig({
  test: {
    ...simfast.test,
    include: [...(simfast.test?.include ?? []), "test/quiet-slices.test.ts"],
  },
});
