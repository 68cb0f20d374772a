// The livemig command as a user runs it (built by `npm test` before vitest runs).
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const livemig = (...args: string[]) => spawnSync("node", ["dist/src/cli/main.js", ...args], { encoding: "utf8" });

describe("livemig simulate", () => {
  it("prints a table and exits 0", () => {
    const r = livemig("simulate", "scenarios/demo.yaml");
    expect(r.stdout).toMatch(/variant.*status.*downtime/);
    // The base run gives up (60k pages/s over a 128 MiB/s cap): exit 1 with its reason.
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/base: migration failed: did not converge/);
  });

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
  });

  it("prints the seed-style comparison line for two variants", () => {
    const r = livemig("simulate", "scenarios/2025-vdpa-39g.yaml");
    expect(r.stdout).toMatch(/base -> early: guest-visible-downtime \d+\.\d\d s -> \d\.\d\d s \(-\d+\.\d\d s, -\d+ %\)/);
  });

  it("blocked VF exits 1 with QEMU's reason", () => {
    const r = livemig("simulate", "scenarios/2015-82599-no-support.yaml");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/doesn't support device and IOMMU dirty tracking/);
  });

  it("bad input: one line naming the field, exit 2, no stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "livemig-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "name: x\nvm: {memory: 4GiB, workload: {kind: uniform, workingSet: 1GiB, rate: fast}}\nlink: {bandwidth: 1Gbit/s}\n");
    const r = livemig("simulate", file);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`livemig: ${file}:2: vm.workload.rate: expected a number >= 0, got "fast"`);
    expect(livemig("simulate", join(dir, "missing.yaml")).status).toBe(2);
    expect(livemig("simulate", "scenarios/demo.yaml", "--seed", "x").status).toBe(2);
    expect(livemig("frobnicate").status).toBe(2);
  });

  it("--costs prints every strategy's table", () => {
    const r = livemig("simulate", "--costs");
    expect(r.status).toBe(0);
    for (const k of ["virtio", "vf-failover", "vf-enlightened", "vf-tracked", "vdpa"]) expect(r.stdout).toContain(k);
    expect(r.stdout).toContain("pinningMsPerGiB");
  });
});

describe("failed runs in tables and comparison lines", () => {
  it("compares nothing with a failed run and shows '-' for what it never had", () => {
    const r = livemig("simulate", "scenarios/2015-82599-no-support.yaml");
    expect(r.stdout).toContain("base -> forced: not compared: base and forced failed");
    expect(r.stdout).not.toMatch(/total-time .* -> /);
    // The blocked base never finished its setup: no setup time, no breakdown.
    const base = r.stdout.split("\n").find((l) => l.startsWith("│ base "))!;
    expect(base.split("│").map((c) => c.trim())[4]).toBe("-");
  });

  it("the demo does not compare its failed base as if it had finished", () => {
    const r = livemig("demo");
    expect(r.stdout).toContain("base -> unlimited: not compared: base failed");
    expect(r.stdout).not.toMatch(/base -> unlimited: total-time/);
    const row = r.stdout.split("\n").find((l) => l.startsWith("│ final-ram"))!;
    expect(row.split("│").map((c) => c.trim())[2]).toBe("-");
  });

  it("a change from zero has no percentage", async () => {
    const { changeLine } = await import("../src/report/table.js");
    expect(changeLine("total-time", 0, 964070)).toBe("total-time 0.0 ms -> 964.07 s (+964.07 s, -)");
  });
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
  });

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
  });

  it("a blocked VF carries QEMU's blocked-reasons", () => {
    const json = JSON.parse(livemig("simulate", "scenarios/2015-82599-no-support.yaml", "--json").stdout);
    expect(json.runs[0].result["blocked-reasons"]).toEqual([json.runs[0].result["error-desc"]]);
    expect(json.runs[0].result["error-desc"]).toMatch(/doesn't support device and IOMMU dirty tracking/);
    // The forced variant is not blocked: it fails by the give-up rule.
    expect(json.runs[1].result["blocked-reasons"]).toBeUndefined();
  });
});
