// `livemig analyze` and `livemig compare` as a user runs them: the built CLI in a child process.

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "dist/cli/main.js");
const fx = "test/fixtures/measure";

function livemig(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let scratch: string;

// `npm test` builds dist/ before vitest starts; rebuilding here would race the other CLI tests.
beforeAll(() => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run the tests with npm test (it builds first)`);
  scratch = mkdtempSync(join(tmpdir(), "livemig-measure-"));
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("livemig analyze", () => {
  it("prints the guest-visible downtime of a source/destination pair, and where it comes from", () => {
    const r = livemig("analyze", `${fx}/vdpa-pair/src.trace`, `${fx}/vdpa-pair/dst.trace`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/guest-visible-downtime\s+│ 2\.09 s\s+│ last vhost_vdpa_suspend \(src\.trace:24\)/);
    // without a ping log it says what is missing
    expect(r.stdout).toMatch(/service-downtime\s+│ -\s+│ cannot derive: needs a ping/);
  });

  it("gives every figure as JSON", () => {
    const r = livemig("analyze", "--json", `${fx}/vdpa-pair`);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { runs: { figures: { name: string; value?: number }[] }[] };
    const figures = Object.fromEntries(out.runs[0].figures.map((f) => [f.name, f.value]));
    expect(figures).toMatchObject({ "guest-visible-downtime": 2090, "service-downtime": 2100, "lost-replies": 210, "total-time": 34086 });
  });

  it("summarizes a directory of runs with median, p95, min, max and an interval", () => {
    const r = livemig("analyze", `${fx}/runs/early`);
    expect(r.code).toBe(0);
    // medians of 2.087 2.121 2.049 2.108 2.093 s: 2.093; min 2.049; max 2.121
    expect(r.stdout).toMatch(/guest-visible-downtime │ 5\s+│ 2\.09 s\s+│ 2\.12 s\s+│ 2\.05 s\s+│ 2\.12 s\s+│ \[2\.\d\d s, 2\.\d\d s\]/);
  });

  it("applies --clock-offset to a pair from two hosts", () => {
    expect(livemig("analyze", `${fx}/iso`).stdout).toMatch(/280 ms[\s│]*before/);
    const r = livemig("analyze", "--json", "--clock-offset", "-5000", `${fx}/iso`);
    const out = JSON.parse(r.stdout) as { runs: { figures: { name: string; value?: number }[] }[] };
    expect(out.runs[0].figures.find((f) => f.name === "guest-visible-downtime")?.value).toBe(4720);
  });

  it("exits 2 with one line naming file and line for a malformed trace", () => {
    const r = livemig("analyze", `${fx}/malformed/bad-timestamp.trace`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^livemig: test\/fixtures\/measure\/malformed\/bad-timestamp\.trace:3: expected a timestamp/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("exits 2 naming the line of a wrongly typed query-migrate field", () => {
    const r = livemig("analyze", `${fx}/malformed/bad-field.json`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-field\.json:7: .*ram\.transferred/);
  });

  it("exits 2 for a missing file, an unknown kind of file and a bad option", () => {
    expect(livemig("analyze", `${fx}/no-such.trace`).code).toBe(2);
    const prose = join(scratch, "notes.txt");
    writeFileSync(prose, "Dear diary,\ntoday I migrated a VM.\n");
    const unknown = livemig("analyze", prose);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/notes\.txt: not a QEMU trace log/);
    expect(livemig("analyze", "--clock-offset", "soon", `${fx}/iso`).code).toBe(2);
  });

  it("takes the probing interval of a plain ping log from --interval", () => {
    const ping = join(scratch, "ping.txt");
    writeFileSync(ping, [1, 2, 3, 7, 8].map((s) => `64 bytes from 10.0.0.2: icmp_seq=${s} ttl=64 time=0.1 ms`).join("\n") + "\n");
    expect(livemig("analyze", ping).stdout).toMatch(/cannot derive: .*interval is unknown/);
    const r = livemig("analyze", "--json", "--interval", "1", ping);
    const out = JSON.parse(r.stdout) as { runs: { figures: { name: string; value?: number }[] }[] };
    // seqs 4, 5 and 6 lost at 1 ms
    expect(out.runs[0].figures.find((f) => f.name === "service-downtime")?.value).toBe(3);
  });

  it("skips, with a note, a file it does not read inside a directory", () => {
    const dir = join(scratch, "run");
    mkdirSync(dir);
    copyFileSync(join(root, fx, "vdpa-pair/src.trace"), join(dir, "src.trace"));
    copyFileSync(join(root, fx, "vdpa-pair/dst.trace"), join(dir, "dst.trace"));
    writeFileSync(join(dir, "README"), "run on 2025-07-10, two CX-6 Dx hosts\n");
    const r = livemig("analyze", dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/README: skipped/);
    expect(r.stdout).toMatch(/2\.09 s/);
  });
});

describe("livemig compare", () => {
  it("prints the seed's line for two sets of five runs, and that it beats the noise", () => {
    const r = livemig("compare", `${fx}/runs/at-start`, `${fx}/runs/early`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("guest-visible-downtime 4.72 s -> 2.09 s (-2.63 s, -56 %)");
    expect(r.stdout).toMatch(/guest-visible-downtime │ 4\.72 s \[[^\]]+\]\s*│ 2\.09 s \[[^\]]+\]\s*│ -2\.63 s \[-2\.\d\d s, -2\.\d\d s\]\s*│ yes: the interval excludes 0/);
  });

  it("gives the comparison as JSON", () => {
    const r = livemig("compare", "--json", `${fx}/runs/at-start`, `${fx}/runs/early`);
    const out = JSON.parse(r.stdout) as { a: { runs: number }; rows: { name: string; difference: number; beyondNoise?: boolean }[] };
    expect(out.a.runs).toBe(5);
    expect(out.rows.find((row) => row.name === "guest-visible-downtime")).toMatchObject({ difference: -2625, beyondNoise: true });
  });

  it("compares measured runs (a quoted glob) with a simulate --json prediction", () => {
    const r = livemig("compare", `${fx}/runs/early/*.trace`, `${fx}/simulate-vdpa.json#early`);
    expect(r.code).toBe(0);
    // 2093 ms measured, 2097.4 ms predicted
    expect(r.stdout).toContain("guest-visible-downtime 2.09 s -> 2.10 s (+4.4 ms, 0 %)");
    expect(r.stdout).toMatch(/cannot tell: one run in B/);
  });

  it("exits 2 when a simulate output's variant is not picked", () => {
    const r = livemig("compare", `${fx}/runs/early`, `${fx}/simulate-vdpa.json`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/holds the variants at-start, early: pick one/);
  });
});
