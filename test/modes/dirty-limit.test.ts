// dirty-limit (issue 17): each vCPU's dirty rate held at vcpu-dirty-limit by sleeping on a full
// dirty ring (system/dirtylimit.c), triggered as auto-converge is (migration/ram.c).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DirtyLimit } from "../../src/core/dirty-limit.js";
import { loadScenario } from "../../src/scenario/load.js";
import { simulate } from "../../src/sim/simulate.js";
import { run, scenario } from "../helpers.js";

describe("dirty-limit", () => {
  it("the sleep per full ring that brings a vCPU to its quota: ring / quota - ring / rate", () => {
    // 16 MiB/s = 4096 pages/s per vCPU; 2 vCPUs measured at 16384 pages/s together = 8192 each.
    const d = new DirtyLimit({ bytesPerSecond: 16 * 2 ** 20, ringSize: 4096, vcpus: 2, pageSize: 4096 });
    expect(d.adjust(16384, 0)).toEqual({ fraction: 0.5, throttleUsPerFull: 500_000, ringFullUs: 500_000 });
    // Measured while sleeping half the time: the same natural rate, the same sleep.
    expect(d.adjust(8192, 0.5)).toEqual({ fraction: 0.5, throttleUsPerFull: 500_000, ringFullUs: 500_000 });
    // Below the quota: no sleep at all (a vCPU that dirties little is not slowed).
    expect(d.adjust(4000, 0).fraction).toBe(0);
  });

  it("the ring's fill time is at the highest rate seen; a vCPU sleeps at most 99 % of its time; no writes, no fill time", () => {
    // Quota 4096 pages/s per vCPU (16 MiB/s), ring 4096, 2 vCPUs.
    const d = new DirtyLimit({ bytesPerSecond: 16 * 2 ** 20, ringSize: 4096, vcpus: 2, pageSize: 4096 });
    expect(d.adjust(0, 0)).toEqual({ fraction: 0, throttleUsPerFull: 0, ringFullUs: 0 });
    // 2 x 8192 pages/s: the ring fills in 0.5 s; a later, slower rate keeps that.
    d.adjust(16384, 0);
    expect(d.adjust(4000, 0)).toEqual({ fraction: 0, throttleUsPerFull: 0, ringFullUs: 500_000 });
    // 1000 x the quota: sleeping 1 - 1/1000 would be needed; capped at 99 %. The sleep per ring
    // full still meets the quota: 4096 / 4096 - 4096 / 4096000 s = 999 ms.
    expect(d.adjust(2 * 4_096_000, 0)).toEqual({ fraction: 0.99, throttleUsPerFull: 999_000, ringFullUs: 1000 });
    // Measured while sleeping 3/4 of the time: natural = 2 x 8192 / 2 / (1/4) = 32768 pages/s each.
    const e = new DirtyLimit({ bytesPerSecond: 16 * 2 ** 20, ringSize: 4096, vcpus: 2, pageSize: 4096 });
    expect(e.adjust(16384, 0.75)).toEqual({ fraction: 0.875, throttleUsPerFull: 875_000, ringFullUs: 125_000 });
  });

  it("the shipped scenario: precopy fails; dirty-limit converges and the guest keeps more of its writes than under auto-converge", { timeout: 60_000 }, async () => {
    const runs = loadScenario(readFileSync("scenarios/dirty-limit.yaml", "utf8"), "dirty-limit.yaml");
    const r = Object.fromEntries(await Promise.all(runs.map(async (x) => [x.variant, await simulate(x.scenario)] as const)));
    expect(r.base.status).toBe("failed");
    const limited = r["dirty-limit-16m"];
    expect(limited.status).toBe("completed");
    expect(limited["cpu-throttle-percentage"]).toBe(0);
    expect(limited["dirty-limit-throttle-time-per-round"]).toBeGreaterThan(0);
    expect(limited["dirty-limit-ring-full-time"]).toBeGreaterThan(0);
    expect(limited.parameters!["vcpu-dirty-limit"]).toBe(16);
    expect(r["auto-converge"].status).toBe("completed");
    expect(limited["dirty-limit-guest-write-percentage"]).toBeGreaterThan(100 - r["auto-converge"]["cpu-throttle-percentage"]);
    // A lower limit: more sleep, fewer of the guest's writes kept.
    expect(r["dirty-limit-4m"]["dirty-limit-guest-write-percentage"]).toBeLessThan(limited["dirty-limit-guest-write-percentage"]!);
  });

  it("a guest below the limit is not slowed, where auto-converge throttles it anyway", { timeout: 60_000 }, async () => {
    // 2 vCPUs dirtying 2500 pages/s each (~10 MiB/s) over 256 MiB, migrated at 8 MiB/s: never converges.
    const text = (extra: string) => `name: low\nvm: {memory: 512MiB, used: 256MiB, vcpus: 2, workload: {kind: uniform, workingSet: 256MiB, rate: 5000}}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 8MiB/s, giveUp: {time: 120s}${extra}}\n`;
    const limited = await run(text(", dirtyLimit: 64MiB/s"));
    expect(limited.timeline.some((e) => e.kind === "dirty-limit")).toBe(true); // the trigger fired
    expect(limited["dirty-limit-guest-write-percentage"]).toBe(100);
    const throttled = await run(text(", autoConverge: true"));
    expect(throttled["cpu-throttle-percentage"]).toBeGreaterThan(0);
  });

  it("QEMU refuses dirty-limit with auto-converge, with its message", () => {
    expect(() => scenario("name: x\nvm: {memory: 64MiB}\nlink: {bandwidth: 1Gbit/s}\nmigration: {autoConverge: true, dirtyLimit: 16MiB/s}\n")).toThrow(
      "migration.dirtyLimit: dirty-limit conflicts with auto-converge either of then available currently",
    );
  });
});
