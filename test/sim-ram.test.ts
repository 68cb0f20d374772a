// The simulated guest RAM (src/sim/ram.ts) driven by hand: how many writes and frames a span
// of virtual time produces however often RAM is looked at, where the NIC's frames land, and
// what the dirty log and the zero map say.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PageBitmap, PageRuns } from "../src/core/bitmap.js";
import type { Clock } from "../src/core/ports.js";
import { VirtualClock } from "../src/sim/clock.js";
import { SimGuestRam, type RxTraffic } from "../src/sim/ram.js";
import type { WriteModel } from "../src/sim/workload.js";
import { propertyRuns } from "./helpers.js";

/** A clock whose time the test sets. */
class ManualClock implements Clock {
  t = 0;
  now(): number {
    return this.t;
  }
  async sleep(): Promise<void> {}
  spawn<T>(body: () => Promise<T>): Promise<T> {
    return body();
  }
  join<T>(tasks: Promise<T>[]): Promise<T[]> {
    return Promise.all(tasks);
  }
  async joinAny(tasks: Promise<unknown>[]): Promise<void> {
    await Promise.race(tasks);
  }
}

/** Writes pages 0, 1, 2, ... in turn, counting them. */
function counting(rate: number) {
  let n = 0;
  const model: WriteModel = { rate, write: (count, mark) => { for (let i = 0; i < count; i++) mark(n++ % 64); } };
  return { written: () => n, model };
}

function ramWith(clock: ManualClock, writes: WriteModel, rx?: RxTraffic, usedPages = 0) {
  return new SimGuestRam({ clock, pageCount: 64, pageSize: 4096, usedPages, writes, rx, memoryReadBytesPerSecond: 0 });
}

