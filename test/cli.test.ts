// The livemig command as a user runs it (built by `npm test` before vitest runs).
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const livemig = (...args: string[]) => spawnSync("node", ["dist/src/cli/main.js", ...args], { encoding: "utf8" });

describe("livemig simulate", () => {
  it("prints a table; a variant that gives up exits 1 with its reason", () => {
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
