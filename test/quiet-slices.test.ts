// Slices of quiet pages sent as one (GuestRam.quietRun, the controller's quietSlices): the same
// migration, one send for many slices. Each case runs twice on the simulator's own RAM, once
// as it is and once behind a wrapper that does not offer quietRun (the 1 MiB walk of every
// slice), and the two must send the same pages in the same order, count the same bytes and
// pages, see the same passes, and take the same time but for float sums; with fewer reads.

import { describe, expect, it } from "vitest";
import type { PageBitmap, PageRuns } from "../src/core/bitmap.js";
import { migrate } from "../src/core/controller.js";
import type { GuestRam } from "../src/core/ports.js";
import { VirtualClock } from "../src/sim/clock.js";
import { SimLink } from "../src/sim/link.js";
import type { SimGuestRam } from "../src/sim/ram.js";
import { prepareMigration, type MachineProfile } from "../src/sim/simulate.js";
import { scenario } from "./helpers.js";

/** The simulator's RAM, recording every page read in order; quietRun only where `join`. */
class RecordedRam implements GuestRam {
  /** Pages read, in order (as runs: start, length, start, length, ...). */
  readonly runs: number[] = [];
  reads = 0;
  readonly quietRun?: (from: number, max: number) => number;

  constructor(
    private readonly ram: SimGuestRam,
    join: boolean,
  ) {
    if (join) this.quietRun = (from, max) => ram.quietRun(from, max);
  }

  get pageCount(): number {
    return this.ram.pageCount;
  }
  get pageSize(): number {
    return this.ram.pageSize;
  }
  startDirtyLog(): void {
    this.ram.startDirtyLog();
  }
  stopDirtyLog(): void {
    this.ram.stopDirtyLog();
  }
  syncDirtyLog(into: PageBitmap): number {
    return this.ram.syncDirtyLog(into);
  }
  isZero(page: number): boolean {
    return this.ram.isZero(page);
  }
  runOfKind(from: number, max: number, zero: boolean): number {
    return this.ram.runOfKind(from, max, zero);
  }
  readPages(runs: PageRuns): Promise<undefined> {
    this.reads++;
    for (let r = 0; r < runs.count; r++) {
      const n = this.runs.length;
      // A run that continues the last one read is the same walk cut elsewhere: joined.
      if (n > 0 && this.runs[n - 2] + this.runs[n - 1] === runs.starts[r]) this.runs[n - 1] += runs.lengths[r];
      else this.runs.push(runs.starts[r], runs.lengths[r]);
    }
    return this.ram.readPages(runs);
  }
  stopVcpus(): void {
    this.ram.stopVcpus();
  }
  resumeVcpus(): void {
    this.ram.resumeVcpus();
  }
  setThrottle(fraction: number): void {
    this.ram.setThrottle(fraction);
  }
  stalePages(): number[] {
    return this.ram.stalePages();
  }
}

async function run(yaml: string, join: boolean, profile?: MachineProfile, syncEveryMs?: number) {
  const s = scenario(yaml);
  const clock = new VirtualClock();
  const m = prepareMigration(s, clock, new SimLink(clock, { bandwidth: s.link.bandwidth, latencyMs: s.link.latency }), { profile });
  if (syncEveryMs !== undefined) m.env.params.autoConvergeSyncMs = syncEveryMs;
  const ram = new RecordedRam(m.ram, join);
  m.env.ram = ram;
  const result = m.finish(await clock.run(() => migrate(m.env)));
  m.ram.release();
  return { result, ram };
}

const guest = (workload: string, extra = "") =>
  `name: q\nvm: {memory: 2GiB, used: 1GiB, workload: ${workload}}\nlink: {bandwidth: 10Gbit/s}\n${extra}`;

