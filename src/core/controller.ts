// QEMU's precopy migration (migration/migration.c, migration/ram.c), written once against
// the ports. See ../../docs/model.md for how each step maps onto QEMU.

import { PageBitmap, PageRuns } from "./bitmap.js";
import { formatBytes } from "./format.js";
import type { DestinationMemory, Device, DeviceContext } from "./device.js";
import { announceSchedule, type MigrationParams } from "./params.js";
import type { Channel, Clock, GuestRam } from "./ports.js";
import { Timeline, type Counters, type MigrationStatus, type NetState, type Side } from "./timeline.js";
import { endOfSectionBytes, normalPageBytes, zeroPageBytes } from "./wire.js";

export interface MigrationEnv {
  clock: Clock;
  ram: GuestRam;
  channel: Channel;
  devices: Device[];
  params: MigrationParams;
  /** Receive frames per second reaching the guest's NIC. */
  rxFramesPerSecond?: number;
  /** The destination's host memory, where it is modelled (vDPA pinning populates it). */
  destinationMemory?: DestinationMemory;
  /** Optional progress callback (terminal progress bars). */
  onProgress?: (p: { pass: number; remainingBytes: number; bandwidth: number; t: number }) => void;
}

/** QEMU's BUFFER_DELAY: rate limiting and bandwidth estimation work in 100 ms windows. */
const windowMs = 100;
/** Throttle and dirty-rate bookkeeping happen at most once per second (migration_trigger_throttle). */
const ratePeriodMs = 1000;
/** failover: wait-unplug polls every 250 ms. */
const unplugPollMs = 250;
/** Largest slice of stream sent per await; small enough to keep DMA-vs-send ordering page-exact in practice. */
const batchBytes = 1 << 20;
/** Most pages in one slice: a slice of zero pages only. */
const slicePages = Math.ceil(batchBytes / zeroPageBytes());

export async function migrate(env: MigrationEnv): Promise<Timeline> {
  const run = new Run(env);
  await run.execute();
  return run.timeline;
}

class Run {
  readonly timeline = new Timeline();
  private readonly clock: Clock;
  private readonly ram: GuestRam;
  private readonly params: MigrationParams;
  private readonly bitmap: PageBitmap;
  private readonly ctx: DeviceContext;
  /** The pages of the slice being sent. */
  private readonly slice: PageRuns;

  private counters: Counters = { transferred: 0, duplicate: 0, normal: 0, normalBytes: 0, precopyBytes: 0, downtimeBytes: 0 };
  private stopped = false;
  private resumed = false;
  private cursor = 0;
  private passes = 0;
  // Bandwidth estimation window (migration_update_counters).
  private windowStart = 0;
  private windowStartBytes = 0;
  private bandwidth = 0; // bytes per ms
  private threshold = 0; // bytes
  private expectedDowntime: number;
  // Dirty-rate period (migration_bitmap_sync / migration_trigger_throttle).
  private periodStart = 0;
  private periodStartBytes = 0;
  private periodDirtyPages = 0;
  private dirtyRate = 0;
  private dirtyRateHighCount = 0;
  private throttle = 0;

  constructor(private readonly env: MigrationEnv) {
    this.clock = env.clock;
    this.ram = env.ram;
    this.params = env.params;
    this.bitmap = new PageBitmap(env.ram.pageCount);
    this.expectedDowntime = env.params.downtimeLimitMs;
    this.slice = new PageRuns(slicePages);
    const timeline = this.timeline;
    const clock = this.clock;
    this.ctx = {
      clock,
      timeline,
      ramBytes: env.ram.pageCount * env.ram.pageSize,
      pageCount: env.ram.pageCount,
      rxFramesPerSecond: env.rxFramesPerSecond ?? 0,
      destinationMemory: env.destinationMemory,
      async work(name: string, component: string, side: Side, work: number | (() => Promise<void>)) {
        const t = clock.now();
        if (typeof work === "number") {
          if (work > 0) await clock.sleep(work);
        } else {
          await work();
        }
        timeline.add({ t, kind: "span", end: clock.now(), name, component, side });
      },
      net(state: NetState, reason: string) {
        timeline.add({ t: clock.now(), kind: "net", state, reason });
      },
    };
  }

  private status(status: MigrationStatus, reason?: string): void {
    this.timeline.add({ t: this.clock.now(), kind: "status", status, ...(reason ? { reason } : {}) });
  }

