// src/core/nesting.ts's own test, alone (docs/mutation.md, round 9): ctl3 ran it with the controller's neighbours.
import { defineConfig } from "vitest/config";

export default defineConfig({ test: { include: ["test/nesting.test.ts"], testTimeout: 60_000, isolate: false, env: { LIVEMIG_MUTATION: "1" } } });
