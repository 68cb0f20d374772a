// Simulated guest RAM: which pages are non-zero, the vCPU dirty log (as KVM keeps it), and
// the pages the destination holds a stale copy of. Writes are applied lazily, for the time
// elapsed since the last look, whenever the controller looks at RAM.

import { PageBitmap, type PageRuns } from "../core/bitmap.js";
import type { Clock, GuestRam } from "../core/ports.js";
import { sleepAwaited } from "./clock.js";
import type { SimDestinationMemory } from "./destination.js";
import { normalPageBytes, zeroPageBytes } from "../core/wire.js";
import type { WriteModel } from "./workload.js";

/** NIC receive traffic: frames written by DMA into the driver's receive buffers. */
export interface RxTraffic {
  framesPerSecond: number;
  /** Guest pages holding receive buffers, in the order the ring hands them to the NIC. */
  bufferPages: Uint32Array;
  /** Receive buffers per page (two 2 KiB buffers per 4 KiB page for 1500-byte frames). */
  buffersPerPage: number;
  /** Whether the dirty log sees this DMA now (the strategy decides). */
  logged: () => boolean;
}

/**
 * Writes per working-set page in one look above which they are drawn per page. At 20 the
 * chance that uniform writes miss a given page is e^-20 (2e-9), so per-page drawing changes
 * nothing a pass could show; below it the order of single writes is kept exactly.
 */
const saturationWrites = 20;

const settled: Promise<undefined> = Promise.resolve(undefined);

export interface SimRamOptions {
  clock: Clock;
  pageCount: number;
  pageSize: number;
  usedPages: number;
  writes: WriteModel;
  rx?: RxTraffic;
  /** How fast the migration thread reads guest pages (0: free). */
  memoryReadBytesPerSecond: number;
  /**
   * The source's first read of a page the guest never touched (zero at start, never written,
   * never read), ms: the host populates it (a host without the shared zero page). Absent: free.
   */
  firstReadMs?: number;
  /**
   * Where the non-zero pages lie: the working set at the bottom (where the workload writes),
   * the rest of `usedPages` spread over RAM by these shares per equal slice. Absent: all packed
   * at the bottom.
   */
  layout?: { shares: number[]; workingSetPages: number };
  /** The destination's host memory, where modelled: a page's first arrival populates it. */
  destination?: SimDestinationMemory;
}

export class SimGuestRam implements GuestRam {
  readonly pageCount: number;
  readonly pageSize: number;
  readonly nonZero: PageBitmap;
  /** The vCPU dirty log: read-and-cleared at every sync. */
  private readonly log: PageBitmap;
  /** The dirty log's pages are all below this: the vCPUs write from page 0 up to their support, the NIC its buffer pages. */
  private readonly logEnd: number;
  /** Pages written behind the dirty log's back since they were last sent (only receive DMA does: absent without it). */
  private readonly stale: PageBitmap | undefined;
  /** Receive-buffer pages sent at least once (a stale write to an unsent page is harmless). */
  private readonly sent: PageBitmap | undefined;
  /** The receive-buffer pages, where the NIC's DMA lands. */
  private readonly rxPages: PageBitmap | undefined;
  private logging = false;
  private vcpusRunning = true;
  private throttle = 0;
  private last = 0;
  private writeCarry = 0;
  /** vCPU writes counted but not yet applied to the bitmaps (applyWrites). */
  private pendingWrites = 0;
  private allWritten = false;
  private frameCarry = 0;
  private nextBuffer = 0;
  private dmaFrames = 0;
  private untrackedFrames = 0;
  /** Pages the source has read (firstReadMs): populated from then on. */
  private readBefore: PageBitmap | undefined;

  constructor(private readonly o: SimRamOptions) {
    this.pageCount = o.pageCount;
    this.pageSize = o.pageSize;
    this.nonZero = new PageBitmap(o.pageCount);
    if (o.layout) this.placeByLayout(o.layout.shares, o.layout.workingSetPages);
    else this.nonZero.setRange(0, Math.min(o.usedPages, o.pageCount));
    this.log = new PageBitmap(o.pageCount);
    // (A model that does not say its support may write anywhere.)
    let logEnd = Number.isFinite(o.writes.support) ? Math.min(o.writes.support, o.pageCount) : o.pageCount;
    if (o.rx) for (const p of o.rx.bufferPages) logEnd = Math.max(logEnd, p + 1);
    this.logEnd = logEnd;
    if (o.rx) {
      this.stale = new PageBitmap(o.pageCount);
      this.sent = new PageBitmap(o.pageCount);
      this.rxPages = new PageBitmap(o.pageCount);
      for (const p of o.rx.bufferPages) {
        this.nonZero.set(p);
        this.rxPages.set(p);
      }
    }
    this.last = o.clock.now();
  }

