// `npm run validate`'s bad arguments: one `livemig:` line, exit 2, before anything is measured.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const script = new URL("../../dist/src/qemu/validate.js", import.meta.url).pathname;
const validate = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: "utf8", timeout: 30_000 });

describe("validate's arguments", () => {
  it.each([
    [["--bogus"], "livemig: validate: Unknown option '--bogus'"],
    [["--runs", "0"], 'livemig: validate: --runs: expected a whole number of runs per cell from 1, got "0"'],
    [["--runs", "2.5"], 'livemig: validate: --runs: expected a whole number of runs per cell from 1, got "2.5"'],
    [["--only", "("], 'livemig: validate: --only: expected a regular expression over the cells\' names, got "("'],
    [["--matrix", "/no/such/matrix.yaml"], "livemig: validate: --matrix: no such file: /no/such/matrix.yaml"],
    [["--rest", "ten"], 'livemig: validate: --rest: expected whole seconds to wait before each run, from 0, got "ten"'],
    [["--reuse", "--batches", "no-such-batch"], "livemig: validate: --batches: no saved run is of batch no-such-batch"],
  ])("%j is refused in one line, exit 2", (args, line) => {
    const r = validate(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`${line}\n`);
    expect(r.stdout).toBe("");
  });

  it("--help prints the usage, exit 0", () => {
    const r = validate("--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run validate -- \[--matrix FILE\]/);
  });
});
