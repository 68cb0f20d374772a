// The tests written for the strategies' downtime parts, and nothing else (docs/mutation.md, round 3).
import { defineConfig } from "vitest/config";

export default defineConfig({ test: { include: ["test/strategy-costs.test.ts", "test/device-paths.test.ts"], testTimeout: 60_000, env: { LIVEMIG_MUTATION: "1" } } });
