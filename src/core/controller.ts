// QEMU's precopy migration (migration/migration.c, migration/ram.c), written once against
// the ports. See ../../docs/model.md for how each step maps onto QEMU.

import { PageBitmap, PageRuns, bitRunFrom, lowestBit, popcount } from "./bitmap.js";
import { DirtyLimit } from "./dirty-limit.js";
import { formatBytes } from "./format.js";
import type { DestinationMemory, Device, DeviceContext } from "./device.js";
import { MultifdSender, multifdDeviceStateRefusal, multifdPacketPages } from "./multifd.js";
import { announceSchedule, type MigrationParams } from "./params.js";
import type { Channel, Clock, GuestRam } from "./ports.js";
import { postcopyPhase, postcopyPinningWarning, postcopyRefusal } from "./postcopy.js";
import { Timeline, type Counters, type MigrationStatus, type NetState, type Side } from "./timeline.js";
import { endOfSectionBytes, normalPageBytes, pageHeaderBytes, zeroPageBytes } from "./wire.js";
import { XbzrleCache } from "./xbzrle.js";

export interface MigrationEnv {
  clock: Clock;
  ram: GuestRam;
  channel: Channel;
  /** multifd: one channel per multifd channel (each its own socket); absent: all on `channel`. */
  multifdChannels?: Channel[];
  devices: Device[];
  params: MigrationParams;
  /** Receive frames per second reaching the guest's NIC. */
  rxFramesPerSecond?: number;
  /** The destination's host memory, where it is modelled (vDPA pinning populates it). */
  destinationMemory?: DestinationMemory;
  /** Optional progress callback (terminal progress bars). */
  onProgress?: (p: { pass: number; remainingBytes: number; bandwidth: number; t: number }) => void;
  /** Optional: each status QEMU would report (query-migrate), when it is set: what an orchestrator watches. */
  onStatus?: (status: MigrationStatus) => void;
  /** What the modes' own work costs, where the runtime models it (the simulator). */
  modeCosts?: ModeCosts;
}

export interface ModeCosts {
  vcpus: number;
  /** Bytes of a page one guest write changes (what xbzrle encodes). */
  bytesPerWrite: number;
  /** How fast the migration thread moves memory (xbzrle's copies and compares), bytes/ms; 0: free. */
  memoryBytesPerMs: number;
  /** One-way link latency (post-copy's page requests), ms. */
  latencyMs: number;
  /**
   * Bytes one TCP stream holds in flight (the two ends' socket buffers): a page post-copy
   * requests without preempt waits behind them. Absent: behind half a background slice.
   */
  streamQueueBytes?: number;
}

/** What a page costs on the stream, what a slice adds, and the most pages in a slice. */
interface PageFormat {
  zero: number;
  normal: number;
  perSlice: number;
  slicePages: number;
}

/** QEMU's BUFFER_DELAY: rate limiting and bandwidth estimation work in 100 ms windows. */
const windowMs = 100;
/** Throttle and dirty-rate bookkeeping happen at most once per second (migration_trigger_throttle). */
const ratePeriodMs = 1000;
/** VFIO_MIG_DEFAULT_DATA_BUFFER_SIZE: a device's precopy data is read and sent in pieces of up to 1 MiB. */
const vfioDataBufferBytes = 1 << 20;
/** failover: wait-unplug polls every 250 ms. */
const unplugPollMs = 250;
/** Largest slice of stream sent per await; small enough to keep DMA-vs-send ordering page-exact in practice. */
const batchBytes = 1 << 20;
/** Most pages in one slice: a slice of zero pages only. */
const slicePages = Math.ceil(batchBytes / zeroPageBytes());
/**
 * A slice also ends once building it has taken this long (QEMU's ram_save_iterate stops after
 * MAX_WAIT, 50 ms, checked every 64 pages). A zero page costs 9 bytes, so a slice may examine
 * ~116k pages (464 MiB of zero checks): on a wall clock that blocked the live engine's event
 * loop for 437 ms (docs/live.md). The simulator's clock does not move while a slice is built,
 * so there only bytes and pages end it.
 */
export const sliceBuildMs = 2;
/** The most pages one zero check looks at while a run grows: the build time is checked between. */
export const runChunkMaxPages = 4096;

