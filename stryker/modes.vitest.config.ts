// The tests written for the modes (xbzrle, dirty-limit, their result fields), and nothing else (docs/mutation.md, round 3).
import { defineConfig } from "vitest/config";
export default defineConfig({ test: { include: ["test/modes/mode-results.test.ts", "test/modes/xbzrle.test.ts", "test/modes/dirty-limit.test.ts", "test/modes/mode-walk.test.ts"], testTimeout: 60_000, isolate: false, env: { LIVEMIG_MUTATION: "1" } } });
