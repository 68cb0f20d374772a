// What a page's first touch costs on this host now: fresh memory faulted in and zeroed by
// the kernel (touchPages, as the pinning thread does it). The destination measures it when a
// migration's Config arrives, so a prediction can use this host's figure of that minute: it
// varies several-fold within a minute here with the host's free-page reporting
// (docs/validation.md), so a profile measured earlier is not the run's physics (docs/live.md).

import { pageSize } from "./guest/layout.js";
import { touchPages } from "./guest/pages.js";

/** Pages the probe in each run touches: 64 MiB, 50-350 ms on this machine (3-20 us a page). */
export const firstTouchProbePages = (64 << 20) / pageSize;

export interface FirstTouch {
  /** CPU time (user and kernel, the whole process) per page: other jobs on the cores do not lengthen it. */
  cpuUs: number;
  /** Wall time per page. */
  wallUs: number;
  pages: number;
}

/**
 * Pages touched between two turns of the event loop: 1 MiB, 1-5 ms here. In one go, the 64 MiB
 * probe held the destination's loop for 0.3 s quiet and 1.1 s at load 15 (docs/live.md).
 */
const probeChunkPages = (1 << 20) / pageSize;

/**
 * Touches `pages` pages of a fresh SharedArrayBuffer once each, a chunk at a time with the
 * event loop turning between chunks; the figures add up the chunks only. Run it where nothing
 * else in the process works meanwhile (the CPU figure is the process's).
 */
export async function measureFirstTouch(pages = firstTouchProbePages): Promise<FirstTouch> {
  const words = new Int32Array(new SharedArrayBuffer(pages * pageSize));
  let cpuUs = 0;
  let wallMs = 0;
  for (let from = 0; from < pages; from += probeChunkPages) {
    if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const cpu0 = process.cpuUsage();
    const t = performance.now();
    touchPages(words, from, Math.min(pages, from + probeChunkPages));
    wallMs += performance.now() - t;
    const c = process.cpuUsage(cpu0);
    cpuUs += c.user + c.system;
  }
  return { cpuUs: cpuUs / pages, wallUs: (wallMs * 1000) / pages, pages };
}

/** A destination's first-touch figure, from the network: checked before it is believed. */
export function checkFirstTouch(v: unknown): FirstTouch | undefined {
  const f = v as Partial<FirstTouch> | undefined;
  const ok = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x >= 0 && x < 1e6;
  if (!ok(f?.cpuUs) || !ok(f!.wallUs) || !(Number.isInteger(f!.pages) && f!.pages! > 0)) return undefined;
  return { cpuUs: f!.cpuUs!, wallUs: f!.wallUs!, pages: f!.pages! };
}
