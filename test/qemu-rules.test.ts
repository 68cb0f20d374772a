// QEMU's rules, with the expected figures worked out by hand from QEMU's source and
// defaults (migration/ram.c, migration/options.c, net/announce.c), on guests simple enough
// that the arithmetic fits in a comment.

import { describe, expect, it } from "vitest";
import { migrate } from "../src/core/controller.js";
import type { PageBitmap } from "../src/core/bitmap.js";
import type { Device } from "../src/core/device.js";
import { autoConvergeSyncMsOf, qemuDefaults, qemuIterationMs, type MigrationParams } from "../src/core/params.js";
import type { Channel } from "../src/core/ports.js";
import { buildResult } from "../src/core/result.js";
import { Timeline } from "../src/core/timeline.js";
import { VirtualClock } from "../src/sim/clock.js";
import { SimLink } from "../src/sim/link.js";
import { SimGuestRam } from "../src/sim/ram.js";
import { writeModel } from "../src/sim/workload.js";
import { Random } from "../src/sim/random.js";
import { scenario } from "./helpers.js";
import { EverythingDirty, migrateWatched } from "./sim-harness.js";

// 4096 pages of 4 KiB over a 28 MB/s link: a pass sends 4096 x (8 + 4096) B = 16.8 MB in
// 0.6 s, and the switch-over threshold (28 kB/ms x 300 ms = 8.4 MB) is half of the 16.8 MB
// dirty after every sync: the migration never converges.
const pages = 4096;
const bandwidth = 28e6;

async function everythingDirty(params: Partial<MigrationParams>, pageCount = pages, devices: Device[] = []) {
  const clock = new VirtualClock();
  const ram = new EverythingDirty(pageCount);
  const channel: Channel = new SimLink(clock, { bandwidth, latencyMs: 0 });
  const used = { ...qemuDefaults, maxBandwidth: 0, ...params };
  const timeline = await clock.run(() => migrate({ clock, ram, channel, devices, params: used }));
  return { ram, timeline, result: buildResult(timeline, { ramBytes: pageCount * 4096, pageSize: 4096, params: used }) };
}

