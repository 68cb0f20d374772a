// The destination's guest RAM as host memory: which pages the destination's kernel has
// faulted in and zeroed. A destination QEMU started without -mem-prealloc (QEMU's default)
// maps guest RAM lazily, so the first normal page to arrive in each guest page costs a fault
// and a clear of fresh memory; a preallocated destination did that before the migration.
// A zero page's arrival only reads (QEMU's ram_handle_zero finds the page zero and leaves
// it), which maps the kernel's shared zero page and populates nothing, except on a host whose
// kernel maps no shared zero page: there the read populates the page too (`firstReadMs`, the
// destination's twin of the source's first read; docs/validation.md, eighth round). vDPA pinning is the
// same work: pinning faults in and zeroes every page not yet populated (early pinning does it
// beside the precopy, so pages arriving afterwards find their memory ready).
//
// The destination applies the stream on its own thread (ram_load), behind the source: where
// it is the slower end (first arrivals at memory it must populate) the socket buffers between
// them fill and the source runs up to a buffer's worth of stream ahead, and what the buffers
// hold at the switch-over is applied inside the guest's pause (traced on QEMU 10.0:
// docs/validation.md, eighth round). Where it keeps up (memory populated) it waits on the
// stream and nothing queues.

import { PageBitmap, type PageRuns } from "../core/bitmap.js";
import type { DestinationMemory } from "../core/device.js";
import type { Clock } from "../core/ports.js";

/** What the pages of a run list cost the destination on arrival. */
export interface Arrival {
  /** Faulting in and zeroing the normal pages new to the destination, ms. */
  populateMs: number;
  /** What the zero check of zero pages new to it adds to the stream's time, ms. */
  zeroReadMs: number;
  /** Normal pages in the list. */
  normal: number;
}

/** The destination's load thread behind the stream: its work, and the stream bytes it has not applied. */
export interface LoadThread {
  clock: Clock;
  /** Stream bytes the socket buffers hold at most while the destination lags. */
  bufferBytes: number;
  /** The destination's copy of one normal page out of the stream into guest RAM, ms. */
  copyMsPerNormalPage: number;
}

export class SimDestinationMemory implements DestinationMemory {
  private readonly populated: PageBitmap;
  /** Slices accepted and not yet applied: their stream bytes, and when the destination starts and ends each. */
  private readonly queue: { bytes: number; startAt: number; doneAt: number }[] = [];
  private head = 0;
  private queuedBytes = 0;
  /** When the destination has applied everything accepted so far. */
  private freeAt = 0;

  /**
   * `msPerPage`: faulting in and zeroing one page of fresh host memory for a normal page;
   * `firstReadMs`: what a zero page's check adds where it populates the page (0: it does not);
   * `load`: the destination's thread behind the stream (absent: the stream waits for each
   * page's population, as one thread doing both would).
   */
  constructor(
    pageCount: number,
    private readonly msPerPage: number,
    preallocated: boolean,
    private readonly firstReadMs = 0,
    private readonly load?: LoadThread,
  ) {
    this.populated = new PageBitmap(pageCount);
    if (preallocated) this.populated.setAll();
  }

  /** The pages of `runs` arrive: they are populated from now on. */
  arrive(runs: PageRuns, nonZero: PageBitmap): Arrival {
    let fresh = 0;
    let freshZero = 0;
    let normal = 0;
    for (let r = 0; r < runs.count; r++) {
      const start = runs.starts[r];
      const end = start + runs.lengths[r];
      for (let p = nonZero.nextSet(start, end); p >= 0; p = nonZero.nextSet(p + 1, end)) {
        normal++;
        if (this.populated.test(p)) continue;
        this.populated.set(p);
        fresh++;
      }
      if (this.firstReadMs > 0) {
        // The normal pages are populated now, so what the run adds are its fresh zero pages.
        const before = this.populated.count;
        this.populated.setRange(start, end);
        freshZero += this.populated.count - before;
      }
    }
    return { populateMs: fresh * this.msPerPage, zeroReadMs: freshZero * this.firstReadMs, normal };
  }

  /** Whether the destination's thread works behind the stream (else the stream waits for each population). */
  get pipelined(): boolean {
    return this.load !== undefined;
  }

  /**
   * The destination takes `bytes` of stream holding `normal` pages whose population takes
   * `populateMs`: resolves when the source may go on (the socket buffers hold the rest).
   */
  async apply(bytes: number, normal: number, populateMs: number): Promise<void> {
    const load = this.load!;
    const clock = load.clock;
    const now = clock.now();
    this.retire(now);
    // Keeping up: its copy is inside the stream's own rate, so nothing waits or queues.
    if (populateMs === 0 && this.freeAt <= now) return;
    const startAt = Math.max(now, this.freeAt);
    this.freeAt = startAt + normal * load.copyMsPerNormalPage + populateMs;
    this.queue.push({ bytes, startAt, doneAt: this.freeAt });
    this.queuedBytes += bytes;
    // The source runs at most a buffer ahead: it waits until the destination has worked
    // through what the buffers cannot hold, at its pace within each slice.
    if (this.queuedBytes > load.bufferBytes) {
      const until = this.appliedThrough(this.queuedBytes - load.bufferBytes);
      if (until > now) await clock.sleep(until - now);
      this.retire(clock.now());
    }
  }

  /** When the destination will have applied the first `bytes` of its queue. */
  private appliedThrough(bytes: number): number {
    let left = bytes;
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i];
      if (e.bytes >= left) return e.startAt + ((e.doneAt - e.startAt) * left) / e.bytes;
      left -= e.bytes;
    }
    return this.freeAt;
  }

  /** Resolves once the destination has applied all it accepted. */
  async applied(): Promise<void> {
    const clock = this.load?.clock;
    if (clock && this.freeAt > clock.now()) await clock.sleep(this.freeAt - clock.now());
  }

  populateAll(): number {
    const fresh = this.populated.size - this.populated.count;
    this.populated.setAll();
    return fresh * this.msPerPage;
  }

  private retire(now: number): void {
    const q = this.queue;
    while (this.head < q.length && q[this.head].doneAt <= now) this.queuedBytes -= q[this.head++].bytes;
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
      this.queuedBytes = 0;
    }
  }
}
