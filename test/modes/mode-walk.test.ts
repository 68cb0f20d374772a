// The modes' bitmap walk (QEMU 10.0's find_dirty_block, migration/ram.c) on guests small enough
// to follow by hand, their zero pages given, the guest writing given pages before each sync:
// - multifd (multifd_queue_page, multifd_ram_flush_and_sync): a packet holds at most 128 pages
//   (MULTIFD_PACKET_SIZE, 512 KiB of 4 KiB pages) queued in the walk's order; passing the end of
//   RAM ends the packet being filled and sends it, then every channel's SYNC packet, and the walk
//   starts again from the first dirty page; SYNC packets also at setup and at completion.
// - post-copy (postcopy_start, ram_save_queue_pages): after the switch every page still dirty goes once,
//   pushed in the background or requested by the destination, zero pages as 9 bytes, each section with
//   its 8-byte EOS.
// - xbzrle: the cache is used from the second round on (xbzrle_started, set where the walk wraps),
//   and its copies take the migration thread's time: a miss inserts the page (2 pages of memory
//   moved), a hit copies it out, compares and copies back (6), as test/modes/xbzrle.test.ts derives.

import { describe, expect, it } from "vitest";
import type { PageBitmap, PageRuns } from "../../src/core/bitmap.js";
import { migrate, type ModeCosts } from "../../src/core/controller.js";
import type { Device } from "../../src/core/device.js";
import { qemuDefaults, type MigrationParams } from "../../src/core/params.js";
import type { Channel, GuestRam } from "../../src/core/ports.js";
import { buildResult } from "../../src/core/result.js";
import { VirtualClock } from "../../src/sim/clock.js";
import { SimLink } from "../../src/sim/link.js";

const pageSize = 4096;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * Migrates `pages` pages, non-zero but `o.zero`; `written(k)` are the pages the guest writes before sync k > 0
 * (sync 0 hands over all of RAM; nothing is written once the guest is stopped). Returns what was
 * read, each read with its time, and the SYNC packets, in the order they came.
 */
async function migrateByHand(
  pages: number,
  written: (k: number) => number[],
  params: Partial<MigrationParams>,
  o: { bandwidth: number; zero?: number[]; modeCosts?: ModeCosts; devices?: Device[]; startAt?: number },
) {
  const zero = new Set(o.zero ?? []);
  const log: ({ pages: number[]; t: number } | "sync" | "resume")[] = [];
  const clock = new VirtualClock();
  let syncs = 0;
  let stopped = false;
  const ram: GuestRam = {
    pageCount: pages,
    pageSize,
    startDirtyLog() {},
    stopDirtyLog() {},
    syncDirtyLog(into: PageBitmap) {
      const k = syncs++;
      let fresh = 0;
      for (const p of k === 0 ? range(0, pages) : stopped ? [] : written(k)) {
        if (!into.test(p)) fresh++;
        into.set(p);
      }
      return fresh;
    },
    isZero: (page) => zero.has(page),
    async readPages(runs: PageRuns) {
      const read: number[] = [];
      for (let r = 0; r < runs.count; r++) read.push(...range(runs.starts[r], runs.starts[r] + runs.lengths[r]));
      log.push({ pages: read, t: clock.now() });
      return undefined;
    },
    stopVcpus() {
      stopped = true;
    },
    resumeVcpus() {
      stopped = false;
      log.push("resume");
    },
    setThrottle() {},
    stalePages: () => [],
  };
  const link = new SimLink(clock, { bandwidth: o.bandwidth, latencyMs: 0 });
  const channel: Channel = {
    send: (b) => link.send(b),
    drain: () => link.drain(),
    async syncPoint() {
      log.push("sync");
    },
  };
  const p: MigrationParams = { ...qemuDefaults, maxBandwidth: 0, ...params };
  const multifdChannels = p.multifd ? [channel] : undefined;
  const timeline = await clock.run(async () => {
    // A migration need not start at the clock's zero (the live runtime's clock, a fleet's later VMs).
    if (o.startAt) await clock.sleep(o.startAt);
    return migrate({ clock, ram, channel, devices: o.devices ?? [], params: p, ...(multifdChannels ? { multifdChannels } : {}), ...(o.modeCosts ? { modeCosts: o.modeCosts } : {}) });
  });
  return { log, result: buildResult(timeline, { ramBytes: pages * pageSize, pageSize, params: p }) };
}

