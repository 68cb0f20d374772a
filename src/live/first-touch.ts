// What a page's first touch costs on this host now: fresh memory faulted in and zeroed by
// the kernel (touchPages, as the pinning thread does it). The destination measures it when a
// migration's Config arrives, so a prediction can use this host's figure of that minute: it
// varies several-fold within a minute here with the host's free-page reporting
// (docs/validation.md), so a profile measured earlier is not the run's physics (docs/live.md).

import { pageSize } from "./guest/layout.js";
import { touchPages } from "./guest/pages.js";

/** Pages the probe in each run touches: 64 MiB, 50-350 ms on this machine (3-20 us a page). */
export const firstTouchProbePages = (64 << 20) / pageSize;

/** A per-page figure the destination measures at Config (first touch, apply-probe.ts's apply). */
export interface PageProbe {
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
 * Runs `work(i)` for each of `chunks` chunks, the event loop turning between them, and returns
 * the CPU time (the process's) and wall time of the work alone, summed; `prepare(i)`, untimed,
 * runs before each. Run it where nothing else in the process works meanwhile.
 */
export async function timeChunks(chunks: number, work: (chunk: number) => void, prepare?: (chunk: number) => void): Promise<{ cpuUs: number; wallUs: number }> {
  let cpuUs = 0;
  let wallMs = 0;
  for (let i = 0; i < chunks; i++) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    prepare?.(i);
    const cpu0 = process.cpuUsage();
    const t = performance.now();
    work(i);
    wallMs += performance.now() - t;
    const c = process.cpuUsage(cpu0);
    cpuUs += c.user + c.system;
  }
  return { cpuUs, wallUs: wallMs * 1000 };
}

/**
 * Touches `pages` pages of `ram` (fresh: never touched) once each, a chunk at a time with the
 * event loop turning between chunks; the figures add up the chunks only.
 */
export async function measureFirstTouch(pages = firstTouchProbePages, ram = new SharedArrayBuffer(pages * pageSize)): Promise<PageProbe> {
  const words = new Int32Array(ram, 0, (pages * pageSize) / 4);
  const chunks = Math.ceil(pages / probeChunkPages);
  const t = await timeChunks(chunks, (i) => touchPages(words, i * probeChunkPages, Math.min(pages, (i + 1) * probeChunkPages)));
  return { cpuUs: t.cpuUs / pages, wallUs: t.wallUs / pages, pages };
}

/** A destination's per-page figure, from the network: checked before it is believed. */
export function checkPageProbe(v: unknown): PageProbe | undefined {
  const f = v as Partial<PageProbe> | undefined;
  const ok = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x >= 0 && x < 1e6;
  if (!ok(f?.cpuUs) || !ok(f!.wallUs) || !(Number.isInteger(f!.pages) && f!.pages! > 0)) return undefined;
  return { cpuUs: f!.cpuUs!, wallUs: f!.wallUs!, pages: f!.pages! };
}
