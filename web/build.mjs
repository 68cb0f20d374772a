// Bundles the what-if page (web/) for the browser into dist/web/: the page, its script and
// the simulator's worker (src/core, src/sim and src/scenario use no Node API).
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = dirname(fileURLToPath(import.meta.url));
const out = join(web, "..", "dist", "web");
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: join(web, "app.ts"), worker: join(web, "worker.ts") },
  outdir: out,
  bundle: true,
  minify: true,
  format: "iife",
  platform: "browser",
  target: "es2022",
  sourcemap: true,
  logLevel: "warning",
});
copyFileSync(join(web, "index.html"), join(out, "index.html"));
