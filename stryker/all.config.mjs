// Mutation testing (`npm run mutate`, not part of `npm test`): docs/mutation.md has the figures.
// TypeScript 7 has no compiler API, so Stryker's typescript-checker cannot run (its peer
// dependency cannot be satisfied beside TS 7): mutants that
// would not type-check are run against the tests like any other.
export default {
  testRunner: "vitest",
  vitest: { configFile: "stryker/all.vitest.config.ts" },
  // src/core/bitmap.ts has its own run (bitmap.config.mjs): instrumented, the 4 GiB
  // guests of this test set take minutes on it, and the initial run times out.
  mutate: ["src/core/**/*.ts", "!src/core/bitmap.ts", "src/sim/**/*.ts", "src/measure/definitions.ts", "src/scenario/**/*.ts"],
  coverageAnalysis: "perTest",
  // Static mutants (module-level constants: cost tables, QEMU's defaults, zod schemas) would
  // run every test each; they are counted as ignored, and docs/mutation.md says which matter.
  ignoreStatic: true,
  // The machine is shared with helpers that measure: one test process, and run it under
  // `nice -n 19` (docs/mutation.md).
  concurrency: 1,
  // A mutant that loops forever (a window that never closes) counts as killed after this.
  timeoutMS: 3000,
  timeoutFactor: 1.25,
  incrementalFile: "reports/mutation/incremental.json",
  reporters: ["clear-text", "progress-append-only", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  // Other runs' sandboxes too (narrow.mjs runs side by side): copying one while it changes fails the run.
  // bench/ is copied: test/input-fuzz.test.ts imports its mutators and checker (left out, the fuzz never ran).
  ignorePatterns: ["dist", "web", "guest", "docs", "reports", "out", ".cache", ".stryker-tmp*"],
  tempDirName: ".stryker-tmp",
  // Stryker rewrites the tsconfig's extends/references with the TypeScript API, which TS 7 lacks;
  // ours has neither, so it is left as it is (no such file: nothing to rewrite).
  tsconfigFile: "no-tsconfig-rewrite.json",
  cleanTempDir: "always",
};