  /**
   * The working set at the bottom, the other used pages packed at the start of each slice by
   * its share; the top slice's packed at its end instead: that is Linux's page array, which
   * memblock allocates top-down (the polls show it in the last few MiB of RAM).
   */
  private placeByLayout(shares: number[], workingSetPages: number): void {
    const { pageCount } = this.o;
    const ws = Math.min(workingSetPages, pageCount);
    this.nonZero.setRange(0, ws);
    let left = Math.max(0, Math.min(this.o.usedPages, pageCount) - ws);
    const total = left;
    const slice = pageCount / shares.length;
    for (let b = 0; b < shares.length && left > 0; b++) {
      const top = b === shares.length - 1;
      let want = top ? left : Math.min(left, Math.round(shares[b] * total));
      left -= want;
      // From the slice's start up (the top slice: from the top down); what does not fit spills over.
      for (let i = 0, start = top ? pageCount - 1 : Math.floor(b * slice); want > 0 && i < pageCount; i++) {
        const p = top ? start - i : (start + i) % pageCount;
        if (this.nonZero.test(p)) continue;
        this.nonZero.set(p);
        want--;
      }
    }
  }

  /** Applies the guest's writes and the NIC's DMA for the time since the last call. */
  advance(): void {
    const now = this.o.clock.now();
    const dt = (now - this.last) / 1000;
    this.last = now;
    if (dt <= 0 || !this.vcpusRunning) return;
    const w = this.o.writes;
    if (w.rate > 0) {
      const exact = w.rate * (1 - this.throttle) * dt + this.writeCarry;
      const count = Math.floor(exact);
      this.writeCarry = exact - count;
      this.pendingWrites += count;
      // Writes only change what the controller sees through the dirty log (read at a sync)
      // and through zero pages: once every page they can reach is non-zero, they wait.
      if (!this.supportNonZero()) this.applyWrites();
    }
    const rx = this.o.rx;
    if (rx && rx.framesPerSecond > 0) {
      const exact = rx.framesPerSecond * dt + this.frameCarry;
      const frames = Math.floor(exact);
      this.frameCarry = exact - frames;
      const logged = rx.logged();
      const pages = rx.bufferPages;
      const perPage = rx.buffersPerPage;
      this.dmaFrames += frames;
      if (!logged) this.untrackedFrames += frames;
      // The ring is circular: more frames than buffers touch every buffer page.
      const touched = Math.min(frames, pages.length * perPage);
      for (let i = 0; i < touched; i++) {
        const page = pages[Math.floor(this.nextBuffer / perPage) % pages.length];
        this.nextBuffer = (this.nextBuffer + 1) % (pages.length * perPage);
        if (logged) this.cpuWrite(page);
        else if (this.sent!.test(page)) this.stale!.set(page);
      }
      this.nextBuffer = (this.nextBuffer + frames - touched) % (pages.length * perPage);
    }
  }

  private readonly cpuWrite = (page: number): void => {
    this.nonZero.set(page);
    if (this.logging) this.log.set(page);
  };

  /** A vCPU write once every page the vCPUs can reach is non-zero: only the dirty log changes. */
  private readonly loggedWrite = (page: number): void => {
    this.log.set(page);
  };

  private readonly cpuWriteRange = (from: number, to: number): void => {
    this.nonZero.setRange(from, to);
    if (this.logging) this.log.setRange(from, to);
  };

  /** Whether every page the vCPUs can write is non-zero already (never undone: RAM is not zeroed). */
  private supportNonZero(): boolean {
    if (!this.allWritten) {
      const support = Math.min(this.o.writes.support, this.pageCount);
      this.allWritten = this.nonZero.runLength(0, support, true) === support;
    }
    return this.allWritten;
  }

  /**
   * The writes since the last look, in order. Past `saturationWrites` per page of the working
   * set they are drawn per page instead: what a pass costs then grows with the working set,
   * not with the write rate (a billion writes per second would otherwise take that many steps).
   */
  private applyWrites(): void {
    const count = this.pendingWrites;
    if (count === 0) return;
    this.pendingWrites = 0;
    const w = this.o.writes;
    const mark = this.logging && this.supportNonZero() ? this.loggedWrite : this.cpuWrite;
    if (count > saturationWrites * w.support) w.writeMany(count, mark, this.cpuWriteRange);
    else w.write(count, mark);
  }

  startDirtyLog(): void {
    this.advance();
    this.applyWrites();
    this.logging = true;
    this.log.clearAll();
  }

  stopDirtyLog(): void {
    this.advance();
    this.applyWrites();
    this.logging = false;
  }

