import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  // `npm run mutate` keeps its sandbox copies of test/ there while it runs.
  test: { exclude: [...configDefaults.exclude, ".stryker-tmp*/**"], globalSetup: ["test/global-setup.ts"] },
});
