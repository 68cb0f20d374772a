// Real QEMU (TCG) migrations with the modes that run here (issue 17): multifd channels and
// post-copy (this container allows userfaultfd). They assert that the mode was on and what
// QEMU's counters must then say, never how long anything took. Without QEMU they are
// skipped, except in CI where that is a failure (as test/qemu/migrate.test.ts).

import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { ensureGuest } from "../../src/qemu/guest.js";
import { runMigration } from "../../src/qemu/migration.js";
import { planFor } from "../../src/qemu/plan.js";
import { killAll, liveCount } from "../../src/qemu/processes.js";
import { findQemu } from "../../src/qemu/vm.js";
import { loadScenario } from "../../src/scenario/load.js";

const haveQemu = spawnSync("qemu-system-x86_64", ["--version"]).status === 0;
if (!haveQemu && process.env.CI) throw new Error("qemu-system-x86_64 is missing in CI (.ci/run installs qemu-system-x86)");

afterAll(() => killAll());

async function migrate(yaml: string) {
  const [{ scenario }] = loadScenario(yaml, "modes.yaml");
  const plan = planFor(scenario, "modes.yaml");
  return { plan, run: await runMigration({ binary: findQemu().binary, image: ensureGuest(), plan }) };
}

describe.skipIf(!haveQemu)("real QEMU migrations with the modes (TCG)", () => {
  it("multifd: the RAM goes over the channels, and the guest arrives intact", async () => {
    const { plan, run } = await migrate(`
name: multifd-small
vm: {memory: 384MiB, workload: {kind: uniform, workingSet: 64MiB, rate: 2000}}
link: {bandwidth: 100Gbit/s}
migration: {downtimeLimit: 300ms, maxBandwidth: 0, multifd: {channels: 2}, giveUp: {passes: 30, time: 30s}}
`);
    const r = run.result;
    expect(r.status).toBe("completed");
    expect(run.guest.healthy).toBe(true);
    expect(run.guest["verified-pages-after"]).toBeGreaterThanOrEqual(plan.guest.workingSetBytes / 4096);
    // Every normal page went through a channel (with its packet's header and offsets), and
    // the channels' bytes are part of what was transferred.
    const multifd = r.ram["multifd-bytes"] ?? 0;
    expect(multifd).toBeGreaterThanOrEqual(r.ram["normal-bytes"]);
    expect(multifd).toBeLessThanOrEqual(r.ram.transferred);
    expect(r.ram["normal-bytes"]).toBeGreaterThanOrEqual(plan.guest.workingSetBytes);
    // No post-copy, no xbzrle: nothing of theirs in the result.
    expect(r.ram["postcopy-requests"]).toBeUndefined();
    expect(r["xbzrle-cache"]).toBeUndefined();
    expect(liveCount()).toBe(0);
  }, 150_000);

  it("post-copy: a guest that outruns the cap switches after two passes, faults pages in, and arrives intact", async () => {
    const { plan, run } = await migrate(`
name: postcopy-small
vm: {memory: 256MiB, workload: {kind: uniform, workingSet: 64MiB, rate: 40000}}
link: {bandwidth: 100Gbit/s}
migration: {downtimeLimit: 300ms, maxBandwidth: 32MiB/s, postcopy: {after: {passes: 2}, preempt: true}, giveUp: {passes: 30, time: 60s}}
`);
    const r = run.result;
    expect(r.status).toBe("completed");
    // Correctness after post-copy: every page of the working set holds its last write.
    expect(run.guest.healthy).toBe(true);
    expect(run.guest["verified-pages-after"]).toBeGreaterThanOrEqual(plan.guest.workingSetBytes / 4096);
    expect(r["stale-pages"]).toBe(0);
    // The switch came after pass 2, and is in the timeline with the window of risk after it.
    const switched = r.timeline.find((e) => e.kind === "status" && e.status === "postcopy-active");
    expect(switched).toBeDefined();
    expect(Math.max(...r.passes.filter((p) => p.t < switched!.t).map((p) => p.pass))).toBeGreaterThanOrEqual(3);
    expect(r["postcopy-active-time"]).toBe(r["total-time"] - switched!.t);
    expect(r.warnings.some((w) => w.startsWith("post-copy: from the switch"))).toBe(true);
    // 40k writes/s over 16384 pages touch pages the destination lacks: it asked for them.
    expect(r.ram["postcopy-requests"]).toBeGreaterThan(0);
    expect(r.ram["postcopy-bytes"]).toBeGreaterThan(0);
    expect(r.ram["precopy-bytes"] + r.ram["downtime-bytes"] + (r.ram["postcopy-bytes"] ?? 0)).toBeLessThanOrEqual(r.ram.transferred);
    // The destination measured its vCPUs' wait (postcopy-blocktime capability).
    expect(r["postcopy-vcpu-blocktime"]).toHaveLength(1);
    expect(r["postcopy-blocktime"]).toBeGreaterThanOrEqual(0);
    expect(liveCount()).toBe(0);
  }, 150_000);
});
