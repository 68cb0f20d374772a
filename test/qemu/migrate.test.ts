// Real QEMU (TCG) migrations of the test guest: an idle one through the command line, a busy
// one through the runner. They need qemu-system-x86_64, busybox-static, gcc and cpio (.ci/run
// installs them); without QEMU they are skipped, except in CI where that is a failure.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { MigrationResult } from "../../src/core/result.js";
import { ensureGuest } from "../../src/qemu/guest.js";
import { projectRoot } from "../../src/project-root.js";
import { runMigration, type Sample } from "../../src/qemu/migration.js";
import { planFor } from "../../src/qemu/plan.js";
import { killAll, liveCount } from "../../src/qemu/processes.js";
import { createLinkedHosts, netnsProblem } from "../../src/live/netns.js";
import { findQemu } from "../../src/qemu/vm.js";
import { loadScenario } from "../../src/scenario/load.js";

const root = projectRoot();
const cli = join(root, "dist", "cli", "main.js");
const haveQemu = spawnSync("qemu-system-x86_64", ["--version"]).status === 0;
if (!haveQemu && process.env.CI) throw new Error("qemu-system-x86_64 is missing in CI (.ci/run installs qemu-system-x86)");

// Whatever happens in a test, no QEMU outlives the file.
afterAll(() => killAll());

function livemig(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 150_000 });
}