describe("multifd's walk, worked by hand", () => {
  it("packets of at most 128 pages in the walk's order, each pass's last one ended at the end of RAM and followed by the SYNC", async () => {
    // 1024 pages, one channel. After the first pass the guest writes pages 100-109, 300-499 and
    // 1016-1023 before each of the next three syncs (218 pages, 893 KB: above the threshold of a
    // 10 MB/s link and a 20 ms downtime limit, 200 KB), then only 1016-1023 (32 KB: below it).
    const busy = [...range(100, 110), ...range(300, 500), ...range(1016, 1024)];
    const { log, result } = await migrateByHand(1024, (k) => (k <= 3 ? busy : range(1016, 1024)), {
      downtimeLimitMs: 20,
      giveUp: { passes: 10 },
      multifd: { channels: 1, hostCores: 32 },
    }, { bandwidth: 1e7 });
    expect(result.status).toBe("completed");
    // Pass 1: eight full packets, the last ending at the end of RAM. Passes 2-4: the walk from the
    // start takes 100-109 and then 118 of 300-499 (a full packet), then the rest and 1016-1023,
    // ended by the end of RAM. At completion the last 8 pages, again after a SYNC, and a SYNC.
    const later = [[...range(100, 110), ...range(300, 418)], [...range(418, 500), ...range(1016, 1024)]];
    const expected = [
      "sync",
      ...range(0, 8).map((k) => range(128 * k, 128 * (k + 1))),
      ...[1, 2, 3].flatMap(() => ["sync", ...later]),
      "sync",
      range(1016, 1024),
      "sync",
    ];
    expect(log.filter((e) => e !== "resume").map((e) => (e === "sync" ? e : e.pages))).toEqual(expected);
    // multifd-bytes: each packet's 4096 B a page and its 1344 B of header and offset slots (320 + 128 x 8),
    // and each SYNC packet's 1344 B (six above).
    const packet = (pages: number) => pages * 4096 + 1344;
    expect(result.ram["multifd-bytes"]).toBe(8 * packet(128) + 3 * (packet(128) + packet(90)) + packet(8) + 6 * 1344);
  });
});

describe("xbzrle's walk, worked by hand", () => {
  it("the first round goes without the cache; from the second the cache's copies take the thread's time before the pages are read; its pages counted by kind", async () => {
    // 64 pages, 7 and 63 zero (one slice of 62 x 4104 + 2 x 9 B), then pages 0-7 written before every sync
    // (page 7 with zeroes: xbzrle_cache_zero_page). Memory moves at 4096 B/ms (a page a ms), the link at
    // 1 TB/s (its times are below a microsecond).
    // Pass 2: page 7 takes its slot (2 pages moved), 7 misses are inserted (14): 16 ms; 9 + 7 x 4104 B.
    // Pass 3: page 7 again (2), 7 hits (42): 44 ms; 9 + 7 x (8 + 3 + 67) B (64 bytes changed a write).
    const { log, result } = await migrateByHand(64, () => range(0, 8), { giveUp: { passes: 3 }, xbzrle: { cacheSize: 64 * pageSize } }, {
      bandwidth: 1e12,
      zero: [7, 63],
      modeCosts: { vcpus: 1, bytesPerWrite: 64, memoryBytesPerMs: pageSize, latencyMs: 0 },
    });
    const reads = log.filter((e) => e !== "sync" && e !== "resume");
    expect(reads.map((r) => r.pages)).toEqual([range(0, 64), range(0, 8), range(0, 8)]);
    expect(reads[1].t - reads[0].t).toBeCloseTo(16, 2);
    expect(reads[2].t - reads[1].t).toBeCloseTo(44, 2);
    // Given up at the sync after pass 3 (passes: 3): nothing else is sent.
    expect(result.status).toBe("failed");
    expect(result.ram.normal).toBe(62 + 7);
    expect(result.ram.duplicate).toBe(2 + 1 + 1);
    expect(result.ram.transferred).toBe(62 * 4104 + 2 * 9 + 8 + (9 + 7 * 4104 + 8) + (9 + 7 * 78 + 8));
  });
  it("an iteration whose device buffer and RAM slice are the same size is no idle one: the switch-over follows it at once", async () => {
    // The iteration (ram_save_iterate with vfio_save_iterate beside it) waits for the rate-limit window's end
    // only when it sent nothing; here a device's 1 MiB buffer of changed state and a RAM slice of exactly
    // 1 MiB go in one iteration (a sum of 2 MiB, which a difference of the two would take for nothing sent).
    // 512 pages at 1 GB/s (1,000,000 B/ms); pass 1 sends them all, page 0 is written before sync 1 (pass 2
    // puts it in the cache: xbzrle starts where the walk wraps), pages 0-255 before sync 2, nothing after.
    // At sync 2 the device has 1 MiB of changed state. Pass 3 walks from the start: page 0 a hit of 2033 changed
    // bytes, 8 + 3 + (2 + 2 + 2033) B (uleb128 of 2063 unchanged bytes and of the run's length, the run), then
    // pages 1-255 misses, 4104 B each: 2048 + 255 x 4104 + 8 (EOS) = 1,048,576 B.
    let deviceSyncs = 0;
    let changed = 0;
    const device: Device = {
      kind: "changing-state",
      dmaLogged: () => true,
      stateBytes: () => 0,
      async sync() {
        if (++deviceSyncs === 3) changed = 1 << 20;
      },
      preCopyDirtyBytes: () => changed,
      preCopyDirtySent(_now, bytes) {
        changed -= bytes;
      },
    };
    const { log, result } = await migrateByHand(512, (k) => (k === 1 ? [0] : k === 2 ? range(0, 256) : []), { xbzrle: { cacheSize: 512 * pageSize } }, {
      bandwidth: 1e9,
      modeCosts: { vcpus: 1, bytesPerWrite: 2033, memoryBytesPerMs: 0, latencyMs: 0 },
      devices: [device],
    });
    expect(result.status).toBe("completed");
    const reads = log.filter((e) => e !== "sync" && e !== "resume");
    expect(reads.map((r) => r.pages)).toEqual([range(0, 256), range(256, 512), [0], range(0, 256)]);
    expect(result["xbzrle-cache"]).toMatchObject({ pages: 1, "cache-miss": 256 });
    // Pass 2's slice (4104 + 8 B), then the device's 1 MiB, before pass 3's read.
    expect(reads[3].t - reads[2].t).toBeCloseTo((4112 + 2 ** 20) / 1e6, 6);
    // Pass 1's two slices, pass 2's, the device's buffer and pass 3's slice: the two of 1 MiB each.
    expect(result.ram.transferred).toBe(2 * (256 * 4104 + 8) + (4104 + 8) + 2 ** 20 + 2 ** 20);
    // The guest stops as soon as pass 3's slice is on the link (1.049 ms after its read; the result's times are
    // to the microsecond), not at the window's end, 100 ms after the start.
    const stop = result.timeline.find((e) => e.kind === "vm-stop")!;
    expect(stop.t - reads[3].t).toBeCloseTo(2 ** 20 / 1e6, 2);
  });
});

