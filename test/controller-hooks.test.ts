// The controller's dealings with its devices, its progress callback and failures, on a guest
// whose dirtying is known exactly (every page between any two syncs while it runs).

import { describe, expect, it } from "vitest";
import { migrate, type MigrationEnv } from "../src/core/controller.js";
import type { Device } from "../src/core/device.js";
import { qemuDefaults } from "../src/core/params.js";
import type { Channel, Clock } from "../src/core/ports.js";
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

  it("counts a mode's bytes only when the mode is on: a plain migration's ram stats have no multifd or post-copy field", async () => {
    const { result } = await run(16, []);
    expect(result.status).toBe("completed");
    for (const key of ["multifd-bytes", "postcopy-bytes", "postcopy-requests"]) expect(result.ram).not.toHaveProperty(key);
  });

  it("without mode costs (the live engine's controller) a guest write changes its whole page: xbzrle's re-sends all overflow", async () => {
    // 16 pages, all re-dirtied between syncs, a cache that holds them all: from the second pass each page is
    // found in the cache, and its encoding (a whole 4096 B page changed: 1 + 2 + 4096 B) is longer than the page:
    // every hit is an overflow, counted as QEMU does (xbzrle pages and bytes: the page, whole).
    const params = { ...qemuDefaults, maxBandwidth: 0, downtimeLimitMs: 1, giveUp: { passes: 3 }, xbzrle: { cacheSize: 16 * 4096 } };
    const { result } = await run(16, [], { params });
    const cache = result["xbzrle-cache"]!;
    expect(cache.overflow).toBeGreaterThan(0);
    expect(cache.pages).toBe(cache.overflow);
    expect(cache.bytes).toBe(cache.overflow * 4096);
    expect(cache["encoding-rate"]).toBe(1);
  });

  it("a device that blocks migration: failed with its reason, nothing sent, no sync", async () => {
    const { result } = await run(16, [device({ blockedReason: () => "no dirty tracking" })]);
    expect(result.status).toBe("failed");
    expect(result["error-desc"]).toBe("no dirty tracking");
    expect(result["blocked-reasons"]).toEqual(["no dirty tracking"]); // QEMU's blocked-reasons
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
        device({ kind: "vdpa", abort: async () => { throw new Error("device busy"); } }),
      ],
      {},
      (clock) => {
        const link = new SimLink(clock, { bandwidth, latencyMs: 0 });
        return { send: (b) => (b === 700 ? Promise.reject(new Error("link down")) : link.send(b)), drain: () => link.drain() };
      },
    );
    expect(result.status).toBe("failed");
    expect(result["error-desc"]).toBe("migration aborted: link down; abort: vf: no VF to give back; vdpa: device busy");
    expect(result["blocked-reasons"]).toBeUndefined(); // failed, not blocked
    expect(aborted).toEqual(["virtio"]); // one device failing to abort does not keep the others from it
    expect(ram.running).toBe(true);
    expect(ram.throttles[ram.throttles.length - 1]).toBe(0);
    expect(result.downtime).toBeUndefined();
  });

  it("hands the devices the guest's shape and receive rate, and says at each sync whether it is the final one", async () => {
    const seen: { ramBytes: number; pageCount: number; rx: number }[] = [];
    const finals: boolean[] = [];
    const d = device({
      setup: async (ctx) => void seen.push({ ramBytes: ctx.ramBytes, pageCount: ctx.pageCount, rx: ctx.rxFramesPerSecond }),
      sync: async (_ctx, _bitmap, final) => void finals.push(final),
    });
    const { result } = await run(16, [d], { rxFramesPerSecond: 5000 });
    await run(16, [d]);
    // 16 pages of 4 KiB; the rate given, and none when the runtime gives none.
    expect(seen).toEqual([{ ramBytes: 16 * 4096, pageCount: 16, rx: 5000 }, { ramBytes: 16 * 4096, pageCount: 16, rx: 0 }]);
    // Every sync of the first run: one per dirty-sync-count, only the one after the stop final.
    const first = finals.slice(0, result.ram["dirty-sync-count"]);
    expect(first.length).toBeGreaterThan(2);
    expect(first).toEqual([...new Array(first.length - 1).fill(false), true]);
  });

  it("an error after the destination resumed is a bug, not a failed migration: it is thrown", async () => {
    const clock = new VirtualClock();
    const params = { ...qemuDefaults, maxBandwidth: 0 };
    const broken = device({ afterResume: async () => { throw new Error("fail back broke"); } });
    await expect(
      clock.run(() => migrate({ clock, ram: new EverythingDirty(16), channel: new SimLink(clock, { bandwidth, latencyMs: 0 }), devices: [broken], params })),
    ).rejects.toThrow("fail back broke");
  });

  it("waits for an unplug while any device has one pending, and not at all when none has", async () => {
    let unplugged = false;
    const { result } = await run(16, [
      device({ kind: "plain" }),
      device({ setup: async (ctx) => void ctx.clock.spawn(async () => { await ctx.clock.sleep(300); unplugged = true; }), unplugPending: () => !unplugged }),
      device({ kind: "done", unplugPending: () => false }),
    ]);
    expect(result["setup-time"]).toBe(500); // polls at 250 and 500 ms
    const plain = await run(16, [device({ kind: "plain" }), device({ kind: "done", unplugPending: () => false })]);
    const statuses = plain.result.timeline.filter((e) => e.kind === "status").map((e) => (e as { status: string }).status);
    expect(statuses).toEqual(["setup", "active", "device", "completed"]);
    expect(plain.result["setup-time"]).toBe(0);
  });

  it("records each phase as a span the report draws, and the downtime's parts from the bytes and the device's work", async () => {
    const latencyMs = 5;
    let unplugged = false;
    const d = device({
      setup: async (ctx) => void ctx.clock.spawn(async () => { await ctx.clock.sleep(100); unplugged = true; }),
      unplugPending: () => !unplugged,
      preCopyBytes: () => 2800,
      stateBytes: () => 700,
      sync: async (ctx, _bitmap, final) => { if (final) await ctx.clock.sleep(3); },
    });
    const { result } = await run(16, [d], {}, (clock) => new SimLink(clock, { bandwidth, latencyMs }));
    expect(result.status).toBe("completed");
    const spans = result.timeline.filter((e) => e.kind === "span").map((e) => {
      const { name, component, side } = e as { name: string; component: string; side: string };
      return { name, component, side };
    });
    // The phase chart leaves out the "setup" component (drawn as the setup phase) and labels the rest by name.
    expect(spans).toEqual([
      { name: "setup", component: "setup", side: "source" },
      { name: "wait-unplug", component: "setup", side: "source" },
      { name: "device pre-copy", component: "device-precopy", side: "source" },
      { name: "final sync", component: "final-sync", side: "source" },
      { name: "final RAM", component: "final-ram", side: "source" },
      { name: "device state", component: "device-state", side: "source" },
    ]);
    // After the stop: the device's 3 ms log read, the 16 pages every sync finds dirty
    // (16 x 4104 B + an 8-byte EOS) and 700 B of state at 28 kB/ms, then the link's 5 ms latency.
    const finalRam = (16 * 4104 + 8) / 28_000;
    const deviceState = 700 / 28_000 + latencyMs;
    const b = result["downtime-breakdown"]!;
    expect(Object.keys(b).sort()).toEqual(["device-state", "final-ram", "final-sync"]);
    expect(b["final-sync"]).toBeCloseTo(3, 3);
    expect(b["final-ram"]).toBeCloseTo(finalRam, 3);
    expect(b["device-state"]).toBeCloseTo(deviceState, 3);
    expect(result.downtime).toBeCloseTo(3 + finalRam + deviceState, 3);
  });

  it("lists at most 1000 stale pages in the result, and counts them all", async () => {
    class Stale extends EverythingDirty {
      stalePages(): number[] {
        return Array.from({ length: 1500 }, (_, i) => i);
      }
    }
    const clock = new VirtualClock();
    const params = { ...qemuDefaults, maxBandwidth: 0 };
    const timeline = await clock.run(() => migrate({ clock, ram: new Stale(2048), channel: new SimLink(clock, { bandwidth, latencyMs: 0 }), devices: [], params }));
    const r = buildResult(timeline, { ramBytes: 2048 * 4096, pageSize: 4096, params });
    expect(r.status).toBe("completed-unsafe");
    expect(r["stale-pages"]).toBe(1500);
    expect(r["stale-page-list"]).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it("each pass record carries the bytes sent before its sync", async () => {
    let sent = 0;
    const atSync: number[] = [];
    const params = { ...qemuDefaults, maxBandwidth: 0, downtimeLimitMs: 1, giveUp: { passes: 3 } };
    const { result } = await run(4096, [], { params, onProgress: () => void atSync.push(sent) }, (clock) => {
      const link = new SimLink(clock, { bandwidth, latencyMs: 0 });
      return { send: (b) => ((sent += b), link.send(b)), drain: () => link.drain() };
    });
    expect(atSync.length).toBe(4);
    expect(result.passes.map((p) => p.transferred)).toEqual(atSync);
    // Each pass sends the 4096 pages once (the setup sync, then one per pass).
    for (let i = 1; i < atSync.length; i++) expect(atSync[i] - atSync[i - 1]).toBeGreaterThanOrEqual(4096 * 4104);
  });

  it("the time rule counts from the migration's start, whatever the clock's origin (the live clock's is the epoch)", async () => {
    const virtual = new VirtualClock();
    const origin = 1.7e12;
    const clock: Clock = {
      now: () => virtual.now() + origin,
      sleep: (ms) => virtual.sleep(ms),
      spawn: (body) => virtual.spawn(body),
      join: (tasks) => virtual.join(tasks),
      joinAny: (tasks) => virtual.joinAny(tasks),
    };
    const params = { ...qemuDefaults, maxBandwidth: 0, downtimeLimitMs: 1, giveUp: { timeMs: 2000 } };
    const timeline = await virtual.run(() => migrate({ clock, ram: new EverythingDirty(4096), channel: new SimLink(virtual, { bandwidth, latencyMs: 0 }), devices: [], params }));
    const r = buildResult(timeline, { ramBytes: 4096 * 4096, pageSize: 4096, params });
    expect(r["error-desc"]).toMatch(/^did not converge within 2 s/);
    // Checked between slices of at most 1 MiB (37 ms at 28 MB/s).
    expect(r["total-time"]).toBeGreaterThanOrEqual(2000);
    expect(r["total-time"]).toBeLessThan(2000 + 40);
  });
});