describe("slices of quiet pages sent as one", () => {
  it.each([
    ["scattered writes, unlimited", guest("{kind: uniform, workingSet: 64MiB, rate: 20000}", "migration: {maxBandwidth: 0}\n"), 2],
    ["scattered writes, QEMU's 128 MiB/s cap", guest("{kind: uniform, workingSet: 64MiB, rate: 20000}"), 2],
    ["hot and cold pages, auto-converge", guest("{kind: hotcold, workingSet: 128MiB, rate: 60000, hotFraction: 0.1, hotShare: 0.9}", "migration: {maxBandwidth: 0, autoConverge: true, giveUp: {passes: 40}}\n"), 2],
    // Writes that reach zero pages (a working set above the used memory): a page's kind may change until every
    // page the vCPUs reach is non-zero, so none of theirs joins meanwhile (and above, only zero pages: none joins).
    // Round 10: a cap whose window holds 8.5 slices (89.3 MB/s: 8,930,000 B, a slice 256 x 4104 + 8 B): a
    // quarter of a window's time allows joins of 2, and the window's last join (2.5 slices of budget left)
    // is bound by the budget; a join past it would send a window more than its budget and a page.
    ["scattered writes, a cap of 8.5 slices a window", guest("{kind: uniform, workingSet: 64MiB, rate: 20000}", "migration: {maxBandwidth: 89.3MB/s}\n"), 1.5],
    ["writes that reach zero pages", guest("{kind: uniform, workingSet: 1536MiB, rate: 20000}", "migration: {maxBandwidth: 0}\n"), 0],
    // A VF whose DMA the dirty log does not see: a receive buffer joined into a slice would be read at the
    // join's start, not when the walk reaches it, and a frame landing between would go stale; none joins over one.
    ["receive buffers an untracked VF writes (a ping each ms)", guest("{kind: uniform, workingSet: 64MiB, rate: 20000}", "migration: {maxBandwidth: 0}\nprobe: {interval: 1ms}\ndevices: [{kind: vf-tracked, trackDma: false}]\n"), 2],
    ["receive buffers the NIC writes (a ping each ms)", guest("{kind: uniform, workingSet: 64MiB, rate: 20000}", "migration: {maxBandwidth: 0}\nprobe: {interval: 1ms}\n"), 2],
    ["post-copy after two passes (its switch comes one slice after the sync)", guest("{kind: uniform, workingSet: 512MiB, rate: 300000}", "migration: {maxBandwidth: 0, postcopy: {after: {passes: 2}}}\n"), 1],
    ["a time-bound give-up inside the first pass", guest("{kind: uniform, workingSet: 64MiB, rate: 200000}", "migration: {maxBandwidth: 0, giveUp: {time: 0.5s}}\n"), 2],
    // Round 9 (docs/mutation.md): deadlines that fall inside a 100 ms window, not at its end (the
    // 0.5 s above is a window's end, where the window alone already stops a join).
    ["a time-bound give-up inside a window", guest("{kind: uniform, workingSet: 64MiB, rate: 200000}", "migration: {maxBandwidth: 0, giveUp: {time: 0.43s}}\n"), 2],
    ["post-copy after a time inside a window", guest("{kind: uniform, workingSet: 512MiB, rate: 300000}", "migration: {maxBandwidth: 0, postcopy: {after: {time: 0.43s}}}\n"), 1],
    // A VF whose pre-copy state changes all along (20 MB/s after its initial data): its buffers go
    // between slices, so no slice is joined once the state is dirty: 0, the same reads.
    ["a VF whose pre-copy state changes", guest("{kind: uniform, workingSet: 64MiB, rate: 20000}", `migration: {maxBandwidth: 0}\ndevices: [{kind: vf-tracked, preCopyBytes: ${2 ** 20}, stopCopyBytes: ${2 ** 20}, preCopyDirtyBytesPerSecond: 20000000}]\n`), 0],
  ])("%s: the same pages in the same order, the same counts and passes, the same times but for float sums, fewer reads (the same where none may join)", async (_, yaml, fewer) => {
    await same(yaml, fewer);
  });

  // QEMU's 50 ms iterations (a QEMU 10.0 profile sets them): a join also ends within the iteration.
  it("QEMU's iterations of 50 ms: the same migration, fewer reads", async () => {
    await same(guest("{kind: uniform, workingSet: 64MiB, rate: 20000}", "migration: {maxBandwidth: 0}\n"), 2, { qemu: "10.0" });
  });

  // Auto-converge's timer (QEMU 9.2+) every 40 ms instead of QEMU's 5 s (the rule for any
  // period), without QEMU's 50 ms cadence, so that the timer is looked at after every slice: the
  // second pass (112,082 dirty pages of 4 KiB at 10 Gbit/s: ~370 ms of stream at most) spans
  // ticks with no sync since the one before, each a sync of its own, and a join must not run
  // past one.
  it("auto-converge's timer inside a long pass: the same migration", async () => {
    const yaml = guest("{kind: uniform, workingSet: 1GiB, rate: 100000}", "migration: {maxBandwidth: 0, autoConverge: true, giveUp: {time: 3s}}\n");
    await same(yaml, 1, undefined, 40); // joins only between the ticks: fewer reads, not half
  });
});

async function same(yaml: string, fewer: number, profile?: MachineProfile, syncEveryMs?: number) {
  {
    const one = await run(yaml, false, profile, syncEveryMs);
    const joined = await run(yaml, true, profile, syncEveryMs);
    expect(joined.ram.runs).toEqual(one.ram.runs);
    const [a, b] = [one.result, joined.result];
    expect(b.status).toBe(a.status);
    expect(b["stale-page-list"]).toEqual(a["stale-page-list"]);
    expect(b.ram).toEqual({ ...a.ram, mbps: b.ram.mbps, "pages-per-second": b.ram["pages-per-second"] });
    expect(b.passes.map((p) => [p["dirty-pages"], p["newly-dirty"], p.transferred])).toEqual(a.passes.map((p) => [p["dirty-pages"], p["newly-dirty"], p.transferred]));
    // Float sums of the same durations in another grouping: ulps apart, far below a microsecond.
    expect(Math.abs(b["total-time"] - a["total-time"])).toBeLessThan(1e-3);
    expect(Math.abs((b.downtime ?? 0) - (a.downtime ?? 0))).toBeLessThan(1e-3);
    // Most of the stream is the first pass's pages nobody writes: far fewer reads (post-copy's
    // background push goes slice by slice: fewer only by its precopy passes).
    if (fewer === 0) expect(joined.ram.reads).toBe(one.ram.reads);
    else expect(joined.ram.reads).toBeLessThan(one.ram.reads / fewer);
  }
}
