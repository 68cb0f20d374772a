// What the source's zero check costs a page the guest never wrote: the migration thread's walk
// compares each such page with zero (runOfKind, QEMU's buffer_is_zero), and an idle part of
// RAM is mostly such pages, so this rate sets how long a pass spends on them, and with it
// the bytes a bandwidth window at a pass's end holds (docs/live.md, tenth round). The source
// measures it when a migration starts, over fresh memory read once first (mapped, as the
// guest's untouched RAM is at boot: guest.ts), so `run --predict` gives the simulator's page
// read (MachineProfile.pageReadBytesPerSecond, otherwise a server core's 15 GB/s) this host's
// figure of that minute.

import { timeChunks, type PageProbe } from "./first-touch.js";
import { pageSize, wordsPerPage } from "./guest/layout.js";
import { runOfKind } from "./guest/pages.js";

/** Pages the probe compares: 64 MiB, as the destination's first-touch probe. */
export const zeroProbePages = (64 << 20) / pageSize;
/** Pages compared between two turns of the event loop: the walk's largest chunk (runChunkMaxPages). */
const probeChunkPages = 4096;

export async function measureZeroCheck(pages = zeroProbePages): Promise<PageProbe> {
  const ram = new SharedArrayBuffer(pages * pageSize);
  const words = new Int32Array(ram);
  const buffer = Buffer.from(ram);
  for (let p = 0; p < pages; p++) Atomics.load(words, p * wordsPerPage);
  const chunks = Math.ceil(pages / probeChunkPages);
  let found = 0;
  const t = await timeChunks(chunks, (i) => {
    const from = i * probeChunkPages;
    found += runOfKind(buffer, words, from, Math.min(pages, from + probeChunkPages) - from, true);
  });
  if (found !== pages) throw new Error(`measureZeroCheck: ${pages - found} pages of fresh memory were not zero`);
  return { cpuUs: t.cpuUs / pages, wallUs: t.wallUs / pages, pages };
}