describe("auto-converge (migration_trigger_throttle, mig_throttle_guest_down)", () => {
  it("raises the throttle after two high periods in a row: 20 %, then +10 %, capped at max-cpu-throttle 99 %", async () => {
    // Every period of >= 1 s dirties about all it sent (4096 B of every 4104 B page sent) >
    // 50 %: every period is high, so the throttle goes up at every second period check.
    const { ram, result } = await everythingDirty({ autoConverge: true, giveUp: { timeMs: 40_000 } });
    expect(result.status).toBe("failed");
    const steps = result.timeline.filter((e) => e.kind === "throttle") as { t: number; fraction: number }[];
    // 40 s of 1.2 s periods (two 0.6 s passes each) is 33 checks: 16 raises.
    expect(steps.length).toBeGreaterThanOrEqual(12);
    // Whole percents, as QEMU's cpu-throttle-percentage is an integer.
    steps.forEach((s, i) => expect(s.fraction).toBe(Math.min(20 + 10 * i, 99) / 100));
    expect(ram.throttles.slice(0, steps.length)).toEqual(steps.map((s) => s.fraction));
    // Two periods of at least 1 s each before the first raise, and between raises.
    const start = result.timeline.find((e) => e.kind === "setup-done")!.t;
    expect(steps[0].t - start).toBeGreaterThanOrEqual(2000);
    for (let i = 1; i < steps.length; i++) expect(steps[i].t - steps[i - 1].t).toBeGreaterThanOrEqual(2000);
    expect(result["cpu-throttle-percentage"]).toBe(99);
  });

  it("never throttles a guest that dirties less than half of what is sent", async () => {
    // 1 page written per second against 28 MB/s sent: far below the trigger, over 8 x 4096
    // pages (4.8 s of precopy: four period checks).
    const clock = new VirtualClock();
    const ram = new SimGuestRam({
      clock, pageCount: 8 * pages, pageSize: 4096, usedPages: 8 * pages, memoryReadBytesPerSecond: 0,
      writes: writeModel({ kind: "uniform", workingSetPages: 8 * pages, rate: 1 }, 0, new Random(1)),
    });
    const timeline = await clock.run(() =>
      migrate({ clock, ram, channel: new SimLink(clock, { bandwidth, latencyMs: 0 }), devices: [], params: { ...qemuDefaults, maxBandwidth: 0, autoConverge: true } }),
    );
    expect(timeline.all("throttle")).toEqual([]);
    expect(timeline.last("vm-stop")!.t).toBeGreaterThan(4000);
  });

  it("a period in which the guest dirtied no more than half of what was sent does not count towards a raise", async () => {
    // The first pass sends all 4096 clean pages (0.6 s); afterwards the guest dirties 16 pages
    // between syncs, which a 1 ms limit never lets converge. The first period (>= 1 s) sent
    // ~28 MB and saw ~0.4 s x 28 MB/s = 11 MB dirtied: 0.4 of it, low. The next two are all
    // re-sent dirt (about 1.0): high, high. So the first raise is at the third check, ~3 s.
    class FewPages extends EverythingDirty {
      private syncs = 0;
      syncDirtyLog(into: PageBitmap): number {
        if (this.syncs++ === 0 || !this.running) return 0;
        const before = into.count;
        into.setRange(0, 16);
        return into.count - before;
      }
    }
    const clock = new VirtualClock();
    const params = { ...qemuDefaults, maxBandwidth: 0, downtimeLimitMs: 1, autoConverge: true, giveUp: { timeMs: 3500 } };
    const timeline = await clock.run(() => migrate({ clock, ram: new FewPages(pages), channel: new SimLink(clock, { bandwidth, latencyMs: 0 }), devices: [], params }));
    const raises = timeline.all("throttle");
    expect(raises.map((e) => e.fraction)).toEqual([0.2]);
    expect(raises[0].t).toBeGreaterThanOrEqual(3000);
  });

  it("never throttles without auto-converge, however fast the guest dirties", async () => {
    const { ram, result } = await everythingDirty({ giveUp: { timeMs: 10_000 } });
    expect(result.timeline.filter((e) => e.kind === "throttle")).toEqual([]);
    expect(ram.throttles.every((f) => f === 0)).toBe(true);
  });
});

describe("dirty-pages-rate and expected-downtime (migration_bitmap_sync, migration_update_counters)", () => {
  it("the dirty rate is the pages dirtied per second: a guest that dirties every page sent dirties them at the link's page rate", async () => {
    const { result } = await everythingDirty({ giveUp: { passes: 8 } });
    // 28 MB/s of 4104-byte pages (the 8-byte EOS per 1 MiB slice aside) = 6823 pages/s.
    const pageRate = bandwidth / 4104;
    expect(result.ram["dirty-pages-rate"] / pageRate).toBeGreaterThan(0.99);
    expect(result.ram["dirty-pages-rate"] / pageRate).toBeLessThan(1.01);
  });

  it("expected-downtime stays the downtime-limit until both a dirty rate (a 1 s period) and a bandwidth (a 100 ms window) are known", async () => {
    // 16 pages: sent and switched over in the first window, before any period ended.
    const small = await everythingDirty({ giveUp: { passes: 50 } }, 16);
    expect(small.result.status).toBe("completed");
    expect(small.result["expected-downtime"]).toBe(300);
    // An unplug of 1.2 s before the first pass: the first period ends (a dirty rate) before
    // the first window does (no bandwidth yet).
    let unplugged = false;
    const waited = await everythingDirty({ giveUp: { passes: 50 } }, 16, [
      { kind: "fake", dmaLogged: () => true, stateBytes: () => 0, unplugPending: () => !unplugged, setup: async (ctx) => void ctx.clock.spawn(async () => { await ctx.clock.sleep(1200); unplugged = true; }) },
    ]);
    const syncs = waited.timeline.all("sync");
    const rateOnly = syncs.filter((s) => s.dirtyRate > 0 && s.bandwidth === 0);
    expect(rateOnly.length).toBeGreaterThan(0);
    for (const s of rateOnly) expect(s.expectedDowntime).toBe(300);
    // Once both are known: the dirty bytes over the bandwidth (16 pages at 28 kB/ms = 2.3 ms).
    const both = syncs.filter((s) => s.dirtyRate > 0 && s.bandwidth > 0);
    expect(both.length).toBeGreaterThan(0);
    for (const s of both) expect(s.expectedDowntime).toBeCloseTo((s.dirtyPages * 4096) / (s.bandwidth / 1000), 6);
  });
});

