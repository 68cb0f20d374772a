// A hash per guest page, kept current for the pages whoever changes them marks pending
// (`mark`); `settle` resolves once everything marked before it is hashed. Source: RAM is
// marked all at the start of dirty logging, then at each sync the pages the dirty log names,
// and at the final sync the NIC's region (the only pages a writer outside the dirty log,
// untracked DMA, can reach); so when the vCPUs and the NIC are stopped, settling hashes only
// what changed last. Destination: each run as it is applied. When every page is compared,
// a thread of its own (hash-worker.ts) hashes beside the stream; when only the NIC's pages
// are (the default), the few hundred marked right before the comparison are hashed on the
// thread that settles (~1 ms), not handed to a thread that must first be woken and get a
// core (3-13 ms of the downtime at load 10-13, docs/live.md).
// A settled hasher also has a digest per group of pages (hashGroupPages), kept current for
// the groups whose pages changed: the two sides compare those first, then the page hashes
// of the groups that differ.

import { Thread } from "./thread.js";
import type { Guest } from "./guest.js";
import { groupDigest, hashGroupPages, zeroPageHash } from "./pages.js";
import { PageHashing, type PageHashBuffers } from "./page-hashes.js";

export interface HashWorkerData extends PageHashBuffers {
  ctl: SharedArrayBuffer;
}

/** Indices into the hasher's control words. */
/** How often the thread looks for marked pages when nobody waits for it. */
export const pollMs = 1;

export const hashCtl = { kick: 0, requested: 1, done: 2, exit: 3 } as const;

type WaitAsync = (a: Int32Array, index: number, value: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class RamHasher {
  /** Hashing beside the stream (every page compared), or on the settling thread. */
  private readonly thread: Thread | undefined;
  private readonly here: PageHashing | undefined;
  private readonly pending: Int32Array;
  private readonly hashes: Int32Array;
  private readonly digests: Int32Array;
  private readonly ctl = new Int32Array(new SharedArrayBuffer(32));

  constructor(
    private readonly guest: Guest,
    /**
     * Whether pages are marked while the stream runs (every page compared), so that a thread
     * keeps up by polling; otherwise marks come right before a settle, which hashes them
     * itself (a thread polling an empty bitmap every 1 ms cost 634 ms of a 12 s run at load 16).
     */
    poll: boolean,
  ) {
    this.pending = new Int32Array(new SharedArrayBuffer(Math.ceil(guest.pageCount / 32) * 4));
    // A fresh page is zero: its hash is known without hashing it.
    this.hashes = new Int32Array(new SharedArrayBuffer(guest.pageCount * 4)).fill(zeroPageHash | 0);
    this.digests = new Int32Array(new SharedArrayBuffer(hashGroups(guest.pageCount) * 4));
    for (let g = 0; g < this.digests.length; g++) this.digests[g] = groupDigest(this.hashes, g);
    const buffers: PageHashBuffers = {
      ram: guest.ram,
      pending: this.pending.buffer as SharedArrayBuffer,
      hashes: this.hashes.buffer as SharedArrayBuffer,
      digests: this.digests.buffer as SharedArrayBuffer,
    };
    if (poll) this.thread = new Thread(new URL("./hash-worker.js", import.meta.url), { ...buffers, ctl: this.ctl.buffer as SharedArrayBuffer } satisfies HashWorkerData);
    else this.here = new PageHashing(buffers, false);
  }

  /**
   * Pending words marked since the last settle, when it hashes them itself (no thread): the
   * few hundred NIC pages' words, so a settle need not scan the whole pending bitmap.
   */
  private readonly markedWords: number[] = [];

  /** Pages [from, to) changed: hash them (again). The thread looks every `pollMs` (hash-worker.ts). */
  mark(from: number, to: number): void {
    const p = this.pending;
    for (let i = from >>> 5; i <= (to - 1) >>> 5 && from < to; i++) {
      if (this.here) this.markedWords.push(i);
      const lo = i === from >>> 5 ? from & 31 : 0;
      const hi = i === (to - 1) >>> 5 ? ((to - 1) & 31) + 1 : 32;
      Atomics.or(p, i, hi - lo === 32 ? -1 : ((1 << (hi - lo)) - 1) << lo);
    }
  }

  /** The pages set in `words` (a page bitmap's words) changed. */
  markWords(words: Uint32Array): void {
    for (let i = 0; i < words.length; i++) {
      if (words[i] === 0) continue;
      Atomics.or(this.pending, i, words[i] | 0);
      if (this.here) this.markedWords.push(i);
    }
  }

  markAll(): void {
    this.mark(0, this.guest.pageCount);
  }

  /** Wakes the thread at once (a futex call, ~15 us here: for settling, not for every mark). */
  private kick(): void {
    Atomics.add(this.ctl, hashCtl.kick, 1);
    Atomics.notify(this.ctl, hashCtl.kick);
  }

  /** Resolves once the pages marked so far are hashed and their groups' digests current. */
  async settle(): Promise<void> {
    if (this.here) {
      this.here.hashPending(this.markedWords);
      this.markedWords.length = 0;
      return;
    }
    const wanted = Atomics.add(this.ctl, hashCtl.requested, 1) + 1;
    this.kick();
    for (let done = Atomics.load(this.ctl, hashCtl.done); done - wanted < 0; done = Atomics.load(this.ctl, hashCtl.done)) {
      const w = waitAsync(this.ctl, hashCtl.done, done);
      if (w.async) await w.value;
    }
  }

  /** Every group's digest (a copy), as of the last settle. */
  groupDigests(): Uint32Array {
    return new Uint32Array(this.digests.buffer).slice();
  }

  /** The page hashes of `groups`, group after group (a copy), as of the last settle. */
  groupHashes(groups: ArrayLike<number>): Uint32Array {
    const all = new Uint32Array(this.hashes.buffer);
    const out = new Uint32Array(groups.length * hashGroupPages);
    for (let i = 0; i < groups.length; i++) {
      const from = groups[i] * hashGroupPages;
      out.set(all.subarray(from, Math.min(all.length, from + hashGroupPages)), i * hashGroupPages);
    }
    return out;
  }

  async close(): Promise<void> {
    if (!this.thread) return;
    Atomics.store(this.ctl, hashCtl.exit, 1);
    this.kick();
    await this.thread.stop();
  }
}

/** Groups of the switch-over comparison in a guest of `pageCount` pages. */
export function hashGroups(pageCount: number): number {
  return Math.ceil(pageCount / hashGroupPages);
}
