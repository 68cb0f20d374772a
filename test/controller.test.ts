// The precopy algorithm against arithmetic done by hand.
import { describe, expect, it } from "vitest";
import { coreMemoryBytesPerSecond } from "../src/sim/simulate.js";
import { GiB, MiB, mutating, run, scenarioYaml } from "./helpers.js";

const pageBytes = 8 + 4096;
const zeroBytes = 8 + 1;

describe("idle guest", () => {
  it("sends used RAM as normal pages and the rest as zero-page headers, at link speed", async () => {
    const r = await run(scenarioYaml({ name: "idle", memory: "4GiB", used: "1GiB", bandwidth: "8Gbit/s", migration: "maxBandwidth: 0" }));
    const normal = GiB / 4096;
    const zero = (3 * GiB) / 4096;
    expect(r.status).toBe("completed");
    expect(r.ram.normal).toBe(normal);
    expect(r.ram.duplicate).toBe(zero);
    expect(r.ram["normal-bytes"]).toBe(GiB);
    const pageStream = normal * pageBytes + zero * zeroBytes;
    // Only end-of-section markers (8 B per send) and device state come on top of the pages.
    expect(r.ram.transferred).toBeGreaterThanOrEqual(pageStream);
    expect(r.ram.transferred).toBeLessThan(pageStream * 1.001);
    // The migration thread reads each page (zero check, copy), then writes it to the link.
    const linkMs = pageStream / (8e9 / 8 / 1000);
    const readMs = (4 * GiB) / (coreMemoryBytesPerSecond / 1000);
    expect(r["total-time"]).toBeGreaterThanOrEqual(linkMs + readMs);
    // Device work on the destination (vhost start, load) adds about a millisecond.
    expect(r["total-time"]).toBeLessThan(linkMs + readMs + 5);
    // Nothing was dirtied: one setup sync, one that finds nothing, the final one.
    expect(r.ram["dirty-sync-count"]).toBe(3);
    expect(r.ram["downtime-bytes"]).toBeLessThan(64 * 1024);
  });

  it("respects max-bandwidth: 1 GiB at 128 MiB/s takes 8 s", async () => {
    const r = await run(scenarioYaml({ name: "capped", memory: "1GiB", bandwidth: "100Gbit/s" }));
    // Precopy runs at the cap until less than threshold = 128 MiB/s x 300 ms is left; that
    // rest goes unthrottled at link speed in the downtime.
    const stop = r.timeline.find((e) => e.kind === "vm-stop")!.t;
    const precopyRate = r.ram["precopy-bytes"] / (stop / 1000);
    expect(precopyRate / (128 * MiB)).toBeGreaterThan(0.98);
    expect(precopyRate / (128 * MiB)).toBeLessThan(1.02);
    expect(r.ram["downtime-bytes"]).toBeLessThan(128 * MiB * 0.3 * 1.05);
    expect(r["total-time"] / 1000).toBeLessThan(((GiB / 4096) * pageBytes) / (128 * MiB));
    // The bandwidth estimate of each window is the cap.
    const estimates = r.passes.filter((p) => p.bandwidth > 0).map((p) => p.bandwidth);
    for (const b of estimates) expect(b / (128 * MiB)).toBeCloseTo(1, 1);
  });
});

describe("uniform workload below the bandwidth", () => {
  // Geometric pre-copy model (Liu et al.): V_i = V_mem * lambda^i, lambda = D / R.
  // The working set is all of RAM and lambda small, so pages are rarely written twice in a
  // pass and the model's "every write is a new dirty page" holds within a few percent.
  const memory = 8 * GiB;
  const R = 128 * MiB; // bytes/s on the wire
  const lambda = 0.05;
  const D = (lambda * R) / pageBytes; // pages/s
  const yaml = scenarioYaml({
    name: "geometric", seed: 7, memory: "8GiB", workingSet: "8GiB", rate: D, bandwidth: "100Gbit/s", migration: "downtimeLimit: 30ms, maxBandwidth: 128MiB/s",
  });

  it("follows the closed form pass by pass and in total", async () => {
    const r = await run(yaml);
    expect(r.status).toBe("completed");
    const pages0 = memory / 4096;
    const threshold = R * 0.03;
    // n = ceil(log_lambda(V_th / V_mem)) dirty passes after the first full one.
    const n = Math.ceil(Math.log(threshold / (pages0 * pageBytes)) / Math.log(lambda));
    const newly = r.passes.slice(1).map((p) => p["newly-dirty"]);
    // Pass sizes: V_1 and V_2 (later ones are too small for the 5 % to mean anything).
    expect(newly[0] / (pages0 * lambda)).toBeGreaterThan(0.95);
    expect(newly[0] / (pages0 * lambda)).toBeLessThan(1.05);
    expect(newly[1] / (pages0 * lambda ** 2)).toBeGreaterThan(0.95);
    expect(newly[1] / (pages0 * lambda ** 2)).toBeLessThan(1.05);
    const closedTotal = (pages0 * pageBytes * (1 - lambda ** (n + 1))) / (1 - lambda);
    expect(r.ram.transferred / closedTotal).toBeGreaterThan(0.95);
    expect(r.ram.transferred / closedTotal).toBeLessThan(1.05);
    // setup sync + one per pass + the final one; a pass may end in one more exact sync
    // when its tail dips under the threshold only after the sync (QEMU's estimate/exact pair).
    expect(r.ram["dirty-sync-count"]).toBeGreaterThanOrEqual(n + 2);
    expect(r.ram["dirty-sync-count"]).toBeLessThanOrEqual(n + 3);
  });
});