  /**
   * A stream or device error ends the migration as QEMU ends it: `failed` with the reason,
   * the source guest running again. After the destination has resumed it is a bug: rethrown.
   */
  async execute(): Promise<void> {
    try {
      await this.migrate();
    } catch (e) {
      if (this.resumed) throw e;
      if (this.stopped) this.ram.resumeVcpus();
      await this.fail(`migration aborted: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async migrate(): Promise<void> {
    const { clock, ram, env } = this;
    const start = clock.now();
    this.status("setup");
    for (const d of env.devices) {
      const reason = d.blockedReason?.();
      if (reason) {
        this.timeline.add({ t: clock.now(), kind: "status", status: "failed", reason, blocked: true });
        this.end();
        return;
      }
    }
    await this.span("setup", "setup", "source", async () => {
      for (const d of env.devices) await d.setup?.(this.ctx);
      this.bitmap.setAll();
      ram.startDirtyLog();
      this.periodStart = clock.now();
      await this.sync(false);
    });
    if (env.devices.some((d) => d.unplugPending?.())) {
      this.status("wait-unplug");
      await this.span("wait-unplug", "setup", "source", async () => {
        while (env.devices.some((d) => d.unplugPending?.())) await clock.sleep(unplugPollMs);
      });
    }
    this.timeline.add({ t: clock.now(), kind: "setup-done" });
    this.status("active");
    this.windowStart = clock.now();
    this.windowStartBytes = this.counters.transferred;
    await this.sendDevicePreCopy();

    for (;;) {
      const failure = this.giveUpReason(start);
      if (failure) return this.fail(failure);
      // migration_iteration_run: the estimate, then the exact figure after a sync.
      if (this.canSwitchOver()) {
        await this.sync(false);
        if (this.canSwitchOver()) break;
      }
      await this.iterate();
    }
    await this.complete();
  }

  private canSwitchOver(): boolean {
    const pending = this.pending();
    return pending === 0 || pending < this.threshold;
  }

  private pending(): number {
    return this.bitmap.count * this.ram.pageSize;
  }

  private giveUpReason(start: number): string | undefined {
    const { passes, timeMs, byDefault } = this.params.giveUp;
    // Only a failure's message needs the figures in words (formatting them every slice cost 5 % of a fleet run).
    const stays = () => `pending ${formatBytes(this.pending())} stays above the ${formatBytes(this.threshold)} threshold`;
    // The scenario set no bound: say so, and what would make the migration converge.
    const advice = byDefault
      ? ` (livemig's default bound: the scenario sets no migration.giveUp, and QEMU would keep migrating; to converge: migration.autoConverge: true, a higher migration.maxBandwidth or link, a larger migration.downtimeLimit; or set migration.giveUp)`
      : "";
    if (passes !== undefined && this.passes > passes) {
      return `did not converge after ${passes} passes (dirty-sync-count ${this.passes}); ${stays()}${advice}`;
    }
    if (timeMs !== undefined && this.clock.now() - start >= timeMs) {
      return `did not converge within ${timeMs / 1000} s; ${stays()}${advice}`;
    }
    return undefined;
  }

  /** migration_bitmap_sync: OR the dirty logs into the bitmap; rate bookkeeping; auto-converge. */
  private async sync(final: boolean): Promise<void> {
    const { clock, ram } = this;
    const newly = ram.syncDirtyLog(this.bitmap);
    for (const d of this.env.devices) await d.sync?.(this.ctx, this.bitmap, final);
    this.passes++;
    this.periodDirtyPages += newly;
    const now = clock.now();
    if (now - this.periodStart >= ratePeriodMs) {
      const elapsed = now - this.periodStart;
      this.dirtyRate = (this.periodDirtyPages * 1000) / elapsed;
      const sent = this.counters.transferred - this.periodStartBytes;
      if (this.params.autoConverge && !this.stopped) this.maybeThrottle(this.periodDirtyPages * ram.pageSize, sent);
      this.periodStart = now;
      this.periodStartBytes = this.counters.transferred;
      this.periodDirtyPages = 0;
    }
    const dirtyBytes = this.bitmap.count * ram.pageSize;
    if (this.bandwidth > 0 && this.dirtyRate > 0) this.expectedDowntime = dirtyBytes / this.bandwidth;
    this.timeline.add({
      t: now, kind: "sync", pass: this.passes, dirtyPages: this.bitmap.count, newlyDirty: newly,
      bandwidth: this.bandwidth * 1000, threshold: this.threshold, throttle: this.throttle,
      dirtyRate: this.dirtyRate, expectedDowntime: this.expectedDowntime, counters: { ...this.counters },
    });
    this.env.onProgress?.({ pass: this.passes, remainingBytes: dirtyBytes, bandwidth: this.bandwidth * 1000, t: now });
  }

  /** Auto-converge: dirtied > threshold share of sent, twice, raises the throttle (mig_throttle_guest_down). */
  private maybeThrottle(dirtiedBytes: number, sentBytes: number): void {
    const t = this.params.throttle;
    const thresholdBytes = sentBytes * t.triggerThreshold;
    if (dirtiedBytes > thresholdBytes && ++this.dirtyRateHighCount >= 2) {
      this.dirtyRateHighCount = 0;
      this.throttle = this.throttle === 0 ? t.initial : Math.min(this.throttle + this.throttleStep(dirtiedBytes, thresholdBytes), t.max);
      this.throttle = Math.round(this.throttle * 100) / 100;
      this.ram.setThrottle(this.throttle);
      this.timeline.add({ t: this.clock.now(), kind: "throttle", fraction: this.throttle });
    }
  }

  /**
   * The next raise: cpu-throttle-increment, or with tailslow no more than the step that would
   * bring the dirtied bytes down to the threshold, the guest's CPU share scaled by
   * threshold / dirtied (QEMU computes it in whole percent, rounding the ideal share down).
   */
  private throttleStep(dirtiedBytes: number, thresholdBytes: number): number {
    const t = this.params.throttle;
    if (!t.tailslow) return t.increment;
    const cpuNow = 100 - Math.round(this.throttle * 100);
    const cpuIdeal = Math.floor(cpuNow * (thresholdBytes / dirtiedBytes));
    return Math.min(cpuNow - cpuIdeal, Math.round(t.increment * 100)) / 100;
  }

  /** VFIO PRE_COPY: the devices' initial data goes first, counted against the window like RAM. */
  private async sendDevicePreCopy(): Promise<void> {
    let bytes = 0;
    for (const d of this.env.devices) bytes += d.preCopyBytes?.() ?? 0;
    if (bytes === 0) return;
    this.counters.transferred += bytes;
    this.counters.precopyBytes += bytes;
    await this.span("device pre-copy", "device-precopy", "source", () => this.env.channel.send(bytes));
  }

  /** One slice of ram_save_iterate within the current rate-limit window. */
  private async iterate(): Promise<void> {
    const { clock } = this;
    const limit = this.params.maxBandwidth;
    const budget = limit > 0 ? (limit * windowMs) / 1000 : Infinity;
    const usedInWindow = this.counters.transferred - this.windowStartBytes;
    const windowEnd = this.windowStart + windowMs;
    if (usedInWindow >= budget) {
      // Over budget: wait for the window to end (rate_limit_sem).
      await clock.sleep(Math.max(0, windowEnd - clock.now()));
    } else {
      const sent = await this.sendDirty(Math.min(batchBytes, budget - usedInWindow));
      if (sent === 0 && this.bitmap.count === 0) {
        // Nothing dirty yet (threshold still unknown): let the window run out instead of spinning.
        await clock.sleep(Math.max(0, windowEnd - clock.now()));
      }
    }
    const now = clock.now();
    // A tolerance, so float rounding of windowStart + 100 cannot keep a window open forever.
    if (now >= windowEnd - 1e-6) {
      this.bandwidth = (this.counters.transferred - this.windowStartBytes) / (now - this.windowStart);
      this.threshold = this.bandwidth * this.params.downtimeLimitMs;
      this.windowStart = now;
      this.windowStartBytes = this.counters.transferred;
    }
  }

  /**
   * Sends dirty pages from the cursor on, clearing their bits, up to the page that brings the
   * slice to `maxBytes` (so it overshoots by less than a page; the window's accounting carries
   * that) or to `slicePages` pages; returns bytes sent.
   */
  private async sendDirty(maxBytes: number): Promise<number> {
    const { bitmap, ram } = this;
    const normalCost = normalPageBytes(ram.pageSize);
    const zeroCost = zeroPageBytes();
    let bytes = 0;
    let zero = 0;
    let pages = 0;
    let wrapped = false;
    this.slice.clear();
    while (bytes < maxBytes && pages < slicePages) {
      const start = bitmap.nextSet(this.cursor);
      if (start < 0) {
        this.cursor = bitmap.size;
        if (wrapped || bitmap.count === 0) break;
        wrapped = true; // the walk wraps to the start of RAM, as ram_find_and_save_block does
        this.cursor = 0;
        continue;
      }
      // Dirty pages from `start` that are all zero or all non-zero cost the same each, so they
      // are taken at once: as many as there are, up to the one that fills the slice. Looked
      // for a chunk at a time, doubling, so neither scan runs far past where the other ends.
      const isZero = ram.isZero(start);
      const cost = isZero ? zeroCost : normalCost;
      const fill = Math.min(slicePages - pages, Math.ceil((maxBytes - bytes) / cost));
      let n = 0;
      for (let chunk = 32; ; chunk *= 2) {
        const most = Math.min(chunk, fill - n);
        const run = this.runOfKind(start + n, bitmap.runLength(start + n, most, true), isZero);
        n += run;
        if (run < most || n === fill) break;
      }
      bitmap.clearRange(start, start + n);
      this.slice.add(start, n);
      this.cursor = start + n;
      pages += n;
      bytes += n * cost;
      if (isZero) zero += n;
    }
    if (pages === 0) return 0;
    const payload = await ram.readPages(this.slice);
    bytes += endOfSectionBytes;
    this.count(pages - zero, zero, bytes);
    await this.env.channel.send(bytes, payload);
    return bytes;
  }

  /** Pages from `from` on, at most `max`, all zero or all non-zero: by the word where the RAM can, else page by page. */
  private runOfKind(from: number, max: number, zero: boolean): number {
    const ram = this.ram;
    if (ram.runOfKind) return ram.runOfKind(from, max, zero);
    let n = 0;
    while (n < max && ram.isZero(from + n) === zero) n++;
    return n;
  }

  private count(normal: number, zero: number, bytes: number): void {
    const c = this.counters;
    c.normal += normal;
    c.duplicate += zero;
    c.normalBytes += normal * this.ram.pageSize;
    c.transferred += bytes;
    if (this.stopped) c.downtimeBytes += bytes;
    else c.precopyBytes += bytes;
  }

  private async complete(): Promise<void> {
    const { clock, ram, env, ctx } = this;
    this.status("device");
    this.timeline.add({ t: clock.now(), kind: "vm-stop" });
    ram.stopVcpus();
    this.stopped = true;
    for (const d of env.devices) await d.stop?.(ctx);
    await this.span("final sync", "final-sync", "source", () => this.sync(true));
    await this.span("final RAM", "final-ram", "source", async () => {
      while (this.bitmap.count > 0) await this.sendDirty(batchBytes);
    });
    await this.span("device state", "device-state", "source", async () => {
      let bytes = 0;
      for (const d of env.devices) bytes += d.stateBytes();
      if (bytes > 0) {
        this.counters.transferred += bytes;
        this.counters.downtimeBytes += bytes;
        await env.channel.send(bytes);
      }
      await env.channel.drain();
    });
    for (const d of env.devices) await d.load?.(ctx);
    for (const d of env.devices) await d.start?.(ctx);
    const stale = ram.stalePages();
    this.timeline.add({ t: clock.now(), kind: "verify", stalePages: stale.length, pages: stale.slice(0, 1000) });
    ram.resumeVcpus();
    this.resumed = true;
    this.timeline.add({ t: clock.now(), kind: "vm-resume" });
    ram.stopDirtyLog();
    this.status(stale.length > 0 ? "completed-unsafe" : "completed");
    const after = env.devices.map((d) => clock.spawn(async () => d.afterResume?.(ctx)));
    await this.announce();
    await clock.join(after);
    this.end();
  }

  /** Self-announce (qemu_announce_self): a RARP per round at QEMU's schedule. */
  private async announce(): Promise<void> {
    const { clock } = this;
    const resumed = clock.now();
    let round = 0;
    for (const delay of announceSchedule(this.params.announce)) {
      const wait = resumed + delay - clock.now();
      if (wait > 0) await clock.sleep(wait);
      this.timeline.add({ t: clock.now(), kind: "announce", round: round++ });
    }
  }

  private async fail(reason: string): Promise<void> {
    this.ram.stopDirtyLog();
    this.ram.setThrottle(0);
    const problems: string[] = [];
    for (const d of this.env.devices) {
      // One device failing to give its NIC back must not keep the others from trying.
      await d.abort?.(this.ctx).catch((e: unknown) => problems.push(`${d.kind}: ${e instanceof Error ? e.message : String(e)}`));
    }
    this.status("failed", problems.length ? `${reason}; abort: ${problems.join("; ")}` : reason);
    this.end();
  }

  private end(): void {
    this.timeline.add({ t: this.clock.now(), kind: "end", counters: { ...this.counters } });
  }

  private async span(name: string, component: string, side: Side, body: () => Promise<void>): Promise<void> {
    return this.ctx.work(name, component, side, body);
  }
}