describe("post-copy's pages, worked by hand", () => {
  it("after the switch each page still missing goes exactly once, pushed or requested, a zero one as 9 B; post-copy's bytes are those sections'", async () => {
    // 1024 pages, page 512 zero (the first asked for); the guest writes pages 0-599 before every sync, and
    // touches them on the destination after the switch (faults on those still missing). Post-copy after the first pass, with
    // preempt, a 50 ms link latency, 10 MB/s and a 20 ms downtime limit (no pre-copy convergence): the
    // background push (slices of 256 pages) is slower than the guest's touches, so pages are requested, a few
    // at a time (a vCPU raises one fault per 100 ms round trip), each run of them followed by pages still missing.
    const { log, result } = await migrateByHand(1024, () => range(0, 600), { downtimeLimitMs: 20, giveUp: { passes: 10 }, postcopy: { afterPasses: 1, preempt: true } }, {
      bandwidth: 1e7,
      zero: [512],
      modeCosts: { vcpus: 2, bytesPerWrite: 4096, memoryBytesPerMs: 0, latencyMs: 50 },
    });
    expect(result.status).toBe("completed");
    expect(result.ram["postcopy-requests"]).toBeGreaterThan(0);
    const reads = log.filter((e) => e !== "sync" && e !== "resume");
    const after = log.slice(log.indexOf("resume") + 1).filter((e) => e !== "sync" && e !== "resume");
    const pages = after.flatMap((r) => r.pages);
    // Missing at the switch: pages 256-599. Pass 1 sent all; the sync after it found 0-599 written, and
    // one slice (256 normal pages: 255 x 4104 B < 1 MiB) went before the switch, which is looked at
    // between iterations, before the sync (test/modes/postcopy.test.ts); the final sync finds the guest stopped.
    expect([...pages].sort((a, b) => a - b)).toEqual(range(256, 600));
    expect(new Set(pages).size).toBe(pages.length);
    // A page asked for is sent then and missing no more: asked for at most once.
    expect(result.ram["postcopy-requests"]).toBeLessThanOrEqual(pages.length);
    // And it goes at once, in a section of its own, not left to the background push, which alone
    // would send the 344 missing pages in ceil(344 / 256) = 2 slices.
    expect(after.length).toBeGreaterThan(Math.ceil(pages.length / 256));
    // Each section: 8 + 4096 B a normal page, 8 + 1 a zero one, and its 8-byte EOS.
    const cost = (p: number) => (p === 512 ? 9 : 4104);
    expect(result.ram["postcopy-bytes"]).toBe(pages.reduce((sum, p) => sum + cost(p), 0) + 8 * after.length);
    // Every page read, before the switch or after it, counted by its kind.
    const all = reads.flatMap((r) => r.pages);
    expect(result.ram.duplicate).toBe(all.filter((p) => p === 512).length);
    expect(result.ram.normal).toBe(all.length - result.ram.duplicate);
    // The discard bitmap goes in the downtime, on the source, in its own span.
    const discard = result.timeline.filter((e) => e.kind === "span" && e.component === "discard-bitmap");
    expect(discard.map((e) => (e.kind === "span" ? `${e.name} (${e.side})` : ""))).toEqual(["discard bitmap (source)"]);
  });

  it("with xbzrle, the pages after the switch go whole: the cache is not used in post-copy (ram_save_page: xbzrle_started && !migration_in_postcopy)", async () => {
    // 64 pages, 0-15 written before every sync: pass 2 puts them in the cache (xbzrle started at the wrap), and
    // after the switch they go again; a cache hit would send 8 + 3 + 67 B, a whole page 4104 B.
    const { log, result } = await migrateByHand(64, () => range(0, 16), { giveUp: { passes: 10 }, xbzrle: { cacheSize: 64 * pageSize }, postcopy: { afterPasses: 1, preempt: true } }, {
      bandwidth: 1e7,
      modeCosts: { vcpus: 1, bytesPerWrite: 64, memoryBytesPerMs: 0, latencyMs: 1 },
    });
    expect(result.status).toBe("completed");
    const after = log.slice(log.indexOf("resume") + 1).filter((e) => e !== "sync" && e !== "resume");
    const pages = after.flatMap((r) => r.pages);
    expect([...pages].sort((a, b) => a - b)).toEqual(range(0, 16));
    expect(result.ram["postcopy-bytes"]).toBe(16 * 4104 + 8 * after.length);
  });

  it("post-copy after a time counts it from the migration's start, not from the clock's zero", async () => {
    // Started at 1000 ms on the clock; post-copy due 150 ms after the start, looked at between slices. 1024 pages,
    // all written before every sync (no convergence), at 10 MB/s: a slice of 256 normal pages (256 x 4104 + 8 B)
    // takes 105.0632 ms, so the first slice ends before the deadline and the second after it: the switch then,
    // 210.126 ms after the start (the result's times are from the migration's start).
    const { log, result } = await migrateByHand(1024, () => range(0, 1024), { downtimeLimitMs: 20, postcopy: { afterMs: 150 } }, { bandwidth: 1e7, startAt: 1000 });
    expect(result.status).toBe("completed");
    const before = log.slice(0, log.indexOf("resume")).filter((e) => e !== "sync" && e !== "resume");
    expect(before.map((r) => r.pages)).toEqual([range(0, 256), range(256, 512)]);
    expect(before[0].t).toBe(1000);
    const stop = result.timeline.find((e) => e.kind === "vm-stop")!;
    expect(stop.t).toBeCloseTo((2 * (256 * 4104 + 8)) / 1e4, 2);
  });
});

