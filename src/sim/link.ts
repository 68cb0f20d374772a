// The migration link of a single-VM simulation: the shared network with one flow on one link,
// which sends at the link's bandwidth (the sender blocks, as a full socket buffer would), and
// one-way latency before the last byte arrives.

import type { Channel } from "../core/ports.js";
import type { VirtualClock } from "./clock.js";
import { SharedNetwork, type Flow } from "./network.js";

export interface LinkSpec {
  /** Bytes per second. */
  bandwidth: number;
  latencyMs: number;
}

export class SimLink implements Channel {
  private readonly flow: Flow;

  constructor(clock: VirtualClock, link: LinkSpec) {
    const network = new SharedNetwork(clock);
    this.flow = network.flow({ path: [network.link("link", link.bandwidth)], cap: 0, ceiling: Infinity, latencyMs: link.latencyMs });
  }

  send(bytes: number): Promise<void> {
    return this.flow.send(bytes);
  }

  sendSections(bytes: number, count: number): Promise<void> {
    return this.flow.sendSections(bytes, count);
  }

  drain(): Promise<void> {
    return this.flow.drain();
  }
}
