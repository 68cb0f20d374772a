// What of a scenario's modes a real QEMU run honours (src/qemu/plan.ts): no QEMU needed.

import { describe, expect, it } from "vitest";
import { planFor, UnsupportedScenarioError } from "../../src/qemu/plan.js";
import { loadScenario } from "../../src/scenario/load.js";

function plan(migration: string, workload = "{kind: scan, workingSet: 64MiB, rate: 1000, bytesPerWrite: 8B}") {
  const text = `name: t\nvm: {memory: 512MiB, workload: ${workload}}\nlink: {bandwidth: 10Gbit/s}\nmigration: {${migration}}\n`;
  const [{ scenario }] = loadScenario(text, "t.yaml");
  return planFor(scenario, "t.yaml");
}

function problemsOf(migration: string, workload?: string): string[] {
  try {
    plan(migration, workload);
  } catch (e) {
    if (e instanceof UnsupportedScenarioError) return e.problems;
    throw e;
  }
  return [];
}

describe("planFor: the modes", () => {
  it("maps multifd, xbzrle and post-copy onto QEMU's capabilities' settings", () => {
    expect(plan("").migration.modes).toEqual({});
    expect(plan("multifd: {channels: 4}").migration.modes).toEqual({ multifdChannels: 4 });
    expect(plan("xbzrle: {cacheSize: 16MiB}").migration.modes).toEqual({ xbzrleCacheSize: 16 * 2 ** 20 });
    expect(plan("postcopy: {after: {passes: 2}, preempt: true}").migration.modes).toEqual({ postcopy: { afterPasses: 2, afterMs: undefined, preempt: true } });
    expect(plan("postcopy: {after: {time: 5s}}").migration.modes.postcopy).toEqual({ afterPasses: undefined, afterMs: 5000, preempt: false });
  });

  it("refuses dirty-limit with QEMU's own answer under TCG", () => {
    expect(problemsOf("dirtyLimit: 16MiB/s")).toEqual([
      `t.yaml: migration.dirtyLimit: cannot run here: QEMU answers "dirty-limit requires KVM with accelerator property 'dirty-ring-size' set" and this runner has only TCG (no KVM)`,
    ]);
  });

  it("holds the workload's bytes per write to what the test guest writes (one 8-byte word)", () => {
    expect(problemsOf("", "{kind: scan, workingSet: 64MiB, rate: 1000, bytesPerWrite: 64B}")).toEqual([
      "t.yaml: vm.workload.bytesPerWrite: the test guest changes 8 B of a page per write, not 64 B",
    ]);
    // xbzrle's saving turns on it, so it must be said.
    expect(problemsOf("xbzrle: {cacheSize: 16MiB}", "{kind: scan, workingSet: 64MiB, rate: 1000}")).toEqual([
      "t.yaml: vm.workload.bytesPerWrite: with xbzrle, say how much of a page a write changes; the test guest changes 8 B",
    ]);
    expect(problemsOf("", "{kind: scan, workingSet: 64MiB, rate: 1000}")).toEqual([]);
  });
});