describe("give-up after N passes", () => {
  it("fails once pass N + 1 begins: dirty-sync-count N + 1 (the setup sync and one per pass), N full passes sent", async () => {
    // A 1 ms downtime limit makes the threshold 28 kB (7 pages): QEMU syncs only when the
    // pending estimate is below it, so each pass sends all 4096 pages.
    for (const n of [1, 3, 5]) {
      const { result } = await everythingDirty({ downtimeLimitMs: 1, giveUp: { passes: n } });
      expect(result.status).toBe("failed");
      expect(result["error-desc"]).toMatch(new RegExp(`did not converge after ${n} passes`));
      // Why, in words: the whole RAM (16 MiB) dirty again against a 28 kB threshold (no switchover-ack here).
      expect(result["error-desc"]).toMatch(/pending [\d.]+ MiB stays above the [\d.]+ KiB threshold$/);
      expect(result.ram["dirty-sync-count"]).toBe(n + 1);
      // N passes sent whole; pass N + 1 had begun (the rule is checked between slices), not ended.
      expect(result.ram.normal).toBeGreaterThanOrEqual(n * pages);
      expect(result.ram.normal).toBeLessThan((n + 1) * pages);
    }
  });
});

describe("expected-downtime (migration_update_counters)", () => {
  it("is the dirty bytes at the last sync over the bandwidth: 4096 pages x 4096 B / 28 kB/ms = 599 ms", async () => {
    const { result } = await everythingDirty({ giveUp: { passes: 5 } });
    const expected = (pages * 4096) / (bandwidth / 1000);
    // The bandwidth estimate is the link's rate to within a page per window.
    expect(result["expected-downtime"] / expected).toBeGreaterThan(0.99);
    expect(result["expected-downtime"] / expected).toBeLessThan(1.01);
  });
});

describe("self-announce (qemu_announce_self)", () => {
  it("sends its 5 rounds at 0, 50, 200, 450 and 800 ms after resume (initial 50, step 100, max 550)", async () => {
    const s = scenario("name: a\nvm: {memory: 16MiB}\nlink: {bandwidth: 10Gbit/s}\nmigration: {maxBandwidth: 0}\n");
    const result = await migrateWatched(s, {
      ram: ({ clock, pageCount, pageSize }) =>
        new SimGuestRam({ clock, pageCount, pageSize, usedPages: 0, memoryReadBytesPerSecond: 0, writes: writeModel({ kind: "idle" }, 0, new Random(1)) }),
    });
    const resume = result.timeline.find((e) => e.kind === "vm-resume")!.t;
    const rounds = result.timeline.filter((e) => e.kind === "announce") as { t: number; round: number }[];
    expect(rounds.map((e) => e.round)).toEqual([0, 1, 2, 3, 4]);
    rounds.forEach((e, i) => expect(e.t - resume).toBeCloseTo([0, 50, 200, 450, 800][i], 6));
  });
});

describe("service downtime (the 2015 thread's)", () => {
  it("is the longest gap in the prober's replies, not the last one", () => {
    const timeline = new Timeline();
    const counters = { transferred: 0, duplicate: 0, normal: 0, normalBytes: 0, precopyBytes: 0, downtimeBytes: 0 };
    timeline.add({ t: 0, kind: "status", status: "active" });
    timeline.add({ t: 100, kind: "probe-gap", end: 400, lost: 300 });
    timeline.add({ t: 900, kind: "probe-gap", end: 920, lost: 20 });
    timeline.add({ t: 1000, kind: "status", status: "completed" });
    timeline.add({ t: 1000, kind: "end", counters });
    const r = buildResult(timeline, { ramBytes: 4096, pageSize: 4096, probeIntervalMs: 1, params: qemuDefaults });
    expect(r["service-downtime"]).toBe(300);
    expect(r.network!["lost-replies"]).toBe(320);
  });
});

