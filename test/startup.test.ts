// What each command loads when it starts (not how fast: bench/startup.ts measures that). The
// command bundle (dist/cli/livemig.cjs) holds every module, each dynamically imported one in a
// function of its own that runs when it is first imported: V8's coverage says which ran. A module
// resolve hook lists the ES modules a run loads besides (the HTML report's files and packages);
// their metafile says which packages and project modules each file holds.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "livemig-startup-"));
const hooks = join(dir, "hooks.mjs");
// The hooks run on their own thread (Node 20): a synchronous write to fd 2 is not lost at exit,
// as a process.stderr.write from that thread can be.
writeFileSync(hooks, `
import { writeSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const pkg = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
  const own = /\\/(dist\\/cli\\/[^/]+\\.js)$/.exec(r.url);
  if (pkg) writeSync(2, "LOADED " + pkg[1] + "\\n");
  else if (own) writeSync(2, "BUNDLE " + own[1] + "\\n");
  return r;
}
`);
const register = join(dir, "register.mjs");
writeFileSync(register, `import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(hooks).href)});\n`);

/** "yaml" for node_modules/yaml/dist/index.js, "src/sim/simulate" for src/sim/simulate.ts. */
const moduleName = (path: string) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1] ?? path.replace(/\.ts$/, "");

/** An ES module file's source modules: "zod" for node_modules/zod/..., "src/sim/simulate" for src/sim/simulate.ts. */
function sources(file: string): string[] {
  const { outputs } = JSON.parse(readFileSync("dist/cli/meta.json", "utf8")) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  return Object.keys(outputs[file].inputs).map((input) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1] ?? input.replace(/\.ts$/, ""));
}

/** The command bundle's modules that a run evaluated: esbuild names each module's function by its path. */
function evaluated(coverageDir: string): string[] {
  const scripts = readdirSync(coverageDir).flatMap(
    (f) => (JSON.parse(readFileSync(join(coverageDir, f), "utf8")) as { result: { url: string; functions: { functionName: string; ranges: { count: number }[] }[] }[] }).result,
  );
  const bundle = scripts.filter((s) => s.url.endsWith("/dist/cli/livemig.cjs"));
  expect(bundle).toHaveLength(1);
  return bundle[0].functions.flatMap((f) => (/^(src|node_modules)\//.test(f.functionName) && f.ranges[0].count > 0 ? [moduleName(f.functionName)] : []));
}

function loaded(...args: string[]): string[] {
  const coverage = mkdtempSync(join(dir, "coverage-"));
  const r = spawnSync("node", ["--import", register, "dist/cli/main.js", ...args], { encoding: "utf8", env: { ...process.env, NODE_V8_COVERAGE: coverage } });
  const lines = r.stderr.split("\n");
  const files = lines.flatMap((l) => (l.startsWith("BUNDLE ") ? [l.slice(7)] : []));
  const packages = lines.flatMap((l) => (l.startsWith("LOADED ") ? [l.slice(7)] : []));
  return [...new Set([...evaluated(coverage), ...files.flatMap(sources), ...packages])];
}

// Plotting, the browser, real QEMU, the live engine, trace parsing, and the fleet (evacuate) modules.
const heavy = /^(vega|vega-lite|playwright-core|src\/report\/html|src\/live|src\/qemu|src\/measure|src\/sim\/fleet|src\/scenario\/fleet|src\/report\/fleet|src\/cli\/evacuate-run)/;

describe("start-up: a command loads what it needs when it runs", () => {
  it("--help loads neither the scenario parser nor plotting, QEMU, live, measure or fleet modules", () => {
    const modules = loaded("--help");
    expect(modules).toEqual(expect.arrayContaining(["src/cli/start", "commander"]));
    expect(modules.filter((m) => heavy.test(m) || m === "zod" || m === "yaml" || m.startsWith("src/sim"))).toEqual([]);
  }, 30_000);

  it("simulate loads the parser and the simulator, not plotting, QEMU, live, measure or fleet modules", () => {
    const modules = loaded("simulate", "bench/startup-4g.yaml");
    expect(modules).toEqual(expect.arrayContaining(["zod", "yaml", "src/sim/simulate", "src/report/table"]));
    expect(modules.filter((m) => heavy.test(m))).toEqual([]);
  }, 30_000);

  it("simulate --html loads the plotting modules", () => {
    const modules = loaded("simulate", "bench/startup-4g.yaml", "--html", join(dir, "r.html"));
    expect(modules).toEqual(expect.arrayContaining(["vega", "vega-lite", "src/report/html/index"]));
  }, 30_000);
});
