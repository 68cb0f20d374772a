// The livemig command as a user runs it (built by `npm test` before vitest runs).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const livemig = (...args: string[]) => spawnSync("node", ["dist/cli/main.js", ...args], { encoding: "utf8" });

describe("livemig simulate", () => {
  it("prints a table; a variant that gives up exits 1 with its reason", () => {
    const r = livemig("simulate", "scenarios/demo.yaml");
    expect(r.stdout).toMatch(/variant.*status.*downtime/);
    // The base run gives up (60k pages/s over a 128 MiB/s cap): exit 1 with its reason.
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/base: migration failed: did not converge/);
  }, 30_000);

  it("--json prints one object, base first, and is byte-identical for the same seed", () => {
    const a = livemig("simulate", "scenarios/2015-82599-enlightened.yaml", "--json", "--seed", "3");
    const b = livemig("simulate", "scenarios/2015-82599-enlightened.yaml", "--json", "--seed", "3");
    // The no-enlightenment variant completes with stale pages: that is no success.
    expect(a.status).toBe(1);
    expect(a.stderr).toMatch(/no-enlightenment: completed, UNSAFE: \d+ guest pages on the destination differ/);
    expect(a.stderr).not.toMatch(/base:/);
    expect(a.stdout).toBe(b.stdout);
    const out = JSON.parse(a.stdout);
    expect(out.scenario).toBe("2015-82599-vf");
    expect(out.runs.map((r: { variant: string }) => r.variant)).toEqual(["base", "no-enlightenment", "failover", "virtio"]);
    const c = livemig("simulate", "scenarios/2015-82599-enlightened.yaml", "--json", "--seed", "4");
    expect(c.stdout).not.toBe(a.stdout);
  }, 30_000);

  it("prints the seed-style comparison line for two variants", () => {
    const r = livemig("simulate", "scenarios/2025-vdpa-39g.yaml");
    expect(r.stdout).toMatch(/base -> early: guest-visible-downtime \d+\.\d\d s -> \d\.\d\d s \(-\d+\.\d\d s, -\d+ %\)/);
  }, 30_000);

  it("blocked VF exits 1 with QEMU's reason", () => {
    const r = livemig("simulate", "scenarios/2015-82599-no-support.yaml");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/doesn't support device and IOMMU dirty tracking/);
  }, 30_000);

  it("bad input: one line naming the field, exit 2, no stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "livemig-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "name: x\nvm: {memory: 4GiB, workload: {kind: uniform, workingSet: 1GiB, rate: fast}}\nlink: {bandwidth: 1Gbit/s}\n");
    const r = livemig("simulate", file);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`livemig: ${file}:2: vm.workload.rate: expected a number in [0, 1e+12], got "fast"`);
    expect(livemig("simulate", join(dir, "missing.yaml")).status).toBe(2);
    expect(livemig("simulate", "scenarios/demo.yaml", "--seed", "x").status).toBe(2);
    expect(livemig("frobnicate").status).toBe(2);
  }, 30_000);

  it("--costs prints every strategy's table", () => {
    const r = livemig("simulate", "--costs");
    expect(r.status).toBe(0);
    for (const k of ["virtio", "vf-failover", "vf-enlightened", "vf-tracked", "vdpa"]) expect(r.stdout).toContain(k);
    expect(r.stdout).toContain("pinningMsPerGiB");
  }, 30_000);
});

