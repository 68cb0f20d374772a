// Every test that starts the livemig command runs the bundle users run (dist/cli/, package.json's
// `bin`), built afresh from src/ here: `npx vitest run FILE` after a source change tests the change.
import { execFileSync } from "node:child_process";

export default function buildCli(): void {
  execFileSync(process.execPath, ["src/cli/build.mjs"], { stdio: "inherit" });
}