describe("bytes on the wire for an idle guest (ram_save_page, save_zero_page, RAM_SAVE_FLAG_EOS)", () => {
  it("is exactly normal pages x (8 + 4096) + zero pages x (8 + 1) + 8 per section + the device state, no slack", async () => {
    const s = scenario("name: w\nvm: {memory: 64MiB, used: 16MiB}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\ndevices: [{kind: virtio}]\n");
    const sends: number[] = [];
    const result = await migrateWatched(s, {
      ram: ({ clock, pageCount, pageSize }) =>
        new SimGuestRam({ clock, pageCount, pageSize, usedPages: (16 << 20) / pageSize, memoryReadBytesPerSecond: 0, writes: writeModel({ kind: "idle" }, 0, new Random(1)) }),
      channel: (link) => ({
        send(bytes) {
          sends.push(bytes);
          return link.send(bytes);
        },
        drain: () => link.drain(),
      }),
    });
    expect(result.status).toBe("completed");
    const normal = (16 << 20) / 4096;
    const zero = (48 << 20) / 4096;
    expect(result.ram.normal).toBe(normal);
    expect(result.ram.duplicate).toBe(zero);
    // The last send is virtio-net's device state (4096 B, docs/model.md); every other is one
    // section of RAM pages closed by an 8-byte EOS.
    const deviceState = 4096;
    expect(sends[sends.length - 1]).toBe(deviceState);
    const sections = sends.length - 1;
    const expected = normal * (8 + 4096) + zero * (8 + 1) + sections * 8 + deviceState;
    expect(sends.reduce((a, b) => a + b, 0)).toBe(expected);
    expect(result.ram.transferred).toBe(expected);
    expect(result.ram["precopy-bytes"] + result.ram["downtime-bytes"]).toBe(expected);
  });
});

describe("iterations (ram_save_iterate's MAX_WAIT, migration_iteration_run)", () => {
  // 65536 pages (256 MiB), all non-zero and never written, over a 1 GB/s link (1e6 B/ms), page
  // reads free. A slice is the first 256 pages past 1 MiB (256 x 4104 B + 8 B EOS = 1.0506 ms
  // on the link); an iteration, the first 48 slices past 50 ms (50.43 ms, 12288 pages). The
  // first window closes after iteration 2 at 1e6 B/ms, so with a 90 ms limit the threshold
  // is 90 MB = 21973 pages of 4 KiB.
  async function idleGuest(iterationMs?: number, pageCount = 65536) {
    const clock = new VirtualClock();
    const ram = new SimGuestRam({ clock, pageCount, pageSize: 4096, usedPages: pageCount, memoryReadBytesPerSecond: 0, writes: writeModel({ kind: "idle" }, 0, new Random(1)) });
    const params = { ...qemuDefaults, maxBandwidth: 0, downtimeLimitMs: 90, ...(iterationMs !== undefined ? { iterationMs } : {}) };
    const timeline = await clock.run(() => migrate({ clock, ram, channel: new SimLink(clock, { bandwidth: 1e9, latencyMs: 0 }), devices: [], params }));
    const result = buildResult(timeline, { ramBytes: pageCount * 4096, pageSize: 4096, params });
    const stoppedAfter = timeline.last("vm-stop")!.t - timeline.last("setup-done")!.t;
    return { result, stoppedAfter, finalPages: Math.round(result.ram["downtime-bytes"] / 4104) };
  }

  it("QEMU looks at the threshold only between iterations: the final pass is what is left after the first whole iteration below it", async () => {
    // After iteration 3 (151 ms) 28672 pages are left (117 MB > 90 MB); after iteration 4
    // (202 ms) 16384 (67 MB): QEMU stops there with 16384 pages for the final pass.
    const qemu = await idleGuest(qemuIterationMs);
    expect(qemu.result.status).toBe("completed");
    expect(qemu.finalPages).toBe(16384);
    expect(qemu.stoppedAfter).toBeGreaterThan(4 * 50);
    expect(qemu.stoppedAfter).toBeLessThan(4 * 50.5);
  });

  it("a pass that ends inside an iteration ends the iteration there: no wait for the rate window", async () => {
    // 4096 pages: 16 slices of 256 x 4104 B + 8 B = 16.81 ms, all in the first iteration (50 ms), whose
    // rate window (100 ms) is still open. Nothing dirty is left: the final sync and the stop follow at once.
    const small = await idleGuest(qemuIterationMs, 4096);
    expect(small.result.status).toBe("completed");
    expect(small.finalPages).toBe(0);
    expect(small.stoppedAfter).toBeCloseTo((16 * (256 * 4104 + 8)) / 1e6, 3);
  });

  it("without iterations (livemig's default) the check after every slice stops at the first slice below the threshold", async () => {
    // 65536 - 256 x 171 = 21760 pages left, the first count under 21973.
    const sliced = await idleGuest();
    expect(sliced.finalPages).toBe(21760);
  });
});

