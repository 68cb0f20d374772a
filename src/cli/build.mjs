// Builds the livemig command into dist/cli/ (docs/benchmarks.md, start-up):
// - livemig.cjs: main.ts and every module it imports, one CommonJS script, run by main.js through
//   V8's code cache (start.ts); a command's modules are evaluated when it runs (esbuild wraps each
//   dynamically imported module in a function), so they cost little more than their bytes;
// - main.js (start.ts, package.json's `bin`), the HTML report (html-index.js, html-fleet.js: an ES
//   module, as vega, which has top-level await, must be imported, not required) and the worker
//   files: ES modules, their shared code in chunks;
// - livemig.cjs.cache: V8's code cache of the bundle after a simulation, made by running one.
//
// Every output file is in the one directory dist/cli/, so code that finds a file beside it by
// `new URL("./x.js", import.meta.url)` finds it from whichever file esbuild put that code in:
// each `new Worker(new URL("./NAME.js", import.meta.url))` (or `new Thread(...)`) under src/ makes NAME.ts an entry
// named NAME.js, and the live engine's `../cli/main.js` (the destination process) is main.js.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
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

/** The HTML report's entries: src/report/html/NAME.ts is html-NAME.js. */
const htmlEntries = { "html-index": join(src, "report", "html", "index.ts"), "html-fleet": join(src, "report", "html", "fleet.ts") };

// A script run through a code cache cannot import() (V8 loses the script's referrer with the cache),
// so the command bundle has no import(): it imports the HTML report (an ES module: vega has top-level
// await and cannot be required) through `__livemigImport`, which start.ts passes it, and requires
// Node's modules.
const noDynamicImport = {
  name: "no-dynamic-import",
  setup(b) {
    b.onResolve({ filter: /\/report\/html\/(index|fleet)\.js$/ }, (args) => {
      const name = /(index|fleet)\.js$/.exec(args.path)[1];
      if (args.kind !== "dynamic-import") return { errors: [{ text: `${args.importer} imports the HTML report statically; import() it (vega cannot be required)` }] };
      return { path: join(src, "report", "html", `${name}.ts`), namespace: "html-report", pluginData: name };
    });
    // Its async functions, each importing html-NAME.js when first called.
    b.onLoad({ filter: /.*/, namespace: "html-report" }, (args) => ({
      contents: [...readFileSync(args.path, "utf8").matchAll(/^export async function (\w+)/gm)]
        .map(([, fn]) => `export const ${fn} = async (...args) => (await __livemigImport("./html-${args.pluginData}.js")).${fn}(...args);`)
        .join("\n"),
      loader: "js",
    }));
    b.onResolve({ filter: /^node:/ }, (args) => (args.kind === "dynamic-import" ? { path: args.path, namespace: "node-module" } : undefined));
    // Any other import() left in the bundle would fail only when it runs: refuse it here.
    b.onResolve({ filter: /^vega(-lite)?$/ }, (args) => ({ errors: [{ text: `${args.importer} imports ${args.path}: only the HTML report (html-NAME.js) may, the command bundle cannot import()` }] }));
    b.onLoad({ filter: /.*/, namespace: "node-module" }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: "js" }));
  },
};

const common = { bundle: true, platform: "node", target: "node20", external: ["vega", "vega-lite"], sourcemap: true, logLevel: "warning" };
rmSync(out, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { livemig: join(src, "cli", "main.ts") },
  outdir: out,
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  // The modules' `import.meta.url` (project root, worker files) is the bundle's; any other use of
  // import.meta, empty in a CommonJS script, is an error here rather than undefined when it runs.
  define: { "import.meta.url": "__livemigBundleUrl", "import.meta.filename": "__filename", "import.meta.dirname": "__dirname" },
  logOverride: { "empty-import-meta": "error" },
  banner: { js: 'const __livemigBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [noDynamicImport],
});
const modules = await build({
  ...common,
  entryPoints: { main: join(src, "cli", "start.ts"), ...htmlEntries, ...workerEntries() },
  outdir: out,
  splitting: true,
  format: "esm",
  chunkNames: "[name]-[hash]",
  metafile: true,
  // The CommonJS packages bundled require Node's modules.
  banner: { js: 'import { createRequire as __livemigRequire } from "node:module"; const require = __livemigRequire(import.meta.url);' },
});
// Which source modules each ES module file holds (test/startup.test.ts reads it).
writeFileSync(join(out, "meta.json"), JSON.stringify(modules.metafile));
// The code cache: V8 keeps the code of every function compiled by then, so a simulation with its
// tables covers what most commands run (the demo's base run fails on purpose: exit 1).
const primed = spawnSync(process.execPath, [join(out, "main.js"), "simulate", join(root, "scenarios", "demo.yaml")], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
if (primed.status !== 1) throw new Error(`livemig simulate scenarios/demo.yaml (to make the code cache) exited ${primed.status}: ${primed.stderr}`);