describe("simulated guest RAM", () => {
  it("quiet pages end at the next receive buffer (the NIC's DMA may land there before the next sync), one at the first page too", () => {
    // Receive buffers on pages 0, 40 and 41; no vCPU writes (a model without a support: none below it).
    const ram = ramWith(new ManualClock(), { rate: 0, write() {} }, { framesPerSecond: 1000, bufferPages: Uint32Array.from([0, 40, 41]), buffersPerPage: 2, logged: () => false });
    expect(ram.quietRun(0, 64)).toBe(0);
    expect(ram.quietRun(1, 63)).toBe(39);
    expect(ram.quietRun(1, 10)).toBe(10);
    expect(ram.quietRun(42, 64)).toBe(22);
  });

  it("makes rate x time writes and frames, however often it is looked at, none while the vCPUs are stopped, (1 - throttle) of them when throttled", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.001, max: 40, noNaN: true }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 5000 }), (steps, rate, fps) => {
        const clock = new ManualClock();
        const { written, model } = counting(rate);
        const ram = ramWith(clock, model, { framesPerSecond: fps, bufferPages: Uint32Array.from([40, 41, 42]), buffersPerPage: 2, logged: () => false });
        const log = new PageBitmap(64);
        ram.startDirtyLog();
        for (const dt of steps) {
          clock.t += dt;
          ram.syncDirtyLog(log);
        }
        const seconds = clock.t / 1000;
        // Fractions carry over from one look to the next: the total is the whole run's.
        expect(Math.abs(written() - rate * seconds)).toBeLessThan(1 + 1e-6);
        expect(Math.abs(ram.dmaStats().frames - fps * seconds)).toBeLessThan(1 + 1e-6);
        expect(ram.dmaStats().untracked).toBe(ram.dmaStats().frames);
        // Stopped: nothing, and nothing to catch up on after resume.
        const before = written();
        ram.stopVcpus();
        clock.t += 1000;
        ram.syncDirtyLog(log);
        ram.resumeVcpus();
        ram.syncDirtyLog(log);
        expect(written()).toBe(before);
        // Throttled to 75 %: a quarter of the writes over the next 10 s.
        ram.setThrottle(0.75);
        const at = written();
        clock.t += 10_000;
        ram.syncDirtyLog(log);
        expect(Math.abs(written() - at - rate * 10 * 0.25)).toBeLessThan(2);
      }),
      { numRuns: propertyRuns(100) },
    );
  });

  it("puts frames in the ring's buffers in order, two to a page, wrapping; the dirty log sees them only when the strategy logs them", () => {
    const clock = new ManualClock();
    let logged = true;
    const ram = ramWith(clock, { rate: 0, write() {} }, { framesPerSecond: 1000, bufferPages: Uint32Array.from([40, 7, 33]), buffersPerPage: 2, logged: () => logged });
    const log = new PageBitmap(64);
    ram.startDirtyLog();
    clock.t = 3; // frames 0..2: buffers 0, 1 (page 40) and 2 (page 7)
    expect(ram.syncDirtyLog(log)).toBe(2);
    expect(log.list()).toEqual([7, 40]);
    log.clearAll();
    clock.t = 7; // frames 3..6: buffers 3 (page 7), 4, 5 (page 33), then 0 again (page 40)
    ram.syncDirtyLog(log);
    expect(log.list()).toEqual([7, 33, 40]);
    log.clearAll();
    logged = false;
    clock.t = 100; // untracked: the log hears nothing
    expect(ram.syncDirtyLog(log)).toBe(0);
    expect(ram.dmaStats()).toEqual({ frames: 100, untracked: 93 });
  });

  it("a page is stale once untracked DMA writes it after it was sent, until it is sent again", async () => {
    const clock = new ManualClock();
    const ram = ramWith(clock, { rate: 0, write() {} }, { framesPerSecond: 1000, bufferPages: Uint32Array.from([10, 11]), buffersPerPage: 1, logged: () => false });
    const runs = new PageRuns(4);
    runs.add(9, 2); // pages 9 and 10: 10 ends the run
    await ram.readPages(runs);
    clock.t = 2; // a frame into page 10, then one into page 11 (never sent: harmless)
    ram.syncDirtyLog(new PageBitmap(64));
    expect(ram.stalePages()).toEqual([10]);
    runs.clear();
    runs.add(10, 1);
    await ram.readPages(runs);
    expect(ram.stalePages()).toEqual([]);
  });

  it("knows which pages are zero: the used ones, the receive buffers and every page written are not", () => {
    const clock = new ManualClock();
    const ram = ramWith(clock, { rate: 1000, write: (count, mark) => { for (let i = 0; i < count; i++) mark(50); } }, { framesPerSecond: 0, bufferPages: Uint32Array.from([30]), buffersPerPage: 2, logged: () => true }, 8);
    expect([7, 8, 30, 50].map((p) => ram.isZero(p))).toEqual([false, true, false, true]);
    expect(ram.runOfKind(0, 64, false)).toBe(8);
    expect(ram.runOfKind(8, 64, true)).toBe(22);
    clock.t = 5;
    ram.syncDirtyLog(new PageBitmap(64)); // writes applied before the dirty log starts still make pages non-zero
    expect(ram.isZero(50)).toBe(false);
  });

  it("logs writes only between startDirtyLog and stopDirtyLog, as KVM's dirty logging; every write makes its page non-zero", () => {
    const clock = new ManualClock();
    let page = 3;
    const ram = ramWith(clock, { rate: 1000, write: (count, mark) => { for (let i = 0; i < count; i++) mark(page); } });
    const log = new PageBitmap(64);
    clock.t = 2;
    expect(ram.syncDirtyLog(log)).toBe(0); // before logging starts
    ram.startDirtyLog();
    page = 4;
    clock.t = 4;
    expect(ram.syncDirtyLog(log)).toBe(1);
    expect(log.list()).toEqual([4]);
    ram.stopDirtyLog();
    page = 5;
    clock.t = 6;
    log.clearAll();
    expect(ram.syncDirtyLog(log)).toBe(0); // after it stopped
    expect([3, 4, 5].map((p) => ram.isZero(p))).toEqual([false, false, false]);
  });

  it("frame k lands in buffer k mod (pages x buffers per page), however the time is cut into looks", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 15 }), { minLength: 1, maxLength: 40 }), (steps) => {
        const clock = new ManualClock();
        const pages = [40, 7, 33];
        const ram = ramWith(clock, { rate: 0, write() {} }, { framesPerSecond: 1000, bufferPages: Uint32Array.from(pages), buffersPerPage: 2, logged: () => true });
        const log = new PageBitmap(64);
        ram.startDirtyLog();
        let frame = 0;
        for (const ms of steps) {
          clock.t += ms; // one frame a millisecond
          log.clearAll();
          ram.syncDirtyLog(log);
          const expected = new Set<number>();
          for (const end = frame + ms; frame < end; frame++) expected.add(pages[Math.floor((frame % 6) / 2)]);
          expect(log.list()).toEqual([...expected].sort((a, b) => a - b));
        }
      }),
      { numRuns: propertyRuns(100) },
    );
  });

  it("a receive buffer at page 0 is tracked like any other; a reused run list counts only its own runs", async () => {
    const clock = new ManualClock();
    const ram = ramWith(clock, { rate: 0, write() {} }, { framesPerSecond: 1000, bufferPages: Uint32Array.from([0, 11]), buffersPerPage: 1, logged: () => false });
    const runs = new PageRuns(4);
    runs.add(0, 1);
    runs.add(11, 1);
    await ram.readPages(runs);
    clock.t = 2; // a frame into page 0, one into page 11: both sent already
    ram.syncDirtyLog(new PageBitmap(64));
    expect(ram.stalePages()).toEqual([0, 11]);
    runs.clear();
    runs.add(0, 1); // page 0 sent again; the list's old second run is not part of it
    await ram.readPages(runs);
    expect(ram.stalePages()).toEqual([11]);
  });

  it("places an idle guest's pages by the profile's map: the working set at the bottom, then each slice's share from the slice's start, the top slice's from the top down", () => {
    const clock = new ManualClock();
    const layoutRam = (usedPages: number, shares: number[], workingSetPages: number) =>
      new SimGuestRam({ clock, pageCount: 64, pageSize: 4096, usedPages, writes: { rate: 0, support: 0, write() {}, writeMany() {} }, memoryReadBytesPerSecond: 0, layout: { shares, workingSetPages } });
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
    // 20 used, 4 of them the working set: 16 left, half to slice 0 (pages 0-15, after the
    // working set: 4-11) and half to slice 2 (pages 32-47: 32-39).
    expect(layoutRam(20, [0.5, 0, 0.5, 0], 4).nonZero.list()).toEqual([...range(0, 12), ...range(32, 40)]);
    // All 30 to the last slice, Linux's page array allocated top-down: packed from page 63 down, past the slice's start (48) to 34.
    expect(layoutRam(30, [0, 0, 0, 1], 0).nonZero.list()).toEqual(range(34, 64));
    // The last slice takes what rounding left: 10 used over three slices of a third each.
    expect(layoutRam(10, [1 / 3, 1 / 3, 1 / 3, 0], 0).nonZero.count).toBe(10);
  });

  it("a page written between syncs is non-zero at once (the sender sees it), not only after the next sync", async () => {
    const clock = new ManualClock();
    const ram = ramWith(clock, { rate: 1000, support: 64, write: (count, mark) => { for (let i = 0; i < count; i++) mark(50); }, writeMany: () => {} } as WriteModel);
    ram.startDirtyLog();
    clock.t = 5;
    await ram.readPages(new PageRuns(1));
    expect(ram.isZero(50)).toBe(false);
  });
});


