// The hypervisor's handle on the guest network thread (fabric-worker.ts).

import { Worker } from "node:worker_threads";
import type { FabricCommand } from "./fabric-worker.js";
import type { ProbeRecord } from "./prober.js";

export class Fabric {
  private constructor(
    private readonly worker: Worker,
    /** The switch's UDP port. */
    readonly port: number,
  ) {}

  static async start(host: string): Promise<Fabric> {
    const worker = new Worker(new URL("./fabric-worker.js", import.meta.url), { workerData: { host } });
    const port = await new Promise<number>((resolve, reject) => {
      worker.once("error", reject);
      worker.once("message", (m: { port: number }) => resolve(m.port));
    });
    return new Fabric(worker, port);
  }

  private send(c: FabricCommand): void {
    this.worker.postMessage(c);
  }

  probe(target: string, intervalMs: number): void {
    this.send({ cmd: "probe", target, intervalMs });
  }

  traffic(target: string, framesPerSecond: number, frameBytes: number): void {
    this.send({ cmd: "traffic", target, framesPerSecond, frameBytes });
  }

  /** Stops probing and returns every request and reply, after `settleMs` for replies in flight. */
  stopProbe(settleMs = 50): Promise<{ record: ProbeRecord; moves: number }> {
    return new Promise((resolve) => {
      this.worker.once("message", resolve);
      this.send({ cmd: "stop-probe", settleMs });
    });
  }

  async close(): Promise<void> {
    this.send({ cmd: "close" });
    await this.worker.terminate();
  }
}
