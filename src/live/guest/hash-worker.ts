// Hashes guest pages in a thread of its own, as they are marked pending (hasher.ts), so that
// the switch-over check needs only the pages marked last, not all of RAM, and no hashing runs
// on the path that sends or applies pages.

import { workerData } from "node:worker_threads";
import { groupDigest, hashGroupPages, hashPageOrZero, ramBuffer } from "./pages.js";
import { hashCtl, pollMs, type HashWorkerData } from "./hasher.js";
import { threadLoaded } from "./thread.js";

const d = workerData as HashWorkerData;
const words = new Int32Array(d.ram);
const buffer = ramBuffer(d.ram);
const pending = new Int32Array(d.pending);
const hashes = new Int32Array(d.hashes);
const ctl = new Int32Array(d.ctl);
const digests = new Int32Array(d.digests);
/** Groups with a page hashed since their digest was last computed (all, at first). */
const staleGroups = new Uint8Array(digests.length).fill(1);

/** Recomputes the digests of the groups whose pages were hashed again (each round, so a settle finds few). */
function updateDigests(): void {
  for (let g = 0; g < staleGroups.length; g++) {
    if (staleGroups[g] === 0) continue;
    staleGroups[g] = 0;
    Atomics.store(digests, g, groupDigest(hashes, g));
  }
}

/** Takes every pending bit (read-and-clear, so a page marked meanwhile is hashed again) and hashes its page. */
function hashPending(): void {
  for (let i = 0; i < pending.length; i++) {
    if (Atomics.load(pending, i) === 0) continue;
    let w = Atomics.exchange(pending, i, 0);
    while (w !== 0) {
      const bit = 31 - Math.clz32(w & -w);
      w &= w - 1;
      const page = (i << 5) + bit;
      Atomics.store(hashes, page, hashPageOrZero(buffer, words, page));
      staleGroups[(page / hashGroupPages) | 0] = 1;
    }
  }
}

threadLoaded();
for (;;) {
  const kicked = Atomics.load(ctl, hashCtl.kick);
  const requested = Atomics.load(ctl, hashCtl.requested);
  hashPending();
  updateDigests();
  if (Atomics.load(ctl, hashCtl.done) !== requested) {
    Atomics.store(ctl, hashCtl.done, requested);
    Atomics.notify(ctl, hashCtl.done);
  }
  if (Atomics.load(ctl, hashCtl.exit) !== 0) break;
  // Marks do not wake the thread (a wake per mark would cost the marker more than the hash):
  // it looks again after pollMs (when polling), or at once when someone settles.
  Atomics.wait(ctl, hashCtl.kick, kicked, d.poll ? pollMs : Infinity);
}