describe("the source's first read of a page the guest never touched (firstReadMs)", () => {
  it("costs firstReadMs once per such page: not for pages in use, not for a page read before", async () => {
    // 64 pages, the first 8 in use; reads are otherwise free, a first read of a zero page takes 2 ms.
    const clock = new VirtualClock();
    const ram = new SimGuestRam({ clock, pageCount: 64, pageSize: 4096, usedPages: 8, writes: counting(0).model, memoryReadBytesPerSecond: 0, firstReadMs: 2 });
    const took: number[] = [];
    const read = async (...runs: [number, number][]) => {
      const r = new PageRuns(runs.length);
      for (const [s, n] of runs) r.add(s, n);
      const t0 = clock.now();
      await ram.readPages(r);
      took.push(clock.now() - t0);
    };
    await clock.run(async () => {
      await read([0, 8]); // in use: free
      await read([4, 8]); // 4-7 in use, 8-11 first read: 4 x 2 ms
      await read([8, 8]); // 8-11 read before, 12-15 first read: 8 ms
      await read([20, 2], [30, 3]); // two runs, 5 first reads: 10 ms
      await read([20, 3], [32, 2]); // 22 and 34 new: 4 ms
    });
    expect(took).toEqual([0, 8, 8, 10, 4]);
  });

  it("reads only the runs a reused run list holds now, not those it held before", async () => {
    const clock = new VirtualClock();
    const ram = new SimGuestRam({ clock, pageCount: 64, pageSize: 4096, usedPages: 0, writes: counting(0).model, memoryReadBytesPerSecond: 0, firstReadMs: 1 });
    // A list that held two runs (pages 0-1 and 10-11, never read), cleared, then given page 20 alone.
    const runs = new PageRuns(4);
    runs.add(0, 2);
    runs.add(10, 2);
    runs.clear();
    runs.add(20, 1);
    let took = 0;
    await clock.run(async () => {
      await ram.readPages(runs);
      took = clock.now();
    });
    expect(took).toBe(1);
  });
});