describe("failed runs in tables and comparison lines", () => {
  it("compares nothing with a failed run and shows '-' for what it never had", () => {
    const r = livemig("simulate", "scenarios/2015-82599-no-support.yaml");
    expect(r.stdout).toContain("base -> forced: not compared: base and forced failed");
    expect(r.stdout).not.toMatch(/total-time .* -> /);
    // The blocked base never finished its setup: no setup time, no breakdown.
    const base = r.stdout.split("\n").find((l) => l.startsWith("│ base "))!;
    expect(base.split("│").map((c) => c.trim())[4]).toBe("-");
    // Nor rates: the rates table's row is dashes, not zeros; the forced run's rates are its own.
    const rates = r.stdout.split("\n").filter((l) => /^│ (base|forced) /.test(l)).map((l) => l.split("│").map((c) => c.trim()));
    const rateRows = rates.filter((cells) => cells.length === 7);
    expect(rateRows.map((cells) => cells[1])).toEqual(["base", "forced"]);
    expect(rateRows[0].slice(2, 6)).toEqual(["-", "-", "-", "-"]);
    expect(rateRows[1][3]).not.toBe("-");
  }, 30_000);

  it("a mode's run refused before it started shows '-' in the rates and modes tables", () => {
    // Post-copy with a VFIO device is refused at the start (QEMU 10.0): nothing moved.
    const file = join(mkdtempSync(join(tmpdir(), "livemig-cli-")), "postcopy.yaml");
    writeFileSync(
      file,
      "name: pc\nvm: {memory: 256MiB, used: 128MiB, vcpus: 1, workload: {kind: uniform, workingSet: 64MiB, rate: 20000}}\n" +
        "link: {bandwidth: 10Gbit/s}\nmigration: {maxBandwidth: 0}\n" +
        "variants:\n  - {name: postcopy, set: {migration.postcopy: {after: {passes: 1}}}}\n" +
        "  - {name: postcopy-vf-tracked, set: {migration.postcopy: {after: {passes: 1}}, devices: [{kind: vf-tracked}]}}\n",
    );
    const r = livemig("simulate", file);
    const rows = r.stdout.split("\n").filter((l) => l.startsWith("│ postcopy-vf-tracked ")).map((l) => l.split("│").map((c) => c.trim()).slice(2, -1));
    // The result table, the rates table, the modes table (the breakdown has a column per run).
    expect(rows).toHaveLength(3);
    expect(rows[1]).toEqual(["-", "-", "-", "-"]);
    expect(rows[2]).toEqual(["-", "-", "-", "-", "-", "-"]);
    // The post-copy run that completed has its figures.
    const postcopy = r.stdout.split("\n").filter((l) => l.startsWith("│ postcopy ")).at(-1)!;
    expect(postcopy.split("│").map((c) => c.trim())[3]).toMatch(/^\d+$/);
  }, 30_000);

  it("the demo does not compare its failed base as if it had finished", () => {
    const r = livemig("demo");
    expect(r.stdout).toContain("base -> unlimited: not compared: base failed");
    expect(r.stdout).not.toMatch(/base -> unlimited: total-time/);
    const row = r.stdout.split("\n").find((l) => l.startsWith("│ final-ram"))!;
    expect(row.split("│").map((c) => c.trim())[2]).toBe("-");
  }, 30_000);

  it("a change from zero has no percentage", async () => {
    const { changeLine } = await import("../src/report/table.js");
    expect(changeLine("total-time", 0, 964070)).toBe("total-time 0.0 ms -> 964.07 s (+964.07 s, -)");
  }, 30_000);
});