describe("workload above the bandwidth", () => {
  // Without auto-converge 10 passes show the give-up; with it, the throttle needs ~20 to bite.
  const yaml = (autoConverge: boolean) =>
    scenarioYaml({
      name: "busy", memory: "4GiB", used: "1GiB", workingSet: "512MiB", rate: 60000,
      migration: `autoConverge: ${autoConverge}, giveUp: {passes: ${autoConverge ? 30 : 10}, time: 300s}`,
    });

  // Under `npm run mutate` these two 4 GiB runs (10 s and more each on instrumented code) are
  // left out: test/qemu-rules.test.ts checks the same rules on a small guest.

  it.skipIf(mutating)("ends failed by the give-up rule, with the reason", async () => {
    const r = await run(yaml(false));
    expect(r.status).toBe("failed");
    expect(r["error-desc"]).toMatch(/did not converge after 10 passes/);
    expect(r.downtime).toBeUndefined();
    expect(r.ram.remaining).toBeGreaterThan(0);
  });

  it.skipIf(mutating)("completes with auto-converge and reports its throttle", async () => {
    const r = await run(yaml(true));
    expect(r.status).toBe("completed");
    // 60000 pages/s = 234 MiB/s against 128 MiB/s: the guest must be slowed to below ~55 %.
    expect(r["cpu-throttle-percentage"]).toBeGreaterThanOrEqual(50);
    const steps = r.timeline.filter((e) => e.kind === "throttle").map((e) => (e as { fraction: number }).fraction);
    expect(steps[0]).toBe(0.2);
    for (let i = 1; i < steps.length; i++) expect(steps[i] - steps[i - 1]).toBeCloseTo(0.1, 5);
    expect(r.downtime).toBeLessThan(400);
  });

  it("the time rule fails a migration that runs too long", async () => {
    const r = await run(yaml(false).replace("passes: 10, time: 300s", "time: 5s"));
    expect(r.status).toBe("failed");
    expect(r["error-desc"]).toMatch(/within 5 s/);
    expect(r["total-time"]).toBeGreaterThanOrEqual(5000);
    expect(r["total-time"]).toBeLessThan(5200);
  });
});

describe("results", () => {
  it("downtime breakdown sums to the downtime", async () => {
    const r = await run(scenarioYaml({ name: "b", memory: "2GiB", kind: "hotcold", workingSet: "256MiB", rate: 20000, migration: "maxBandwidth: 0" }));
    const sum = Object.values(r["downtime-breakdown"]!).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(r.downtime!, 1);
    expect(r["downtime-breakdown"]!["final-ram"]).toBeGreaterThan(0);
  });

  it("each workload model dirties pages and the run completes", async () => {
    for (const w of ["uniform", "hotcold", "zipf", "scan"]) {
      const r = await run(scenarioYaml({ name: w, memory: "1GiB", kind: w, workingSet: "128MiB", rate: 5000 }));
      expect(r.status, w).toBe("completed");
      expect(r.passes[1]["newly-dirty"], w).toBeGreaterThan(0);
    }
  });

  it("zipf concentrates writes: fewer distinct pages than uniform for the same rate", async () => {
    const dirty = async (kind: string) =>
      (await run(scenarioYaml({ name: "z", memory: "1GiB", kind, workingSet: "512MiB", rate: 20000 }))).passes[1]["newly-dirty"];
    expect(await dirty("zipf")).toBeLessThan((await dirty("uniform")) * 0.8);
  });
});

describe("a stream that breaks", () => {
  it("ends failed with the reason and the partial counters", async () => {
    const { VirtualClock } = await import("../src/sim/clock.js");
    const { SimGuestRam } = await import("../src/sim/ram.js");
    const { writeModel } = await import("../src/sim/workload.js");
    const { Random } = await import("../src/sim/random.js");
    const { migrate } = await import("../src/core/controller.js");
    const { qemuDefaults } = await import("../src/core/params.js");
    const { buildResult } = await import("../src/core/result.js");
    const { virtio } = await import("../src/core/strategies/virtio.js");
    const clock = new VirtualClock();
    const pageCount = (256 * MiB) / 4096;
    const ram = new SimGuestRam({
      clock, pageCount, pageSize: 4096, usedPages: pageCount,
      writes: writeModel({ kind: "uniform", workingSetPages: 1024, rate: 1000 }, 0, new Random(1)),
      memoryReadBytesPerSecond: 0,
    });
    let sent = 0;
    const channel = {
      async send(bytes: number) {
        sent += bytes;
        if (sent > 64 * MiB) throw new Error("connection reset by peer");
        await clock.sleep(bytes / 1e6);
      },
      async drain() {},
    };
    const device = virtio.create({ queuePairs: 1 }, { stateBytes: 4096, loadUsPerQueue: 1, vhostStartMs: 1 }, { ramBytes: 256 * MiB, pageSize: 4096, vcpus: 1 });
    const timeline = await clock.run(() => migrate({ clock, ram, channel, devices: [device], params: qemuDefaults }));
    const r = buildResult(timeline, { ramBytes: 256 * MiB, pageSize: 4096, params: qemuDefaults });
    expect(r.status).toBe("failed");
    expect(r["error-desc"]).toBe("migration aborted: connection reset by peer");
    expect(r.ram.transferred).toBeGreaterThan(60 * MiB);
    expect(r.ram.transferred).toBeLessThan(70 * MiB);
    expect(r.downtime).toBeUndefined();
  });
});
