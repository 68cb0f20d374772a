// What the controller does with its devices' data: the rate limit's window budget shared between a VFIO device's
// changed pre-copy state and RAM (vfio_save_iterate beside ram_save_iterate, both counted by migration_rate_limit),
// which devices are told their pre-copy data arrived, which data counts as VFIO's, and what a device is told at a
// periodic auto-converge sync. Worked out by hand.

import { describe, expect, it } from "vitest";
import { migrate } from "../src/core/controller.js";
import type { Device } from "../src/core/device.js";
import { qemuDefaults, type MigrationParams } from "../src/core/params.js";
import { buildResult } from "../src/core/result.js";
import { VirtualClock } from "../src/sim/clock.js";
import { SimLink } from "../src/sim/link.js";
import { EverythingDirty } from "./sim-harness.js";

const MiB = 1 << 20;

/** A migration of `pages` always-dirty pages over a 28 MB/s link with these devices; its result. */
async function migrateWith(pages: number, devices: Device[], params: MigrationParams) {
  const clock = new VirtualClock();
  const timeline = await clock.run(() => migrate({ clock, ram: new EverythingDirty(pages), channel: new SimLink(clock, { bandwidth: 28e6, latencyMs: 0 }), devices, params }));
  return buildResult(timeline, { ramBytes: pages * 4096, pageSize: 4096, params });
}

describe("a window's budget, device state and RAM", () => {
  it("a device with a full buffer at every slice takes the whole budget: no RAM page leaves while it does", async () => {
    // max-bandwidth 10 MiB/s: a 100 ms window may carry 1 MiB, exactly the device's one buffer (1 MiB) of changed
    // state, which it has at every slice. What the device sent is taken from the slice's budget first, so RAM is
    // left 0 bytes in every window; 1 s of migration is 10 windows of 1 MiB each, and the time bound ends it.
    const clock = new VirtualClock();
    const device: Device = { kind: "vf", vfioMigration: true, dmaLogged: () => true, stateBytes: () => 0, preCopyDirtyBytes: () => MiB, preCopyDirtySent: () => undefined };
    const params = { ...qemuDefaults, maxBandwidth: 10 * MiB, giveUp: { timeMs: 1000 } };
    const timeline = await clock.run(() =>
      migrate({ clock, ram: new EverythingDirty(1024), channel: new SimLink(clock, { bandwidth: 1e9, latencyMs: 0 }), devices: [device], params }),
    );
    const result = buildResult(timeline, { ramBytes: 1024 * 4096, pageSize: 4096, params });
    expect(result.status).toBe("failed");
    expect(result.ram.normal).toBe(0);
    expect(result.ram.duplicate).toBe(0);
    // One buffer per window, from the first window on (the bound is judged between iterations: 10 or 11 windows).
    expect(result.vfio!.transferred / MiB).toBeGreaterThanOrEqual(10);
    expect(result.vfio!.transferred / MiB).toBeLessThanOrEqual(11);
    expect(result.ram.transferred).toBe(result.vfio!.transferred);
  });

  it("the devices' first pre-copy data: each device that had some is told it arrived; only VFIO devices' bytes count as vfio", async () => {
    const arrived: string[] = [];
    const d = (kind: string, bytes: number | undefined, vfio: boolean): Device => ({
      kind, dmaLogged: () => true, stateBytes: () => 0, ...(vfio ? { vfioMigration: true } : {}),
      ...(bytes === undefined ? {} : { preCopyBytes: () => bytes }),
      preCopyArrived: () => void arrived.push(kind),
    });
    // A VFIO device with 1000 B, a non-VFIO one with 500 B, a VFIO one with none to send, one without the hook.
    const devices = [d("vf-a", 1000, true), d("vdpa-b", 500, false), d("vf-empty", 0, true), d("no-hook", undefined, true)];
    const result = await migrateWith(16, devices, { ...qemuDefaults, maxBandwidth: 0 });
    expect(result.status).toBe("completed");
    expect(arrived).toEqual(["vf-a", "vdpa-b"]);
    expect(result.vfio).toEqual({ transferred: 1000 });
    expect(result.timeline.filter((e) => e.kind === "device-data")).toEqual([{ t: expect.any(Number), kind: "device-data", device: "vf-a", phase: "pre-copy", bytes: 1000 }]);
  });

  it("a periodic auto-converge sync is not the final one: a device is told final only after the stop", async () => {
    // 4096 always-dirty pages (16 MiB): a pass sends 4096 x 4104 B at 28 MB/s, 600.4 ms, so without the timer sync k
    // comes (k - 1) x 600 ms in. With a 20 ms timer, syncs come between a pass's slices; the bound of 4 passes ends
    // the migration before any stop: no final sync at all.
    const finals: boolean[] = [];
    const device: Device = { kind: "fake", dmaLogged: () => true, stateBytes: () => 0, sync: async (_ctx, _bitmap, final) => void finals.push(final) };
    const params = { ...qemuDefaults, maxBandwidth: 0, autoConverge: true, autoConvergeSyncMs: 20, downtimeLimitMs: 1, giveUp: { passes: 4 } };
    const result = await migrateWith(4096, [device], params);
    expect(result.status).toBe("failed");
    // At least four syncs in less than two passes' time: periodic ones among them.
    expect(result.ram["dirty-sync-count"]).toBeGreaterThanOrEqual(4);
    expect(result["total-time"]).toBeLessThan(1200);
    expect(finals.length).toBe(result.ram["dirty-sync-count"]);
    expect(finals.every((final) => !final)).toBe(true);
  });
});