describe("the periodic auto-converge sync (QEMU 9.2+, cpu_throttle_dirty_sync_timer_tick)", () => {
  // 65536 pages (256 MiB), all non-zero, capped at 10 MB/s (1e6 B a 100 ms window): pass 1
  // is 65536 x 4104 B = 269 MB, ~26.9 s. The writer dirties 32768 pages at 4000 pages/s, so
  // pass 2 (~31k pages at ~2440 pages/s) runs past 38 s, where the migration gives up; the
  // threshold (10 MB/s x 300 ms = 731 pages) is never reached after pass 1.
  async function cappedBusyGuest(autoConvergeSyncMs?: number) {
    const clock = new VirtualClock();
    const pageCount = 65536;
    const ram = new SimGuestRam({ clock, pageCount, pageSize: 4096, usedPages: pageCount, memoryReadBytesPerSecond: 0, writes: writeModel({ kind: "uniform", workingSetPages: 32768, rate: 4000 }, 0, new Random(1)) });
    const params = { ...qemuDefaults, maxBandwidth: 10e6, autoConverge: true, iterationMs: qemuIterationMs, giveUp: { timeMs: 38_000 }, ...(autoConvergeSyncMs ? { autoConvergeSyncMs } : {}) };
    const timeline = await clock.run(() => migrate({ clock, ram, channel: new SimLink(clock, { bandwidth: 1e9, latencyMs: 0 }), devices: [], params }));
    return timeline.all("sync").map((e) => e.t);
  }

  it("syncs at a tick with no sync since the last one, never during pass 1; QEMU 7.2 has no such timer", async () => {
    expect(autoConvergeSyncMsOf("10.0.2")).toBe(5000);
    expect(autoConvergeSyncMsOf("9.2.0")).toBe(5000);
    expect(autoConvergeSyncMsOf("9.1.3")).toBeUndefined();
    expect(autoConvergeSyncMsOf("7.2.22")).toBeUndefined();
    // 7.2: the setup's sync and the one after pass 1 (~26.9 s), none in the long pass 2.
    const without = await cappedBusyGuest(undefined);
    expect(without).toHaveLength(2);
    expect(without[1]).toBeGreaterThan(26_000);
    expect(without[1]).toBeLessThan(28_000);
    // 10.0: the ticks at 5-25 s find dirty-sync-count 1 (pass 1) and skip; the tick at 30 s
    // sees the sync of ~26.9 s; the one at 35 s sees none since, and syncs (checked between
    // iterations: within 150 ms of it).
    const withTimer = await cappedBusyGuest(5000);
    expect(withTimer).toHaveLength(3);
    expect(withTimer.slice(0, 2)).toEqual(without);
    expect(withTimer[2]).toBeGreaterThanOrEqual(35_000);
    expect(withTimer[2]).toBeLessThan(35_150);
  });
});
