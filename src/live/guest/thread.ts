// A helper thread that may be stopped at any moment, even before it has started: terminating
// a worker still loading its script leaves that script's file descriptor open in this process
// (seen on a loaded machine: a destination abandoned right after its Config kept one
// pin-worker.js descriptor per migration). So the script says when it is loaded
// (`threadLoaded`, its last top-level statement) and a stop waits for that first.

import { parentPort, Worker } from "node:worker_threads";

const loaded = "livemig:thread-loaded";

/** Called by a thread's script once it is loaded. */
export function threadLoaded(): void {
  parentPort!.postMessage(loaded);
}

export class Thread {
  readonly worker: Worker;
  /** Resolves once the script is loaded (or the thread is gone). */
  readonly up: Promise<void>;

  constructor(script: URL, workerData: unknown) {
    this.worker = new Worker(script, { workerData });
    this.worker.unref();
    this.up = new Promise((resolve) => {
      const onMessage = (m: unknown) => {
        if (m !== loaded) return;
        this.worker.off("message", onMessage);
        resolve();
      };
      this.worker.on("message", onMessage);
      this.worker.once("exit", () => resolve());
    });
  }

  async stop(): Promise<void> {
    await this.up;
    await this.worker.terminate();
  }
}
