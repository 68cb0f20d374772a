// The destination's guest RAM as host memory: which pages the destination's kernel has
// faulted in and zeroed. A destination QEMU started without -mem-prealloc (QEMU's default)
// maps guest RAM lazily, so the first normal page to arrive in each guest page costs a fault
// and a clear of fresh memory; a preallocated destination did that before the migration.
// A zero page's arrival only reads (QEMU's ram_handle_zero finds the page zero and leaves
// it), which maps the kernel's shared zero page and populates nothing. vDPA pinning is the
// same work: pinning faults in and zeroes every page not yet populated (early pinning does it
// beside the precopy, so pages arriving afterwards find their memory ready).

import { PageBitmap, type PageRuns } from "../core/bitmap.js";
import type { DestinationMemory } from "../core/device.js";

export class SimDestinationMemory implements DestinationMemory {
  private readonly populated: PageBitmap;

  /** `msPerPage`: faulting in and zeroing one page of fresh host memory. */
  constructor(
    pageCount: number,
    private readonly msPerPage: number,
    preallocated: boolean,
  ) {
    this.populated = new PageBitmap(pageCount);
    if (preallocated) this.populated.setAll();
  }

  /** The normal pages among `runs` arrive: ms of first-touch work for those new to the destination. */
  arrive(runs: PageRuns, nonZero: PageBitmap): number {
    let fresh = 0;
    for (let r = 0; r < runs.count; r++) {
      const end = runs.starts[r] + runs.lengths[r];
      for (let p = nonZero.nextSet(runs.starts[r], end); p >= 0; p = nonZero.nextSet(p + 1, end)) {
        if (this.populated.test(p)) continue;
        this.populated.set(p);
        fresh++;
      }
    }
    return fresh * this.msPerPage;
  }

  populateAll(): number {
    const fresh = this.populated.size - this.populated.count;
    this.populated.setAll();
    return fresh * this.msPerPage;
  }
}