  syncDirtyLog(into: PageBitmap): number {
    this.advance();
    this.applyWrites();
    return into.takeFrom(this.log, 0, this.logEnd);
  }

  isZero(page: number): boolean {
    return !this.nonZero.test(page);
  }

  runOfKind(from: number, max: number, zero: boolean): number {
    return this.nonZero.runLength(from, max, !zero);
  }

  /**
   * Quiet pages (`GuestRam.quietRun`) from `from` up to the next receive buffer: above the
   * vCPUs' reach, or anywhere once every page they can reach is non-zero (their writes then only
   * mark the dirty log, which nothing reads before the next sync). None where the destination's
   * memory is modelled: vDPA's pinning may populate it while a slice arrives.
   */
  quietRun(from: number, max: number): number {
    const to = Math.min(from + max, this.pageCount);
    if (this.o.destination || from >= to) return 0;
    if (from < Math.min(this.o.writes.support, this.pageCount) && !this.supportNonZero()) return 0;
    const rx = this.rxPages ? this.rxPages.nextSet(from, to) : -1;
    return (rx < 0 ? to : rx) - from;
  }

  readPages(runs: PageRuns): Promise<undefined> {
    this.advance();
    // Only receive buffers take untracked DMA, so only they need the sent/stale bookkeeping.
    const rxPages = this.rxPages;
    if (rxPages) {
      for (let r = 0; r < runs.count; r++) {
        const end = runs.starts[r] + runs.lengths[r];
        for (let p = rxPages.nextSet(runs.starts[r], end); p >= 0; p = rxPages.nextSet(p + 1, end)) {
          this.sent!.set(p);
          this.stale!.clear(p);
        }
      }
    }
    // The migration thread reads every page it sends (zero check, copy to the socket).
    let readMs = this.o.memoryReadBytesPerSecond > 0 ? (runs.pages * this.pageSize * 1000) / this.o.memoryReadBytesPerSecond : 0;
    if (this.o.firstReadMs) readMs += this.firstReads(runs) * this.o.firstReadMs;
    // Without a destination to populate, the read is all: its sleep is the answer (an async
    // function around it would cost a promise and two turns per slice).
    // The controller awaits a read at once (the GuestRam port's contract).
    if (!this.o.destination) return readMs > 0 ? (sleepAwaited(this.o.clock, readMs) as Promise<undefined>) : settled;
    return this.readIntoDestination(runs, readMs);
  }

  /** The pages of `runs` read now for the first time that the guest never touched; all of them are read from now on. */
  private firstReads(runs: PageRuns): number {
    const read = (this.readBefore ??= new PageBitmap(this.pageCount));
    let n = 0;
    for (let r = 0; r < runs.count; r++) {
      const start = runs.starts[r];
      const end = start + runs.lengths[r];
      for (let p = start; p < end; p++) if (!this.nonZero.test(p) && !read.test(p)) n++;
      read.setRange(start, end);
    }
    return n;
  }

  private async readIntoDestination(runs: PageRuns, readMs: number): Promise<undefined> {
    if (readMs > 0) await this.o.clock.sleep(readMs);
    const destination = this.o.destination!;
    const arrival = destination.arrive(runs, this.nonZero);
    // The destination's zero checks populate beside the source's own first reads, which they
    // slow; without a thread of its own, the destination's population holds the stream up too.
    const streamMs = arrival.zeroReadMs + (destination.pipelined ? 0 : arrival.populateMs);
    if (streamMs > 0) await this.o.clock.sleep(streamMs);
    if (destination.pipelined) {
      const bytes = arrival.normal * normalPageBytes(this.pageSize) + (runs.pages - arrival.normal) * zeroPageBytes();
      await destination.apply(bytes, arrival.normal, arrival.populateMs);
    }
    return undefined;
  }

  stopVcpus(): void {
    this.advance();
    this.vcpusRunning = false;
  }

  resumeVcpus(): void {
    this.last = this.o.clock.now();
    this.vcpusRunning = true;
  }

  setThrottle(fraction: number): void {
    this.advance();
    this.throttle = fraction;
  }

  /** The migration is over: the bitmaps go back for the next guest's (the RAM must not be used again). */
  release(): void {
    for (const b of [this.nonZero, this.log, this.stale, this.sent, this.rxPages, this.readBefore]) b?.release();
  }

  stalePages(): number[] {
    return this.stale?.list() ?? [];
  }

  /** Receive frames DMA-written so far, and how many of them the dirty log did not see. */
  dmaStats(): { frames: number; untracked: number } {
    return { frames: this.dmaFrames, untracked: this.untrackedFrames };
  }
}
