// The hashing of marked pages, wherever it runs: in the hash thread (hash-worker.ts), beside
// the stream, or on the thread that settles (hasher.ts), when only a few pages are marked
// right before the comparison.

import { groupDigest, hashGroupPages, hashPage, hashPageOrZero, ramBuffer } from "./pages.js";

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
  /** Groups with a page hashed since their digest was last computed (none at first: the digests given are current). */
  private readonly staleGroups: Uint8Array;

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
    this.staleGroups = new Uint8Array(this.digests.length);
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
    const { hashes, staleGroups } = this;
    let w = Atomics.exchange(this.pending, i, 0);
    while (w !== 0) {
      const bit = 31 - Math.clz32(w & -w);
      w &= w - 1;
      const page = (i << 5) + bit;
      Atomics.store(hashes, page, this.zeroFirst ? hashPageOrZero(this.buffer, page) : hashPage(this.buffer, page));
      staleGroups[(page / hashGroupPages) | 0] = 1;
    }
  }

  /** Recomputes the digests of the groups whose pages were hashed again (each round, so a settle finds few). */
  updateDigests(): void {
    const { staleGroups } = this;
    for (let g = 0; g < staleGroups.length; g++) {
      if (staleGroups[g] === 0) continue;
      staleGroups[g] = 0;
      Atomics.store(this.digests, g, groupDigest(this.hashes, g));
    }
  }
}
