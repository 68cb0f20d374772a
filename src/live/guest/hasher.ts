// The source's page hashes at switch-over, computed by hash-worker.ts. The thread is started
// with the migration, so asking for the hashes costs only the hashing.

import { Worker } from "node:worker_threads";
import type { Guest } from "./guest.js";

export class RamHasher {
  private readonly worker: Worker;
  private result: Promise<Uint32Array> | undefined;

  constructor(guest: Guest) {
    this.worker = new Worker(new URL("./hash-worker.js", import.meta.url), { workerData: { ram: guest.ram, pageCount: guest.pageCount } });
    this.worker.unref();
  }

  /** Starts hashing now (RAM must not change any more) unless already started. */
  start(): Promise<Uint32Array> {
    this.result ??= new Promise<Uint32Array>((resolve, reject) => {
      this.worker.once("message", resolve);
      this.worker.once("error", reject);
      this.worker.postMessage("hash");
    });
    return this.result;
  }

  get started(): boolean {
    return this.result !== undefined;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
