// What every Stryker run's vitest config shares (docs/mutation.md): the test files it names, a minute a test
// (instrumented code, every mutant behind a switch, runs several times slower), and LIVEMIG_MUTATION=1, under
// which the long runs are left out. `isolate: false` unless said (the sets since round 7): one module graph for
// all the files of a run, where vitest would import the instrumented modules again for each file.
import { defineConfig, type ViteUserConfig } from "vitest/config";

export function mutationTests(include: string[], o: { isolate?: boolean; testTimeout?: number; exclude?: string[] } = {}): ViteUserConfig {
  return defineConfig({
    test: {
      include,
      ...(o.exclude ? { exclude: o.exclude } : {}),
      testTimeout: o.testTimeout ?? 60_000,
      isolate: o.isolate ?? false,
      env: { LIVEMIG_MUTATION: "1" },
    },
  });
}
