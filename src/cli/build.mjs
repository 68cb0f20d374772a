// Bundles the livemig command into dist/cli/ (package.json's `bin`): one file to start from
// instead of ~150 modules resolved through node_modules (docs/benchmarks.md, start-up). Each
// command's modules stay in chunks of their own, imported when the command runs.
//
// Every output file is in the one directory dist/cli/, so code that finds a file beside it by
// `new URL("./x.js", import.meta.url)` finds it from whichever chunk esbuild put that code in:
// each `new Worker(new URL("./NAME.js", import.meta.url))` (or `new Thread(...)`) under src/ makes NAME.ts an entry
// named NAME.js, and the live engine's `../cli/main.js` (the destination process) is main.js.
import { build } from "esbuild";
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const src = join(root, "src");
const out = join(root, "dist", "cli");

/** The worker files the source starts by path: {NAME: src/.../NAME.ts}. */
function workerEntries() {
  const entries = {};
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
  for (const file of walk(src)) {
    for (const m of readFileSync(file, "utf8").matchAll(/new (?:Worker|Thread)\(new URL\("\.\/([\w-]+)\.js", import\.meta\.url\)/g)) {
      const entry = join(dirname(file), `${m[1]}.ts`);
      if (entries[m[1]] && entries[m[1]] !== entry) throw new Error(`two worker files named ${m[1]}.js: ${entries[m[1]]} and ${entry}`);
      entries[m[1]] = entry;
    }
  }
  return entries;
}

const entryPoints = { main: join(src, "cli", "main.ts"), ...workerEntries() };
rmSync(out, { recursive: true, force: true });
const result = await build({
  entryPoints,
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // vega and vega-lite (the HTML report) are loaded as installed: only --html needs them.
  external: ["vega", "vega-lite"],
  chunkNames: "[name]-[hash]",
  sourcemap: true,
  metafile: true,
  // The CommonJS packages bundled (commander, cli-table3) require Node's modules.
  banner: { js: 'import { createRequire as __livemigRequire } from "node:module"; const require = __livemigRequire(import.meta.url);' },
  logLevel: "warning",
});
// Which source modules each output file holds (test/startup.test.ts reads it).
writeFileSync(join(out, "meta.json"), JSON.stringify(result.metafile));
