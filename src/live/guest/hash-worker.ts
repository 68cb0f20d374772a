// Hashes guest pages in a thread of its own, as they are marked pending (hasher.ts), so that
// the switch-over check needs only the pages marked last, not all of RAM, and no hashing runs
// on the path that sends or applies pages.

import { workerData } from "node:worker_threads";
import { hashPageOrZero, ramBuffer } from "./pages.js";
import { hashCtl, pollMs, type HashWorkerData } from "./hasher.js";
import { threadLoaded } from "./thread.js";

const d = workerData as HashWorkerData;
const words = new Int32Array(d.ram);
const buffer = ramBuffer(d.ram);
const pending = new Int32Array(d.pending);
const hashes = new Int32Array(d.hashes);
const ctl = new Int32Array(d.ctl);

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
    }
  }
}

threadLoaded();
for (;;) {
  const kicked = Atomics.load(ctl, hashCtl.kick);
  const requested = Atomics.load(ctl, hashCtl.requested);
  hashPending();
  if (Atomics.load(ctl, hashCtl.done) !== requested) {
    Atomics.store(ctl, hashCtl.done, requested);
    Atomics.notify(ctl, hashCtl.done);
  }
  if (Atomics.load(ctl, hashCtl.exit) !== 0) break;
  // Marks do not wake the thread (a wake per mark would cost the marker more than the hash):
  // it looks again after pollMs, or at once when someone settles.
  Atomics.wait(ctl, hashCtl.kick, kicked, pollMs);
}
