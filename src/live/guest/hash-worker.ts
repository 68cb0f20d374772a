// Hashes guest pages in a thread of its own, as they are marked pending (hasher.ts), so that
// the switch-over check needs only the pages marked last, not all of RAM, and no hashing runs
// on the path that sends or applies pages.

import { workerData } from "node:worker_threads";
import { hashCtl, pollMs, type HashWorkerData } from "./hasher.js";
import { PageHashing } from "./page-hashes.js";
import { threadLoaded } from "./thread.js";

const d = workerData as HashWorkerData;
const ctl = new Int32Array(d.ctl);
const hashing = new PageHashing(d, true);

threadLoaded();
for (;;) {
  const kicked = Atomics.load(ctl, hashCtl.kick);
  const requested = Atomics.load(ctl, hashCtl.requested);
  hashing.hashPending();
  if (Atomics.load(ctl, hashCtl.done) !== requested) {
    Atomics.store(ctl, hashCtl.done, requested);
    Atomics.notify(ctl, hashCtl.done);
  }
  if (Atomics.load(ctl, hashCtl.exit) !== 0) break;
  // Marks do not wake the thread (a wake per mark would cost the marker more than the hash):
  // it looks again after pollMs, or at once when someone settles.
  Atomics.wait(ctl, hashCtl.kick, kicked, pollMs);
}