describe("dirty-limit's adjustments, worked by hand", () => {
  it("once on, the limit is adjusted once a rate period, at the sync that closes it; rates high twice again do not turn it on again", async () => {
    // QEMU: migration_dirty_limit_guest sets the quota once (again it is a no-op while the limit is in service),
    // and the dirtylimit thread adjusts each vCPU's sleep once a vcpu-dirty-limit-period. 1024 pages, all written
    // before every sync whatever the sleep (this guest ignores it), at 4 MB/s: a sync every ~0.75 s, a rate period
    // closed at every other one, each dirtying far more than half of what was sent (throttle-trigger-threshold),
    // so the trigger's count reaches two again every two periods once the limit is on.
    const { result } = await migrateByHand(1024, () => range(0, 1024), { giveUp: { timeMs: 8000 }, dirtyLimit: { bytesPerSecond: 2 ** 20, ringSize: 4096 } }, { bandwidth: 4e6 });
    expect(result.status).toBe("failed");
    const limits = result.timeline.filter((e) => e.kind === "dirty-limit").map((e) => e.t);
    const syncs = new Set(result.timeline.filter((e) => e.kind === "sync").map((e) => e.t));
    // Turned on, then adjusted at least three times: enough for the trigger's count to reach two again.
    expect(limits.length).toBeGreaterThanOrEqual(4);
    for (const t of limits) expect(syncs.has(t)).toBe(true);
    for (let i = 1; i < limits.length; i++) expect(limits[i] - limits[i - 1]).toBeGreaterThanOrEqual(1000);
  });
});