describe("livemig qemu: input errors", () => {
  it("names the fields QEMU cannot honour, exit 2", () => {
    const r = livemig(["qemu", join(root, "test", "fixtures", "qemu", "unsupported.yaml")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/devices\.0\.kind: .*"vf-tracked"/);
    expect(r.stderr).toMatch(/vm\.workload\.rx/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it("says QEMU is missing, exit 2", () => {
    const r = livemig(["qemu", join(root, "scenarios", "qemu-idle.yaml")], { LIVEMIG_QEMU: "/nonexistent/qemu-system-x86_64" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/qemu-system-x86_64: not found; install QEMU/);
  });

  it("runs the QEMU --qemu names, before $LIVEMIG_QEMU", () => {
    const r = livemig(["qemu", join(root, "scenarios", "qemu-idle.yaml"), "--qemu", "/nonexistent/qemu-7.2"], { LIVEMIG_QEMU: "/nonexistent/qemu-system-x86_64" });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("livemig: /nonexistent/qemu-7.2: not found; install QEMU (apt-get install qemu-system-x86) or name its path with --qemu or LIVEMIG_QEMU\n");
  });
});

describe.skipIf(!haveQemu)("real QEMU migrations (TCG)", () => {
  it("migrates an idle guest: query-migrate figures, and the destination guest alive", () => {
    const html = join(mkdtempSync(join(tmpdir(), "livemig-qemu-")), "qemu.html");
    const r = livemig(["qemu", join(root, "scenarios", "qemu-idle.yaml"), "--json", "--predict", "--html", html]);
    // --html: the report, each run beside its prediction, and one line saying where it went.
    expect(r.stderr).toBe(`livemig: wrote the report ${html}\n`);
    const report = readFileSync(html, "utf8");
    expect(report).toContain('data-run="base run 1"');
    expect(report).toContain('data-run="base run 1 (predicted)"');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.qemu).toMatch(/QEMU emulator version/);
    const [run] = out.runs;
    // Every run says which QEMU ran it, and how the destination was started (the scenario's field).
    expect(run.qemu).toBe(out.qemu);
    expect(run.destinationPrealloc).toBe(true);
    expect(run.result.status).toBe("completed");
    expect(run.result["total-time"]).toBeGreaterThan(0);
    expect(run.result.downtime).toBeGreaterThan(0);
    expectPause(run.result);
    expect(run.result["setup-time"]).toBeGreaterThanOrEqual(0);
    expect(run.result.ram.total).toBeGreaterThanOrEqual(512 * 2 ** 20);
    expect(run.result.ram.duplicate).toBeGreaterThan(0);
    expect(run.result.ram.normal).toBeGreaterThan(0);
    expect(run.result.ram["dirty-sync-count"]).toBeGreaterThanOrEqual(2);
    expect(run.guest.healthy).toBe(true);
    expect(run.guest["heartbeats-after"]).toBeGreaterThanOrEqual(5);
    // The load the run saw: both QEMUs' threads, the source's migration thread (ended with the
    // migration: QEMU 10 names it mig/src/main, 7.2 live_migration) among them.
    type Thread = { role: string; thread: string; "cpu-ms": number };
    expect(run.host["load-average"]).toBeGreaterThanOrEqual(0);
    expect(run.host.threads.some((t: Thread) => t.role === "source" && /^(mig\/src\/main|live_migration)/.test(t.thread) && t["cpu-ms"] > 0)).toBe(true);
    expect(run.host.threads.some((t: Thread) => t.role === "destination" && t["cpu-ms"] > 0)).toBe(true);
    // QEMU 10 migrates this guest in 80-175 ms here, so it may finish between two 50 ms polls
    // (no active-phase poll at all): the polls are checked on the busy run below, which lasts
    // seconds. Whatever polls there are lie inside the migration, in order.
    expectOrderedPolls(run.samples, run.result["total-time"]);
    expect(out.predictions[0].result.status).toBe("completed");
    expect(liveCount()).toBe(0);
  }, 150_000);

  it("migrates a busy guest: passes, the achieved write rate, and a verdict on the destination", async () => {
    const text = readFileSync(join(root, "test", "fixtures", "qemu", "busy-small.yaml"), "utf8");
    const [{ scenario }] = loadScenario(text, "busy-small.yaml");
    const plan = planFor(scenario, "busy-small.yaml");
    const run = await runMigration({ binary: findQemu().binary, image: ensureGuest(root), plan });
    const r = run.result;
    // QEMU 7.2 under TCG may lose dirty writes of a busy guest: then the destination guest
    // crashes or finds a lost write, and livemig must say so with the evidence.
    expect(["completed", "completed-unsafe"]).toContain(r.status);
    if (r.status === "completed-unsafe") {
      expect(run.guest.healthy).toBe(false);
      expect(r.warnings[0]).toMatch(/^UNSAFE: QEMU reported the migration completed, but the destination guest/);
      expect(r.warnings.some((w) => w.startsWith("destination console: "))).toBe(true);
    } else {
      expect(run.guest.healthy).toBe(true);
      expect(run.guest["verified-pages-after"]).toBeGreaterThanOrEqual(plan.guest.workingSetBytes / 4096);
      expect(r["stale-pages"]).toBe(0);
    }
    expectPause(r);
    expect(r.ram["dirty-sync-count"]).toBeGreaterThanOrEqual(3);
    expect(r.passes.length).toBeGreaterThanOrEqual(2);
    expect(r.ram.normal * 4096).toBeGreaterThan(plan.guest.workingSetBytes);
    // The polls calibration fits on: a capped run of seconds is polled every ~50 ms throughout.
    expect(run.samples.length).toBeGreaterThanOrEqual(Math.floor(r["total-time"] / 200));
    expect(new Set(run.samples.map((s) => s.sync)).size).toBeGreaterThanOrEqual(2);
    expectOrderedPolls(run.samples, r["total-time"]);
    // The guest wrote before and during the migration (how fast under TCG is the machine's load).
    expect(run.guest["rate-before"]).toBeGreaterThan(0);
    expect(run.guest["rate-during"]).toBeGreaterThan(0);
    expect(liveCount()).toBe(0);
  }, 150_000);
});

describe.skipIf(!haveQemu || netnsProblem() !== undefined)("real QEMU between two network namespaces (bench/fleet-qemu.ts's hosts)", () => {
  it("the source QEMU in one namespace, the destination in the other: the stream crosses the tc-shaped veth", async () => {
    // 400 Mbit/s: the guest's ~60 MiB of non-zero RAM take ~1.3 s, far more than QEMU's
    // unshaped rate here (1-2 Gbit/s) would: the shaping, and so the veth, carried it.
    const rate = 400e6 / 8;
    const hosts = createLinkedHosts({ bandwidth: rate, latencyMs: 0 });
    try {
      const [{ scenario }] = loadScenario("name: ns\nvm: {memory: 192MiB, vcpus: 1, workload: {kind: idle}}\nlink: {bandwidth: 400Mbit/s}\nmigration: {maxBandwidth: 0, destinationPrealloc: true, giveUp: {time: 60s}}\n", "ns.yaml");
      let gateOpened = 0;
      const run = await runMigration({
        binary: findQemu().binary,
        image: ensureGuest(root),
        plan: planFor(scenario, "ns.yaml"),
        hosts: { sourceNs: hosts.source.ns, destinationNs: hosts.destination.ns, address: hosts.destination.address, port: 5000 },
        beforeMigrate: async () => {
          gateOpened = Date.now();
        },
      });
      const r = run.result;
      expect(r.status).toBe("completed");
      expect(run.guest.healthy).toBe(true);
      // `migrate` went after the common start, and QEMU's clock runs from then.
      expect(gateOpened).toBeGreaterThan(0);
      expect(run.startedAt).toBeGreaterThanOrEqual(gateOpened);
      // Every byte of the stream went through the source's end of the veth (tc counts frames: more).
      expect(hosts.qdiscStats(hosts.source).sentBytes).toBeGreaterThan(r.ram.transferred);
      // ... at no more than tbf's rate, beside its 256 KiB burst (a loaded machine only slows it).
      expect(r.ram.transferred).toBeLessThanOrEqual(rate * (r["total-time"] / 1000) + 256 * 1024);
      expect(liveCount()).toBe(0);
    } finally {
      hosts.destroy();
    }
  }, 150_000);
});

/**
 * `downtime` is the guest's pause from QEMU's checkpoints. With return-path QEMU's own clock
 * runs until the destination's SHUT, sent after its vm start, so it is never the shorter one
 * (QEMU counts whole ms). A QEMU without the checkpoints keeps its own, and says so.
 */
function expectPause(r: MigrationResult): void {
  const qemu = r["qemu-downtime"];
  expect(qemu).toBeGreaterThan(0);
  if (r.warnings.some((w) => w.startsWith("downtime is QEMU's own figure"))) expect(r.downtime).toBe(qemu);
  else expect(qemu).toBeGreaterThanOrEqual(Math.floor(r.downtime ?? Infinity));
}

/** Poll samples: inside the migration, in time order, with counters that only grow. */
function expectOrderedPolls(samples: Sample[], totalTimeMs: number): void {
  for (const [i, s] of samples.entries()) {
    expect(s.t).toBeLessThanOrEqual(totalTimeMs);
    if (i === 0) continue;
    expect(s.t).toBeGreaterThanOrEqual(samples[i - 1].t);
    expect(s.duplicate + s.normal).toBeGreaterThanOrEqual(samples[i - 1].duplicate + samples[i - 1].normal);
    expect(s.transferred).toBeGreaterThanOrEqual(samples[i - 1].transferred);
  }
}
