#!/usr/bin/env node
// The livemig command's entry (dist/cli/main.js, package.json's `bin`). It runs the command
// bundle dist/cli/livemig.cjs (main.ts and what it imports) as a script with V8's code cache, so
// that a command starts without parsing and compiling again the JavaScript it runs: Node 20 has
// no compile cache for ES modules (`module.enableCompileCache` is Node 22), but `vm.Script` takes
// and makes V8 code caches (docs/benchmarks.md, start-up). The cache is made by src/cli/build.mjs
// and made again here when V8 refuses it (another Node, other V8 flags).

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";

const dir = dirname(fileURLToPath(import.meta.url));
const bundle = join(dir, "livemig.cjs");
const cacheFile = `${bundle}.cache`;

let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // No cache yet: compile, and write one at exit.
}
// CommonJS's own wrapper, so the bundle sees `require`, `__filename` as when Node loads it, and
// `__livemigImport` for the modules it imports (build.mjs: a script run from a code cache cannot import()).
const script = new Script(`(function (exports, require, module, __filename, __dirname, __livemigImport) { ${readFileSync(bundle, "utf8")}\n})`, {
  filename: bundle,
  cachedData,
});
if (cachedData === undefined || script.cachedDataRejected) {
  process.once("exit", () => {
    try {
      // Written aside and renamed: a livemig starting meanwhile reads the old cache or the new one, never half of one.
      const partial = `${cacheFile}.${process.pid}`;
      writeFileSync(partial, script.createCachedData());
      renameSync(partial, cacheFile);
    } catch {
      // A read-only install runs without the cache.
    }
  });
}
const module = { exports: {} };
const importBeside = (file: string) => import(new URL(file, import.meta.url).href);
(script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundle), module, bundle, dir, importBeside);
