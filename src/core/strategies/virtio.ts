// Emulated virtio-net (vhost-net): the hypervisor performs every DMA, so the vCPU dirty log
// sees the NIC's writes; the NIC is lost only while the VM is stopped.

import * as z from "../../zod.js";
import { nicReady, nicSuspended } from "../device.js";
import { defineStrategy } from "./strategy.js";

export const virtioCosts = {
  stateBytes: {
    value: 4096,
    unit: "B",
    source: "virtio-net vmstate: PCI config space (4 KiB) dominates; queue indices and MAC table are bytes",
  },
  loadUsPerQueue: {
    value: 1.75,
    unit: "us",
    source: "iterative virtio-net RFC (2025): 3594 us to load 1024 queues walked twice = 1.75 us per queue walk",
  },
  vhostStartMs: {
    value: 1,
    unit: "ms",
    source: "vhost-net start: a few ioctls per queue (SET_VRING_*), well under 1 ms each; 1 ms rounded up",
  },
} as const;

export const virtio = defineStrategy({
  kind: "virtio",
  summary: "emulated virtio-net: DMA is the hypervisor's, so it is dirty-logged",
  costs: virtioCosts,
  options: z.strictObject({ queuePairs: z._default(z.int().check(z.minimum(1), z.maximum(256)), 1) }),
  create(options, costs) {
    const queues = options.queuePairs * 2 + 1;
    return {
      kind: "virtio",
      dmaLogged: () => true,
      stateBytes: () => costs.stateBytes,
      async stop(ctx) {
        nicSuspended(ctx, "virtio");
      },
      async load(ctx) {
        await ctx.work("virtio-net load", "device-load", "destination", (costs.loadUsPerQueue * 2 * queues) / 1000);
      },
      async start(ctx) {
        await ctx.work("vhost-net start", "device-start", "destination", costs.vhostStartMs);
        nicReady(ctx, "virtio");
      },
    };
  },
});
