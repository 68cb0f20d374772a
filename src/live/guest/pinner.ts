// The destination's pinning (vdpa's DMA mapping of all guest RAM): every page faulted in by
// pin-worker.ts. The thread is started with the guest, so pinning costs only the pinning.

import { Worker } from "node:worker_threads";
import type { Guest } from "./guest.js";

export class Pinner {
  private readonly worker: Worker;
  private pinned: Promise<void> | undefined;

  constructor(guest: Guest) {
    this.worker = new Worker(new URL("./pin-worker.js", import.meta.url), { workerData: { ram: guest.ram, pageCount: guest.pageCount } });
    this.worker.unref();
  }

  /** Pins all of guest RAM (once); resolves when every page is in. */
  pin(): Promise<void> {
    this.pinned ??= new Promise<void>((resolve, reject) => {
      this.worker.once("message", () => resolve());
      this.worker.once("error", reject);
      this.worker.postMessage("pin");
    });
    return this.pinned;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
