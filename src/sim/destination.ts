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

import { PageBitmap, type PageRuns } from "../core/bitmap.js";
import type { DestinationMemory } from "../core/device.js";

export class SimDestinationMemory implements DestinationMemory {
  private readonly populated: PageBitmap;

  /**
   * `msPerPage`: faulting in and zeroing one page of fresh host memory for a normal page;
   * `firstReadMs`: what a zero page's check adds where it populates the page (0: it does not).
   */
  constructor(
    pageCount: number,
    private readonly msPerPage: number,
    preallocated: boolean,
    private readonly firstReadMs = 0,
  ) {
    this.populated = new PageBitmap(pageCount);
    if (preallocated) this.populated.setAll();
  }

  /** The pages of `runs` arrive: ms of first-touch work for those new to the destination. */
  arrive(runs: PageRuns, nonZero: PageBitmap): number {
    let fresh = 0;
    let freshZero = 0;
    for (let r = 0; r < runs.count; r++) {
      const start = runs.starts[r];
      const end = start + runs.lengths[r];
      for (let p = nonZero.nextSet(start, end); p >= 0; p = nonZero.nextSet(p + 1, end)) {
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
    return fresh * this.msPerPage + freshZero * this.firstReadMs;
  }

  populateAll(): number {
    const fresh = this.populated.size - this.populated.count;
    this.populated.setAll();
    return fresh * this.msPerPage;
  }
}
