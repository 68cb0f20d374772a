import { defineConfig } from "vitest/config";
export default defineConfig({ test: { include: ["test/fleet-rules.test.ts"], testTimeout: 60_000 } });
