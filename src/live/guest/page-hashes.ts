// The hashing of marked pages, wherever it runs: in the hash thread (hash-worker.ts), beside
// the stream, or on the thread that settles (hasher.ts), when only a few pages are marked
// right before the comparison.

import { digestTerm, hashGroupPages, hashPage, hashPageOrZero, ramBuffer } from "./pages.js";

export interface PageHashBuffers {
  ram: SharedArrayBuffer;
  /** A bit per page: marked, to be hashed (again). */
  pending: SharedArrayBuffer;
  /** A hash per page. */
  hashes: SharedArrayBuffer;
  /** A digest per group of hashGroupPages pages. */
  digests: SharedArrayBuffer;
}

export class PageHashing {
  private readonly buffer: Buffer;
  private readonly pending: Int32Array;
  private readonly hashes: Int32Array;
  private readonly digests: Int32Array;

  /**
   * `zeroFirst`: check for a zero page before hashing, for RAM that is mostly zero (every page
   * hashed, beside the stream): the memcmp costs ~0.2 us a page, the hash ~1 us. For the NIC's
   * few hundred pages hashed inside the downtime, mostly data, the check's first calls cost more
   * than the hash (1.1-1.2 ms for 292 pages without it, 2.4-2.8 ms with, in a fresh process), and
   * a zero page hashes to the zero page's hash anyway.
   */
  constructor(b: PageHashBuffers, private readonly zeroFirst: boolean) {
    this.buffer = ramBuffer(b.ram);
    this.pending = new Int32Array(b.pending);
    this.hashes = new Int32Array(b.hashes);
    this.digests = new Int32Array(b.digests);
  }

  /**
   * Takes every pending bit (read-and-clear, so a page marked meanwhile is hashed again) and
   * hashes its page; only in `words` (indices into the pending bitmap) where given. The whole
   * bitmap is 16,384 words at 2 GiB, and its first scan, inside the downtime, ran ~1 ms.
   */
  hashPending(words?: ArrayLike<number>): void {
    const { pending } = this;
    if (words) for (let k = 0; k < words.length; k++) this.hashWord(words[k]);
    else for (let i = 0; i < pending.length; i++) if (Atomics.load(pending, i) !== 0) this.hashWord(i);
  }

  private hashWord(i: number): void {
    const { hashes, digests } = this;
    let w = Atomics.exchange(this.pending, i, 0);
    while (w !== 0) {
      const bit = 31 - Math.clz32(w & -w);
      w &= w - 1;
      const page = (i << 5) + bit;
      const was = hashes[page];
      const now = this.zeroFirst ? hashPageOrZero(this.buffer, page) : hashPage(this.buffer, page);
      if (now === was) continue;
      Atomics.store(hashes, page, now);
      // The group's digest stays current: this page's share out, its new one in (pages.ts).
      const group = (page / hashGroupPages) | 0;
      Atomics.store(digests, group, (digests[group] - digestTerm(page, was) + digestTerm(page, now)) | 0);
    }
  }
}
