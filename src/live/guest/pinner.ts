// The destination's pinning (vdpa's DMA mapping of all guest RAM): every page faulted in by
// pin-worker.ts. The thread is started with the guest, so pinning costs only the pinning.

import { Thread } from "./thread.js";
import type { Guest } from "./guest.js";

/**
 * What pinning all of guest RAM took its thread: wall time, CPU, and waiting runnable for a
 * core (ms); and the page faults it took, i.e. the pages it found unpopulated.
 */
export interface PinTimes {
  wallMs: number;
  cpuMs: number;
  waitMs: number;
  faults: number;
}

export class Pinner {
  private readonly thread: Thread;
  private pinned: Promise<PinTimes | undefined> | undefined;

  constructor(guest: Guest) {
    this.thread = new Thread(new URL("./pin-worker.js", import.meta.url), { ram: guest.ram, pageCount: guest.pageCount });
  }

  /** Pins all of guest RAM (once); resolves when every page is in, with the thread's times (where Linux gives them). */
  pin(): Promise<PinTimes | undefined> {
    const worker = this.thread.worker;
    this.pinned ??= this.thread.up.then(
      () =>
        new Promise<PinTimes | undefined>((resolve, reject) => {
          worker.once("message", (times: PinTimes | null) => resolve(times ?? undefined));
          worker.once("error", reject);
          worker.postMessage("pin");
        }),
    );
    return this.pinned;
  }

  async close(): Promise<void> {
    await this.thread.stop();
  }
}
