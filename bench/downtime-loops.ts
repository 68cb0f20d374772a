// The live engine's work inside the downtime whose length is the guest's page count (issue 13:
// early pinning's downtime must not grow with RAM beyond the modelled unpinning). At switch-over
// with an idle guest ~290 pages are dirty (the NIC's rings and buffers, spread over RAM); what
// walks the whole RAM's bitmaps then: merging the final dirty-log read into the migration
// bitmap (the log read itself is the same word walk), each side's hashing of the marked pages
// and group digests (hasher.settle), and the final RAM walk for the dirty pages. Timed at
// 256 MiB and 2 GiB, best of 20. `node dist/bench/downtime-loops.js`; figures in docs/live.md.

import { loadavg } from "node:os";
import { PageBitmap } from "../src/core/bitmap.js";
import { PageHashing } from "../src/live/guest/page-hashes.js";
import { hashGroups } from "../src/live/guest/hasher.js";
import { pageSize } from "../src/live/guest/layout.js";

/** The NIC's pages at switch-over (4 rings, 288 buffer pages), as the idle runs show. */
const dirtyPages = 292;
const repeats = 20;

function set(words: Int32Array | Uint32Array, page: number): void {
  words[page >>> 5] |= 1 << (page & 31);
}

console.log(`load average ${loadavg()[0].toFixed(2)}`);
for (const mib of [256, 2048]) {
  const pages = (mib * 2 ** 20) / pageSize;
  const ram = new SharedArrayBuffer(pages * pageSize);
  const pending = new Int32Array(new SharedArrayBuffer(pages / 8));
  const hashing = new PageHashing({ ram, pending: pending.buffer as SharedArrayBuffer, hashes: new SharedArrayBuffer(pages * 4), digests: new SharedArrayBuffer(hashGroups(pages) * 4) }, false);
  const bitmap = new PageBitmap(pages);
  const log = new PageBitmap(pages);
  const stride = Math.floor(pages / dirtyPages);
  const best = { merge: Infinity, hash: Infinity, walk: Infinity };
  for (let r = 0; r < repeats; r++) {
    for (let p = 0; p < pages; p += stride) {
      set(log.words, p);
      set(pending, p);
    }
    let t = performance.now();
    bitmap.takeFrom(log);
    best.merge = Math.min(best.merge, performance.now() - t);
    t = performance.now();
    hashing.hashPending();
    best.hash = Math.min(best.hash, performance.now() - t);
    t = performance.now();
    for (let p = bitmap.nextSet(0); p >= 0; p = bitmap.nextSet(p + 1)) bitmap.clear(p);
    best.walk = Math.min(best.walk, performance.now() - t);
  }
  const f = (ms: number) => `${ms.toFixed(3)} ms`;
  console.log(`${mib} MiB: merge of the final dirty log ${f(best.merge)}, hashing ${dirtyPages} marked pages and digests ${f(best.hash)}, walk to the dirty pages ${f(best.walk)}`);
}
console.log(`load average ${loadavg()[0].toFixed(2)}`);
