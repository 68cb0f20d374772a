// The rate limit's window budget shared between a VFIO device's changed pre-copy state and RAM
// (vfio_save_iterate beside ram_save_iterate, both counted by migration_rate_limit): worked out by hand.

import { describe, expect, it } from "vitest";
import { migrate } from "../src/core/controller.js";
import type { Device } from "../src/core/device.js";
import { qemuDefaults } from "../src/core/params.js";
import { buildResult } from "../src/core/result.js";
import { VirtualClock } from "../src/sim/clock.js";
import { SimLink } from "../src/sim/link.js";
import { EverythingDirty } from "./sim-harness.js";

const MiB = 1 << 20;

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
});
