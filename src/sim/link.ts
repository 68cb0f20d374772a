// The migration link: serialisation at the link's bandwidth (the sender blocks, as a full
// socket buffer would), and one-way latency before the last byte arrives.

import type { Channel, Clock } from "../core/ports.js";

export interface LinkSpec {
  /** Bytes per second. */
  bandwidth: number;
  latencyMs: number;
}

export class SimLink implements Channel {
  constructor(
    private readonly clock: Clock,
    private readonly link: LinkSpec,
  ) {}

  async send(bytes: number): Promise<void> {
    await this.clock.sleep((bytes * 1000) / this.link.bandwidth);
  }

  async drain(): Promise<void> {
    await this.clock.sleep(this.link.latencyMs);
  }
}