export async function migrate(env: MigrationEnv): Promise<Timeline> {
  const run = new Run(env);
  await run.execute();
  run.release();
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
  /** The periodic auto-converge sync's next tick, and dirty-sync-count at its last (timerSync). */
  private syncTickAt: number | undefined;
  /** When the migration started (the give-up and post-copy deadlines count from here). */
  private startedAt = 0;
  private passesAtTick = 0;
  // Bandwidth estimation window (migration_update_counters).
  private windowStart = 0;
  private windowStartBytes = 0;
  private bandwidth = 0; // bytes per ms
  private threshold = 0; // bytes
  /** The window in which the devices' dirty precopy data was last sent while no RAM was left to send. */
  private deviceDirtyWindow = -1;
  private expectedDowntime: number;
  // Dirty-rate period (migration_bitmap_sync / migration_trigger_throttle).
  private periodStart = 0;
  private periodStartBytes = 0;
  private periodDirtyPages = 0;
  private dirtyRate = 0;
  private dirtyRateHighCount = 0;
  private throttle = 0;
  // QEMU's other ways to move RAM, where the params ask for them.
  private readonly multifd?: MultifdSender;
  private readonly xbzrle?: XbzrleCache;
  private xbzrleStarted = false;
  private readonly dirtyLimit?: DirtyLimit;
  private dirtyLimitFraction: number | undefined;
  private inPostcopy = false;
  private readonly precopyFormat: PageFormat;
  /** Pages in a full slice of normal pages (the unit `quietSlices` joins). */
  private readonly normalSlicePages: number;
  private readonly multifdFormat?: PageFormat;
  private readonly costs: ModeCosts;

  constructor(private readonly env: MigrationEnv) {
    this.clock = env.clock;
    this.ram = env.ram;
    this.params = env.params;
    this.bitmap = new PageBitmap(env.ram.pageCount);
    this.expectedDowntime = env.params.downtimeLimitMs;
    // A slice is a few runs most of the time; the runs grow to what a slice of scattered pages needs.
    this.slice = new PageRuns(64);
    const pageSize = env.ram.pageSize;
    this.costs = env.modeCosts ?? { vcpus: 1, bytesPerWrite: pageSize, memoryBytesPerMs: 0, latencyMs: 0 };
    this.precopyFormat = { zero: zeroPageBytes(), normal: normalPageBytes(pageSize), perSlice: endOfSectionBytes, slicePages };
    this.normalSlicePages = Math.ceil(batchBytes / this.precopyFormat.normal);
    const p = env.params;
    if (p.multifd) {
      const channels = env.multifdChannels ?? new Array<Channel>(p.multifd.channels).fill(env.channel);
      this.multifd = new MultifdSender(env.clock, env.ram, channels, p.multifd);
      // A packet's header and offset slots are its own whatever it holds; a zero page adds nothing to them.
      this.multifdFormat = { zero: 0, normal: pageSize, perSlice: this.multifd.packetLen, slicePages: multifdPacketPages(pageSize) };
      this.counters.multifdBytes = 0;
    }
    if (p.xbzrle) this.xbzrle = new XbzrleCache({ cacheSize: p.xbzrle.cacheSize, pageSize, changedBytes: this.costs.bytesPerWrite });
    if (p.dirtyLimit) this.dirtyLimit = new DirtyLimit({ ...p.dirtyLimit, vcpus: this.costs.vcpus, pageSize });
    if (p.postcopy) this.counters.postcopyBytes = 0;
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
    this.env.onStatus?.(status);
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
    this.startedAt = start;
    this.status("setup");
    const reasons = env.devices.map((d) => d.blockedReason?.());
    if (env.params.postcopy) reasons.push(postcopyRefusal(env.devices));
    reasons.push(multifdDeviceStateRefusal(env.devices, env.params.multifd !== undefined));
    const reason = reasons.find((r) => r);
    if (reason) {
      this.timeline.add({ t: clock.now(), kind: "status", status: "failed", reason, blocked: true });
      this.end();
      return;
    }
    await this.span("setup", "setup", "source", async () => {
      for (const d of env.devices) await d.setup?.(this.ctx);
      this.bitmap.setAll();
      ram.startDirtyLog();
      this.periodStart = clock.now();
      await this.sync(false);
      // ram_save_setup's multifd_ram_flush_and_sync (QEMU 10.0: every channel's first SYNC packet).
      await this.multifdFlush();
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
      // Once migrate-start-postcopy is due, post-copy is what ends a migration that does not converge.
      const postcopyDue = this.postcopyDue(start);
      // migration_iteration_run: the estimate, then the exact figure after a sync.
      if (this.belowThreshold()) {
        await this.sync(false);
        if (this.belowThreshold() && this.switchoverAcked()) break;
      }
      // A bound is judged after the threshold check: a run that converges on its last pass completes.
      const failure = postcopyDue ? undefined : this.giveUpReason(start);
      if (failure) return this.fail(failure);
      if (postcopyDue) return this.complete(true);
      // Only auto-converge has the timer (and without it, no promise per slice).
      if (this.params.autoConvergeSyncMs && this.params.autoConverge) await this.timerSync(start, this.params.autoConvergeSyncMs);
      await this.iteration();
    }
    await this.complete();
  }

  /**
   * cpu_throttle_dirty_sync_timer_tick (QEMU 9.2+, auto-converge): every autoConvergeSyncMs from
   * the start, a sync if none happened since the last tick, once pass 1 is over. QEMU's timer
   * fires beside the migration thread; here it is looked at between iterations (<= ~150 ms late).
   */
  private async timerSync(start: number, every: number): Promise<void> {
    this.syncTickAt ??= start + every;
    while (this.clock.now() >= this.syncTickAt) {
      if (this.passes > 1 && this.passes === this.passesAtTick) await this.sync(false);
      this.passesAtTick = this.passes;
      this.syncTickAt += every;
    }
  }

  private postcopyDue(start: number): boolean {
    const p = this.params.postcopy;
    if (!p) return false;
    return (p.afterPasses !== undefined && this.passes > p.afterPasses) || (p.afterMs !== undefined && this.clock.now() - start >= p.afterMs);
  }

  private belowThreshold(): boolean {
    const pending = this.pending();
    return pending === 0 || pending < this.threshold;
  }

  /** QEMU's can_switchover: with switchover-ack, the destination's devices hold it until they are ready. */
  private switchoverAcked(): boolean {
    return this.env.devices.every((d) => d.switchoverAcked?.() ?? true);
  }

  /** RAM still dirty and, while the guest runs, the devices' changed precopy state (VFIO's precopy_dirty_size). */
  private pending(): number {
    return this.bitmap.count * this.ram.pageSize + (this.stopped ? 0 : this.devicePreCopyDirty());
  }

  private devicePreCopyDirty(): number {
    let bytes = 0;
    for (const d of this.env.devices) bytes += d.preCopyDirtyBytes?.(this.clock.now()) ?? 0;
    return bytes;
  }

  private giveUpReason(start: number): string | undefined {
    const { passes, timeMs, byDefault } = this.params.giveUp;
    // livemig's own default counts passes only once a window has given QEMU a threshold: before
    // that, a guest whose sync always finds a few new pages (receive DMA) passes quickly and
    // QEMU would go on to converge.
    const judged = !byDefault || this.bandwidth > 0;
    if (passes !== undefined && this.passes > passes && judged) {
      return `did not converge after ${passes} passes (dirty-sync-count ${this.passes}); ${this.giveUpDetail()}`;
    }
    if (timeMs !== undefined && this.clock.now() - start >= timeMs) {
      return `did not converge within ${timeMs / 1000} s; ${this.giveUpDetail()}`;
    }
    return undefined;
  }

  /** Why it stays, in words, and advice where livemig's default bound gave up: only a failure's message needs them (not a closure per slice). */
  private giveUpDetail(): string {
    const stays =
      this.belowThreshold() && !this.switchoverAcked()
        ? `pending ${formatBytes(this.pending())} is below the ${formatBytes(this.threshold)} threshold, but the destination has not acknowledged the switch-over (switchover-ack)`
        : `pending ${formatBytes(this.pending())} stays above the ${formatBytes(this.threshold)} threshold`;
    // The scenario set no bound: say so, and what would make the migration converge.
    const advice = this.params.giveUp.byDefault
      ? ` (livemig's default bound: the scenario sets no migration.giveUp, and QEMU would keep migrating; to converge: migration.autoConverge: true or a migration.dirtyLimit, a higher migration.maxBandwidth or link, a larger migration.downtimeLimit, or migration.postcopy (post-copy always ends); or set migration.giveUp)`
      : "";
    return `${stays}${advice}`;
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
      if (this.dirtyLimitFraction !== undefined && !this.stopped) this.applyDirtyLimit();
      if ((this.params.autoConverge || this.dirtyLimit) && !this.stopped) this.maybeThrottle(this.periodDirtyPages * ram.pageSize, sent);
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
      // migration_dirty_limit_guest instead of auto-converge: once on, it follows the rate itself.
      if (this.dirtyLimit) {
        if (this.dirtyLimitFraction === undefined) this.applyDirtyLimit();
        return;
      }
      this.throttle = this.throttle === 0 ? t.initial : Math.min(this.throttle + this.throttleStep(dirtiedBytes, thresholdBytes), t.max);
      this.throttle = Math.round(this.throttle * 100) / 100;
      this.ram.setThrottle(this.throttle);
      this.timeline.add({ t: this.clock.now(), kind: "throttle", fraction: this.throttle });
    }
  }

  /** dirtylimit_adjust_throttle: each vCPU's sleep for the dirty rate just measured. */
  private applyDirtyLimit(): void {
    const state = this.dirtyLimit!.adjust(this.dirtyRate, this.dirtyLimitFraction ?? 0);
    this.dirtyLimitFraction = state.fraction;
    this.ram.setThrottle(state.fraction);
    this.timeline.add({ t: this.clock.now(), kind: "dirty-limit", ...state });
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

  /**
   * VFIO PRE_COPY: the devices' initial data goes first, counted against the window like RAM;
   * once it is sent each device may start preparing the destination (it arrives a link
   * latency later: not waited for, as a drain here would be the switch-over's).
   */
  private async sendDevicePreCopy(): Promise<void> {
    const bytes = this.deviceData("pre-copy", this.env.devices, (d) => d.preCopyBytes?.() ?? 0);
    if (bytes === 0) return;
    this.counters.transferred += bytes;
    this.counters.precopyBytes += bytes;
    await this.span("device pre-copy", "device-precopy", "source", () => this.env.channel.send(bytes));
    for (const d of this.env.devices) if (d.preCopyBytes?.()) d.preCopyArrived?.(this.ctx);
  }

  /** The devices' state of one phase, in bytes; each VFIO device's share recorded for `vfio.transferred`. */
  private deviceData(phase: "pre-copy" | "stop-copy", devices: Device[], bytesOf: (d: Device) => number): number {
    let bytes = 0;
    for (const d of devices) {
      const n = bytesOf(d);
      if (d.vfioMigration && n > 0) this.timeline.add({ t: this.clock.now(), kind: "device-data", device: d.kind, phase, bytes: n });
      bytes += n;
    }
    return bytes;
  }

  /**
   * vfio_save_iterate, beside RAM's: each device's changed precopy state, a buffer (1 MiB) at a
   * time once that much has built up, or, when no RAM is left to send, what there is (at most
   * once per window, so a slowly changing device is not polled every slice). Undefined when no
   * device has anything to send in this slice (the common case: no promise, no map per slice).
   */
  private devicePreCopyDirtyBuffers(now: number): Map<Device, number> | undefined {
    const idle = this.bitmap.count === 0 && this.deviceDirtyWindow !== this.windowStart;
    let buffers: Map<Device, number> | undefined;
    for (const d of this.env.devices) {
      const n = d.preCopyDirtyBytes?.(now) ?? 0;
      const buffer = n >= vfioDataBufferBytes || idle ? Math.min(n, vfioDataBufferBytes) : 0;
      if (buffer > 0) (buffers ??= new Map()).set(d, buffer);
    }
    return buffers;
  }

  /** Sends the devices' buffers of changed precopy state; returns bytes sent. */
  private async sendDevicePreCopyDirty(now: number, buffers: Map<Device, number>): Promise<number> {
    const idle = this.bitmap.count === 0 && this.deviceDirtyWindow !== this.windowStart;
    const bytes = this.deviceData("pre-copy", this.env.devices, (d) => buffers.get(d) ?? 0);
    if (idle) this.deviceDirtyWindow = this.windowStart;
    for (const d of this.env.devices) d.preCopyDirtySent?.(now, buffers.get(d) ?? 0);
    this.counters.transferred += bytes;
    this.counters.precopyBytes += bytes;
    await this.span("device pre-copy (dirty)", "device-precopy", "source", () => this.env.channel.send(bytes));
    return bytes;
  }

  /**
   * One ram_save_iterate: slices within the current rate-limit window until it has sent for
   * iterationMs, used up the window's budget or found nothing to send (one slice without
   * iterationMs); then the window is closed if it has run its 100 ms (migration_rate_limit).
   */
  private async iteration(): Promise<void> {
    const { clock } = this;
    const most = this.params.iterationMs ?? 0;
    const started = clock.now();
    for (let first = true; ; first = false) {
      const limit = this.params.maxBandwidth;
      const budget = limit > 0 ? (limit * windowMs) / 1000 : Infinity;
      const usedInWindow = this.counters.transferred - this.windowStartBytes;
      const windowEnd = this.windowStart + windowMs;
      if (usedInWindow >= budget) {
        // Over budget: wait for the window to end (rate_limit_sem).
        await clock.sleep(Math.max(0, windowEnd - clock.now()));
        break;
      }
      const buffers = this.devicePreCopyDirtyBuffers(clock.now());
      const device = buffers ? await this.sendDevicePreCopyDirty(clock.now(), buffers) : 0;
      const left = budget - usedInWindow - device;
      const slices = device === 0 ? this.quietSlices(left, most > 0 ? started + most : Infinity) : 1;
      const sent = device + (await this.sendDirty(Math.min(batchBytes, left), slices));
      if (sent === 0) {
        // Nothing dirty yet (threshold still unknown): let the window run out instead of spinning.
        if (this.bitmap.count === 0 && first) await clock.sleep(Math.max(0, windowEnd - clock.now()));
        break;
      }
      if (clock.now() - started >= most) break;
    }
    this.closeWindow();
  }

  /**
   * How many slices of quiet pages (`GuestRam.quietRun`) may go as one: as many as take, at the
   * last window's rate, a quarter of the time left before anything looked at between two slices
   * would act (the window's close, the iteration's end at QEMU's cadence, a give-up or post-copy
   * deadline, auto-converge's timer), within the budget, and leave the pending pages at or above
   * the threshold. A quarter, so that they end in time even if the rate falls four-fold while
   * they go (a flow of a shared network slows as others join its links). The slices between
   * would then have changed nothing: the same pages go in the same order, and only the float
   * sums of their times differ. 1 where that is not known: before a window has given a rate,
   * with multifd (its packets go to the channels one by one), once xbzrle encodes (a slice's
   * bytes are known only after), while a device has changed precopy state (sent between
   * slices), or once post-copy is due.
   */
  private quietSlices(left: number, iterationEnd: number): number {
    // Post-copy due (looked at before the next sync, so one slice goes first): that slice alone.
    if (!this.ram.quietRun || this.bandwidth === 0 || this.multifd || this.xbzrleStarted || this.devicePreCopyDirty() > 0 || this.postcopyDue(this.startedAt)) return 1;
    const { normal, perSlice } = this.precopyFormat;
    const slicePages = this.normalSlicePages;
    const until = Math.min(this.windowStart + windowMs - 1e-6, iterationEnd, this.clockDeadline());
    const reach = Math.min(left, (this.bandwidth * (until - this.clock.now())) / 4);
    const above = this.bitmap.count - Math.ceil(this.threshold / this.ram.pageSize);
    return Math.max(1, Math.min(Math.floor(reach / (slicePages * normal + perSlice)), Math.floor(above / slicePages)));
  }

  /** The earliest time at which a check between iterations acts by the clock alone: give-up, post-copy, auto-converge's timer. */
  private clockDeadline(): number {
    const { giveUp, postcopy } = this.params;
    return Math.min(
      giveUp.timeMs !== undefined ? this.startedAt + giveUp.timeMs : Infinity,
      postcopy?.afterMs !== undefined ? this.startedAt + postcopy.afterMs : Infinity,
      this.syncTickAt ?? Infinity,
    );
  }

  /** migration_update_counters: once a window has run 100 ms, its rate gives the threshold. */
  private closeWindow(): void {
    const now = this.clock.now();
    // A tolerance, so float rounding of windowStart + 100 cannot keep a window open forever.
    if (now >= this.windowStart + windowMs - 1e-6) {
      this.bandwidth = (this.counters.transferred - this.windowStartBytes) / (now - this.windowStart);
      this.threshold = this.bandwidth * this.params.downtimeLimitMs;
      this.windowStart = now;
      this.windowStartBytes = this.counters.transferred;
    }
  }

  /**
   * Sends dirty pages from the cursor on, clearing their bits, up to the page that brings the
   * slice to `maxBytes` (so it overshoots by less than a page; the window's accounting carries
   * that) or to `slicePages` pages; returns bytes sent. `slices` > 1: that many such slices at
   * once where the pages they span are all quiet and non-zero (`quietSlices`).
   */
  private async sendDirty(maxBytes: number, slices = 1): Promise<number> {
    const { bitmap, ram } = this;
    const multifd = this.multifd && !this.inPostcopy ? this.multifd : undefined;
    const format = multifd ? this.multifdFormat! : this.precopyFormat;
    const { normal: normalCost, zero: zeroCost, slicePages } = format;
    const firstChunk = Math.max(32, Math.ceil(batchBytes / normalCost));
    let bytes = 0;
    let zero = 0;
    let pages = 0;
    let wrapped = false;
    this.slice.clear();
    const joined = slices > 1 ? this.takeQuietSlices(slices, this.normalSlicePages) : 0;
    if (joined > 0) {
      pages = joined * this.normalSlicePages;
      bytes = pages * normalCost;
    }
    const buildUntil = this.clock.now() + sliceBuildMs;
    while (joined === 0 && bytes < maxBytes && pages < slicePages && this.clock.now() < buildUntil) {
      const start = bitmap.nextSet(this.cursor);
      if (start < 0) {
        this.cursor = bitmap.size;
        if (multifd) {
          // find_dirty_block: passing the end of RAM ends the packet being filled, then the
          // round's multifd_ram_flush_and_sync; the walk goes on from the start after it.
          if (pages > 0) break;
          await this.multifdFlush();
        }
        if (wrapped || bitmap.count === 0) break;
        wrapped = true; // the walk wraps to the start of RAM, as ram_find_and_save_block does
        this.cursor = 0;
        if (this.xbzrle) this.xbzrleStarted = true; // after the first round (find_dirty_block)
        continue;
      }
      // Dirty pages from `start` that are all zero or all non-zero cost the same each, so they
      // are taken at once: as many as there are, up to the one that fills the slice. Looked
      // for a chunk at a time, doubling, so neither scan runs far past where the other ends;
      // the first chunk is a slice of normal pages (a few words), so a slice of a first pass's
      // non-zero pages takes one scan of each bitmap, not four.
      const isZero = ram.isZero(start);
      const cost = isZero ? zeroCost : normalCost;
      const fill = Math.min(slicePages - pages, Math.ceil((maxBytes - bytes) / cost));
      const taken = this.takeWord(start, isZero, fill);
      if (taken > 0) {
        pages += taken;
        bytes += taken * cost;
        if (isZero) zero += taken;
        continue;
      }
      let n = 0;
      if (start + 1 === bitmap.size || !bitmap.test(start + 1)) {
        // A dirty page alone (what scattered writes leave): the run is that page, no scan.
        n = 1;
        bitmap.clear(start);
      } else {
        for (let chunk = Math.min(firstChunk, runChunkMaxPages); ; chunk = Math.min(2 * chunk, runChunkMaxPages)) {
          const most = Math.min(chunk, fill - n);
          const run = this.runOfKind(start + n, bitmap.runLength(start + n, most, true), isZero);
          n += run;
          if (run < most || n === fill || this.clock.now() >= buildUntil) break;
        }
        bitmap.clearRange(start, start + n);
      }
      this.slice.add(start, n);
      this.cursor = start + n;
      pages += n;
      bytes += n * cost;
      if (isZero) zero += n;
    }
    if (pages === 0) return 0;
    let normal = pages - zero;
    if (this.xbzrleStarted && !this.inPostcopy) ({ bytes, normal } = await this.encodeSlice());
    if (multifd) {
      bytes += format.perSlice;
      this.count(normal, zero, bytes);
      this.counters.multifdBytes! += bytes;
      await multifd.send(this.slice, bytes);
      return bytes;
    }
    const payload = await ram.readPages(this.slice);
    bytes += Math.max(1, joined) * endOfSectionBytes;
    this.count(normal, zero, bytes);
    if (joined > 1) {
      // Each slice is a section of its own on the stream (the simulator's: no payload).
      const section = this.normalSlicePages * normalCost + endOfSectionBytes;
      const channel = this.env.channel;
      if (channel.sendSections) await channel.sendSections(section, joined);
      else for (let i = 0; i < joined; i++) await channel.send(section);
      return bytes;
    }
    await this.env.channel.send(bytes, payload);
    return bytes;
  }

  /**
   * Up to `slices` slices' dirty pages from the walk's next dirty page on, where every page they
   * span is quiet and non-zero: each slice ends just past its `slicePages`-th dirty page, as the
   * walk would end it. Returns the slices taken (0 when fewer than two: the walk goes on as usual).
   */
  private takeQuietSlices(slices: number, slicePages: number): number {
    const { bitmap, ram } = this;
    const start = bitmap.nextSet(this.cursor);
    if (start < 0) return 0;
    let end = start;
    let taken = 0;
    for (; taken < slices; taken++) {
      const next = bitmap.pastNthSet(end, slicePages, bitmap.size);
      if (next < 0 || ram.quietRun!(end, next - end) !== next - end || this.runOfKind(end, next - end, false) !== next - end) break;
      end = next;
    }
    if (taken < 2) return 0;
    this.slice.addSet(bitmap, start, end);
    bitmap.clearRange(start, end);
    this.cursor = end;
    return taken;
  }

  /**
   * The dirty pages of `start`'s bitmap word from `start` on, all at once, when they are all of
   * `start`'s kind and no more than `fill`: the pages the run-by-run walk would take, in the same
   * order, for a word's work instead of a walk step per page (scattered writes leave a word of
   * short runs). Returns the pages taken; 0 when the walk must go run by run.
   */
  private takeWord(start: number, zero: boolean, fill: number): number {
    const { bitmap, ram, slice } = this;
    if (!ram.runOfKind) return 0;
    const bits = bitmap.wordFrom(start);
    // A word dirty to its end may begin a long run: the walk takes that a chunk at a time.
    if (bits === 0xffffffff << (start & 31)) return 0;
    const n = popcount(bits);
    if (n > fill) return 0;
    const base = start - (start & 31);
    const end = base + 32 - Math.clz32(bits);
    // All of one kind from `start` to the last dirty page (one look), else each run of dirty pages.
    if (ram.runOfKind(start, end - start, zero) !== end - start) {
      for (let w = bits; w !== 0; ) {
        const b = lowestBit(w);
        const length = bitRunFrom(w, b);
        if (ram.runOfKind(base + b, length, zero) !== length) return 0;
        w = b + length === 32 ? 0 : w & (0xffffffff << (b + length));
      }
    }
    slice.addWord(base, bits);
    bitmap.clearRange(start, end);
    this.cursor = end;
    return n;
  }

  /**
   * The slice's pages through the xbzrle cache (ram_save_page): the bytes they take and how many
   * go whole (`normal`); the cache's copies and compares take the migration thread's time.
   */
  private async encodeSlice(): Promise<{ bytes: number; normal: number }> {
    const { ram, slice } = this;
    const xbzrle = this.xbzrle!;
    let bytes = 0;
    let normal = 0;
    for (let r = 0; r < slice.count; r++) {
      for (let page = slice.starts[r], end = page + slice.lengths[r]; page < end; page++) {
        if (ram.isZero(page)) {
          xbzrle.sendZero(page, this.passes);
          bytes += this.precopyFormat.zero;
          continue;
        }
        bytes += xbzrle.sendNormal(page, this.passes, this.stopped);
        if (xbzrle.lastWhole) normal++;
      }
    }
    const moved = xbzrle.takeMovedBytes();
    if (this.costs.memoryBytesPerMs > 0 && moved > 0) await this.clock.sleep(moved / this.costs.memoryBytesPerMs);
    return { bytes, normal };
  }

  /** Pages the destination asked for in post-copy, sent now. */
  private async sendRequested(runs: PageRuns): Promise<void> {
    const { bitmap, ram } = this;
    let zero = 0;
    for (let r = 0; r < runs.count; r++) {
      for (let page = runs.starts[r], end = page + runs.lengths[r]; page < end; page++) {
        bitmap.clear(page);
        if (ram.isZero(page)) zero++;
      }
    }
    const { zero: zeroCost, normal: normalCost } = this.precopyFormat;
    const bytes = zero * zeroCost + (runs.pages - zero) * normalCost + endOfSectionBytes;
    const payload = await ram.readPages(runs);
    this.count(runs.pages - zero, zero, bytes);
    await this.env.channel.send(bytes, payload);
  }

  /**
   * MIG_CMD_POSTCOPY_RAM_DISCARD: the dirty pages the destination must drop (and fault on),
   * as ranges of a be64 start and a be64 length each.
   */
  private async sendDiscardBitmap(): Promise<void> {
    const { bitmap } = this;
    let ranges = 0;
    for (let p = bitmap.nextSet(0); p >= 0; p = bitmap.nextSet(p + bitmap.runLength(p, bitmap.size - p, true))) ranges++;
    const bytes = ranges * 2 * pageHeaderBytes;
    if (bytes === 0) return;
    this.counters.transferred += bytes;
    this.counters.downtimeBytes += bytes;
    await this.env.channel.send(bytes);
  }

  /** Pages from `from` on, at most `max`, all zero or all non-zero: by the word where the RAM can, else page by page. */
  private runOfKind(from: number, max: number, zero: boolean): number {
    const ram = this.ram;
    if (ram.runOfKind) return ram.runOfKind(from, max, zero);
    let n = 0;
    while (n < max && ram.isZero(from + n) === zero) n++;
    return n;
  }

  /** multifd_ram_flush_and_sync: the channels send what they were given, then each its SYNC packet (counted as QEMU does). */
  private async multifdFlush(): Promise<void> {
    if (!this.multifd || this.inPostcopy) return;
    const bytes = await this.multifd.flush();
    this.count(0, 0, bytes);
    this.counters.multifdBytes! += bytes;
  }

  private count(normal: number, zero: number, bytes: number): void {
    const c = this.counters;
    c.normal += normal;
    c.duplicate += zero;
    c.normalBytes += normal * this.ram.pageSize;
    c.transferred += bytes;
    // Only post-copy sends RAM after the destination resumed.
    if (this.resumed) c.postcopyBytes! += bytes;
    else if (this.stopped) c.downtimeBytes += bytes;
    else c.precopyBytes += bytes;
  }

  /**
   * Switch-over: stop, final sync, the rest of RAM (precopy) or only the list of pages still to
   * come (post-copy: postcopy_start), device state, destination start, resume.
   */
  private async complete(postcopy = false): Promise<void> {
    const { clock, ram, env, ctx } = this;
    this.status(postcopy ? "postcopy-active" : "device");
    this.timeline.add({ t: clock.now(), kind: "vm-stop" });
    ram.stopVcpus();
    this.stopped = true;
    for (const d of env.devices) await d.stop?.(ctx);
    // QEMU 10.0: the save threads of devices whose state goes over multifd start with the switch-over.
    const overMultifd = this.multifd && !postcopy ? env.devices.filter((d) => d.multifdDeviceState) : [];
    const mainChannel = env.devices.filter((d) => !overMultifd.includes(d));
    const threads = overMultifd.map((d) => clock.spawn(() => this.deviceStateOverMultifd(d)));
    await this.span("final sync", "final-sync", "source", () => this.sync(true));
    if (postcopy) {
      this.inPostcopy = true;
      const warning = postcopyPinningWarning(env.devices);
      if (warning) this.timeline.add({ t: clock.now(), kind: "warning", message: warning });
      await this.span("discard bitmap", "discard-bitmap", "source", () => this.sendDiscardBitmap());
    } else {
      await this.span("final RAM", "final-ram", "source", async () => {
        while (this.bitmap.count > 0) await this.sendDirty(batchBytes);
        // The last walk passes the end of RAM: its round's flush (find_dirty_block).
        await this.multifdFlush();
        // The final pass is loaded after what the destination still had to apply.
        await env.destinationMemory?.applied?.();
      });
    }
    await this.span("device state", "device-state", "source", async () => {
      for (const d of mainChannel) await d.save?.(ctx);
      const bytes = this.deviceData("stop-copy", mainChannel, (d) => d.stateBytes());
      if (bytes > 0) {
        this.counters.transferred += bytes;
        this.counters.downtimeBytes += bytes;
        await env.channel.send(bytes);
      }
      await env.channel.drain();
    });
    for (const d of mainChannel) await d.load?.(ctx);
    if (threads.length > 0) await this.span("wait for device state loaded over multifd", "device-state", "destination", () => clock.join(threads).then(() => undefined));
    for (const d of env.devices) await d.start?.(ctx);
    const stale = ram.stalePages();
    this.timeline.add({ t: clock.now(), kind: "verify", stalePages: stale.length, pages: stale.slice(0, 1000) });
    ram.resumeVcpus();
    this.resumed = true;
    this.timeline.add({ t: clock.now(), kind: "vm-resume" });
    const done = stale.length > 0 ? "completed-unsafe" : "completed";
    // Post-copy: the destination's accesses are what the dirty log now sees (they fault on missing pages).
    const background = postcopy ? [clock.spawn(() => this.postcopyBackground(done))] : [];
    if (!postcopy) {
      ram.stopDirtyLog();
      this.status(done);
    }
    const after = env.devices.map((d) => clock.spawn(async () => d.afterResume?.(ctx)));
    await this.announce();
    await clock.join(after);
    await clock.join(background);
    this.end();
  }

  /**
   * One device's STOP_COPY data over the multifd channels: its save thread reads it out of the
   * device and queues it to the channels; its load thread at the destination loads it.
   */
  private async deviceStateOverMultifd(d: Device): Promise<void> {
    await d.save?.(this.ctx);
    const bytes = this.deviceData("stop-copy", [d], (x) => x.stateBytes());
    this.counters.transferred += bytes;
    this.counters.downtimeBytes += bytes;
    this.counters.multifdBytes! += bytes;
    await this.span(`${d.kind} state over multifd`, "device-state", "source", () => this.multifd!.sendDeviceState(bytes));
    await d.load?.(this.ctx);
  }

  /** The post-copy phase after resume: background push and requested pages until nothing is missing. */
  private async postcopyBackground(done: MigrationStatus): Promise<void> {
    const { clock, ram, env } = this;
    try {
      const stats = await postcopyPhase({
        clock,
        ram,
        missing: this.bitmap,
        push: () => this.sendDirty(batchBytes),
        sendRequested: (runs) => this.sendRequested(runs),
        vcpus: this.costs.vcpus,
        latencyMs: this.costs.latencyMs,
        queuedBytes: this.costs.streamQueueBytes,
        preempt: this.params.postcopy!.preempt,
      });
      await env.channel.drain();
      ram.stopDirtyLog();
      this.timeline.add({ t: clock.now(), kind: "postcopy", ...stats, vcpus: this.costs.vcpus });
      this.status(done);
    } catch (e) {
      ram.stopDirtyLog();
      ram.setThrottle(0);
      this.status("failed", `post-copy failed after the switch: the VM is lost (its memory is split between source and destination): ${e instanceof Error ? e.message : String(e)}`);
    }
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

  /** The migration is over: its dirty bitmap goes back for the next one. */
  release(): void {
    this.bitmap.release();
  }

  private end(): void {
    if (this.xbzrle) this.timeline.add({ t: this.clock.now(), kind: "xbzrle", stats: this.xbzrle.stats() });
    this.timeline.add({ t: this.clock.now(), kind: "end", counters: { ...this.counters } });
  }

  private async span(name: string, component: string, side: Side, body: () => Promise<void>): Promise<void> {
    return this.ctx.work(name, component, side, body);
  }
}