describe("downtime against the downtime-limit, and query-migrate's vocabulary", () => {
  it("flags a downtime far above the limit and says which part the limit does not govern", () => {
    const r = livemig("simulate", "scenarios/2025-vdpa-39g.yaml");
    const json = JSON.parse(livemig("simulate", "scenarios/2025-vdpa-39g.yaml", "--json").stdout);
    const base = json.runs[0].result;
    const ratio = base.downtime / base.parameters["downtime-limit"];
    expect(ratio).toBeGreaterThan(2);
    expect(r.stdout).toMatch(new RegExp(`│ base .*│ 4\\.\\d\\d s \\(${Math.round(ratio)}x limit\\) │`));
    // The limit governs the RAM sent after stop; pinning and the other device work it does not.
    const ungoverned = Object.entries(base["downtime-breakdown"] as Record<string, number>).filter(([c]) => c !== "final-ram").reduce((s, [, ms]) => s + ms, 0);
    const line = r.stdout.split("\n").find((l) => l.startsWith("base: downtime "))!;
    expect(line).toContain(`is ${ratio.toFixed(1)}x the downtime-limit of 300.0 ms`);
    expect(line).toContain(`${(ungoverned / 1000).toFixed(2)} s is device work after stop that it does not govern (pinning`);
    // A downtime under the limit is not flagged.
    const demo = livemig("simulate", "scenarios/demo.yaml");
    expect(demo.stdout).not.toMatch(/x limit|downtime-limit/);
  }, 30_000);

  it("shows expected-downtime, mbps, pages-per-second and dirty-pages-rate as info migrate does", () => {
    const r = livemig("simulate", "scenarios/demo.yaml");
    expect(r.stdout).toMatch(/│ variant\s+│ expected-downtime │ mbps\s+│ pages-per-second │ dirty-pages-rate │/);
    const json = JSON.parse(livemig("simulate", "scenarios/demo.yaml", "--json").stdout);
    const ac = json.runs[2].result;
    expect(r.stdout).toContain(`│ auto-converge │`);
    expect(r.stdout).toMatch(new RegExp(`│ ${ac.ram["pages-per-second"]}\\s+│ ${ac.ram["dirty-pages-rate"]}\\s+│`));
    // pages-per-second over the same interval as mbps: pages sent against bits sent.
    const seconds = (ac["total-time"] - ac["setup-time"]) / 1000;
    expect(ac.ram["pages-per-second"]).toBe(Math.round((ac.ram.duplicate + ac.ram.normal) / seconds));
  }, 30_000);

  it("a blocked VF carries QEMU's blocked-reasons", () => {
    const json = JSON.parse(livemig("simulate", "scenarios/2015-82599-no-support.yaml", "--json").stdout);
    expect(json.runs[0].result["blocked-reasons"]).toEqual([json.runs[0].result["error-desc"]]);
    expect(json.runs[0].result["error-desc"]).toMatch(/doesn't support device and IOMMU dirty tracking/);
    // The forced variant is not blocked: it fails by the give-up rule.
    expect(json.runs[1].result["blocked-reasons"]).toBeUndefined();
  }, 30_000);
});

describe("command-line conventions", () => {
  const dir = mkdtempSync(join(tmpdir(), "livemig-conv-"));

  it("--version prints the package's version", () => {
    const r = livemig("--version");
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
  }, 30_000);

  it("simulate - reads the scenario from standard input, and names it stdin in errors", () => {
    const text = readFileSync("scenarios/2025-vdpa-39g.yaml", "utf8");
    const piped = spawnSync("node", ["dist/cli/main.js", "simulate", "-", "--json"], { input: text, encoding: "utf8" });
    expect(piped.status).toBe(0);
    expect(piped.stdout).toBe(livemig("simulate", "scenarios/2025-vdpa-39g.yaml", "--json").stdout);
    const bad = spawnSync("node", ["dist/cli/main.js", "simulate", "-"], { input: "name: x\nvm: {memory: lots}\nlink: {bandwidth: 1Gbit/s}\n", encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^livemig: stdin:2: vm\.memory: /);
  }, 30_000);

  it("simulate --cpu-wait predicts with the profile's per-page costs at another host's CPU wait", () => {
    // Per-page costs fitted where the migration thread waited 10 % of its time; a host where it
    // waits 55 % takes (1 - 0.1) / (1 - 0.55) = 2x as long for each page. An idle 1 GiB guest
    // (512 MiB used), no cap, a preallocated destination, a link far faster than the pages: its
    // migration is the pages' cost but for the fixed 10 ms switch-over.
    const profile = join(dir, "waited.yaml");
    writeFileSync(profile, "pageReadBytesPerSecond: 4000000000\ncopyBytesPerSecond: 1000000000\nswitchoverMs: 10\ncpuWaitShare: 0.1\n");
    const scenario = join(dir, "idle.yaml");
    writeFileSync(scenario, "name: idle\nvm: {memory: 1GiB, used: 512MiB, workload: {kind: idle}}\nlink: {bandwidth: 100Gbit/s}\nmigration: {maxBandwidth: 0, destinationPrealloc: true}\n");
    const pageWork = (...extra: string[]) => {
      const r = livemig("simulate", scenario, "--json", "--profile", profile, ...extra);
      expect(r.status).toBe(0);
      const result = JSON.parse(r.stdout).runs[0].result;
      return result["total-time"] - result["setup-time"] - 10;
    };
    const plain = pageWork();
    expect(plain).toBeGreaterThan(500); // 512 MiB at 1 GB/s
    expect(pageWork("--cpu-wait", "0.1")).toBe(plain);
    expect(pageWork("--cpu-wait", "0.55") / plain).toBeCloseTo(2, 1);
  }, 30_000);

  it("simulate --costs --json prints every strategy's costs as JSON", () => {
    const r = livemig("simulate", "--costs", "--json");
    expect(r.status).toBe(0);
    const costs = JSON.parse(r.stdout);
    expect(costs.vdpa.pinningMsPerGiB).toMatchObject({ unit: expect.any(String), source: expect.any(String), value: expect.any(Number) });
    expect(Object.keys(costs)).toEqual(expect.arrayContaining(["virtio", "vf-failover", "vf-enlightened", "vf-tracked", "vdpa"]));
  }, 30_000);

  it("says what is wrong with a file in words, not errno codes", () => {
    const missing = livemig("simulate", join(dir, "missing.yaml"));
    expect(missing.stderr).toBe(`livemig: ${join(dir, "missing.yaml")}: cannot read the scenario file (no such file or directory)\n`);
    const directory = livemig("simulate", dir);
    expect(directory.stderr).toBe(`livemig: ${dir}: cannot read the scenario file (it is a directory)\n`);
    const profile = livemig("simulate", "scenarios/demo.yaml", "--profile", join(dir, "nope.yaml"));
    expect(profile.status).toBe(2);
    expect(profile.stderr).not.toMatch(/ENOENT|EISDIR/);
    expect(livemig("simulate", "scenarios/demo.yaml", "--html", join(dir, "no", "x.html")).stderr).toMatch(/cannot write the report \(no such file or directory\)/);
  }, 30_000);

  it("run and qemu say a report they cannot write before they migrate, not after", () => {
    // A destination nobody listens on: were the migration tried first, it would fail (exit 1).
    const secret = join(dir, "secret");
    writeFileSync(secret, "a shared secret\n");
    const bad = join(dir, "no", "x.html");
    const run = livemig("run", "scenarios/demo.yaml", "--dest", "127.0.0.1:1", "--secret-file", secret, "--html", bad);
    expect(run.stderr).toBe(`livemig: --html ${bad}: cannot write the report (no such file or directory)\n`);
    expect(run.status).toBe(2);
    const idle = join(dir, "idle.yaml");
    writeFileSync(idle, "name: idle\nvm: {memory: 64MiB, vcpus: 1, workload: {kind: idle}}\nlink: {bandwidth: 1Gbit/s}\n");
    // QEMU that is not there: were it started first, that would be the error.
    const qemu = spawnSync("node", ["dist/cli/main.js", "qemu", idle, "--html", dir], { encoding: "utf8", env: { ...process.env, LIVEMIG_QEMU: join(dir, "no-qemu") } });
    expect(qemu.stderr).toBe(`livemig: --html ${dir}: cannot write the report (it is a directory)\n`);
    expect(qemu.status).toBe(2);
  }, 30_000);

  it("--html says on stderr which file it wrote", () => {
    const out = join(dir, "report.html");
    const r = livemig("simulate", "scenarios/2025-vdpa-39g.yaml", "--html", out, "--json");
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`livemig: wrote the report ${out}\n`);
    expect(readFileSync(out, "utf8")).toMatch(/^<!doctype html>/);
    JSON.parse(r.stdout); // stdout stays pure JSON
  }, 30_000);

  it("run --predict prints measured beside predicted as qemu --predict does (one report)", () => {
    const file = join(dir, "live.yaml");
    writeFileSync(file, "name: live-cli\nvm: {memory: 32MiB, used: 8MiB, vcpus: 1, workload: {kind: idle}}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\n");
    const r = livemig("run", file, "--predict");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^base: measured vs predicted; converged: measured yes, predicted yes$/m);
    expect(r.stdout).toMatch(/^ {2}total-time +\d+\.\d+ m?s +\d+\.\d+ m?s +-?\d+ %$/m);
    expect(r.stdout).toMatch(/^ {2}dirty-sync-count +\d+ +\d+ +(-?\d+ %|-)$/m);
  }, 60_000);
});
