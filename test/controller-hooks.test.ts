// The controller's dealings with its devices, its progress callback and failures, on a guest
// whose dirtying is known exactly (every page between any two syncs while it runs).

import { describe, expect, it } from "vitest";
import { migrate, type MigrationEnv } from "../src/core/controller.js";
import type { Device } from "../src/core/device.js";
import { qemuDefaults } from "../src/core/params.js";
import type { Channel } from "../src/core/ports.js";
import { buildResult } from "../src/core/result.js";
import { VirtualClock } from "../src/sim/clock.js";
import { SimLink } from "../src/sim/link.js";
import { EverythingDirty } from "./sim-harness.js";

// bytes/s: 28 kB/ms, so a 300 ms threshold of 8.4 MB that 16 pages (64 KiB) fit at once
const bandwidth = 28e6;

async function run(pages: number, devices: Device[], extra: Partial<MigrationEnv> = {}, channel?: (clock: VirtualClock) => Channel) {
  const clock = new VirtualClock();
  const ram = new EverythingDirty(pages);
  const params = extra.params ?? { ...qemuDefaults, maxBandwidth: 0 };
  const timeline = await clock.run(() =>
    migrate({
      clock, ram, devices,
      channel: channel ? channel(clock) : new SimLink(clock, { bandwidth, latencyMs: 0 }),
      // Passes of 16 pages take 2.3 ms: the threshold is known only once a 100 ms window closed.
      params,
      ...extra,
    }),
  );
  return { ram, timeline, result: buildResult(timeline, { ramBytes: pages * 4096, pageSize: 4096, params }) };
}

const device = (d: Partial<Device>): Device => ({ kind: "fake", dmaLogged: () => true, stateBytes: () => 0, ...d });

describe("the migration controller and its ports", () => {
  it("reports progress at every sync: the pass, the dirty bytes and the bandwidth estimate", async () => {
    const seen: { pass: number; remainingBytes: number; bandwidth: number; t: number }[] = [];
    // 16.8 MB of RAM against a 1 ms downtime limit (a 28 kB threshold): it never converges.
    const params = { ...qemuDefaults, maxBandwidth: 0, downtimeLimitMs: 1, giveUp: { passes: 3 } };
    const { timeline } = await run(4096, [], { params, onProgress: (p) => seen.push(p) });
    const syncs = timeline.all("sync");
    expect(seen.map((p) => p.pass)).toEqual([1, 2, 3, 4]);
    expect(seen.map((p) => p.t)).toEqual(syncs.map((s) => s.t));
    for (const p of seen) expect(p.remainingBytes).toBe(4096 * 4096);
    expect(seen[0].bandwidth).toBe(0); // no window closed yet at the setup sync
    for (const p of seen.slice(1)) expect(p.bandwidth / bandwidth).toBeCloseTo(1, 2);
  });

  it("a device that blocks migration: failed with its reason, nothing sent, no sync", async () => {
    const { result } = await run(16, [device({ blockedReason: () => "no dirty tracking" })]);
    expect(result.status).toBe("failed");
    expect(result["error-desc"]).toBe("no dirty tracking");
    expect(result.ram.transferred).toBe(0);
    expect(result.ram["dirty-sync-count"]).toBe(0);
  });

  it("waits for a pending unplug in 250 ms polls before the first pass", async () => {
    let unplugged = false;
    const { result } = await run(16, [
      device({ setup: async (ctx) => void ctx.clock.spawn(async () => { await ctx.clock.sleep(600); unplugged = true; }), unplugPending: () => !unplugged }),
    ]);
    expect(result.status).toBe("completed");
    const statuses = result.timeline.filter((e) => e.kind === "status").map((e) => (e as { status: string }).status);
    expect(statuses.slice(0, 3)).toEqual(["setup", "wait-unplug", "active"]);
    expect(result["setup-time"]).toBe(750); // polls at 250, 500 and 750 ms
  });

  it("sends the devices' pre-copy data first and their state in the downtime, counting both", async () => {
    const pages = 16; // 64 KiB: below the threshold once the first window has closed
    const sends: number[] = [];
    const { result } = await run(pages, [device({ preCopyBytes: () => 5000, stateBytes: () => 700 })], {}, (clock) => {
      const link = new SimLink(clock, { bandwidth, latencyMs: 0 });
      return { send: (b) => (sends.push(b), link.send(b)), drain: () => link.drain() };
    });
    expect(result.status).toBe("completed");
    expect(sends[0]).toBe(5000);
    expect(sends[sends.length - 1]).toBe(700);
    expect(result.ram.transferred).toBe(sends.reduce((a, b) => a + b, 0));
    expect(result.ram["downtime-bytes"]).toBeGreaterThanOrEqual(700);
    expect(result.ram["precopy-bytes"]).toBeGreaterThanOrEqual(5000);
    expect(result.ram["precopy-bytes"] + result.ram["downtime-bytes"]).toBe(result.ram.transferred);
  });

  it("a stream that breaks in the downtime: failed with the reason and the devices' abort errors, the source guest running, the throttle lifted", async () => {
    const aborted: string[] = [];
    const { ram, result } = await run(
      16,
      [
        device({ kind: "vf", stateBytes: () => 700, abort: async () => { throw new Error("no VF to give back"); } }),
        device({ kind: "virtio", abort: async () => void aborted.push("virtio") }),
      ],
      {},
      (clock) => {
        const link = new SimLink(clock, { bandwidth, latencyMs: 0 });
        return { send: (b) => (b === 700 ? Promise.reject(new Error("link down")) : link.send(b)), drain: () => link.drain() };
      },
    );
    expect(result.status).toBe("failed");
    expect(result["error-desc"]).toBe("migration aborted: link down; abort: vf: no VF to give back");
    expect(aborted).toEqual(["virtio"]); // one device failing to abort does not keep the others from it
    expect(ram.running).toBe(true);
    expect(ram.throttles[ram.throttles.length - 1]).toBe(0);
    expect(result.downtime).toBeUndefined();
  });
});
