// An SR-IOV VF with no dirty tracking (no device DMA logging, no IOMMU dirty bits).
// QEMU blocks migration (enable-migration=auto); `force: true` is enable-migration=on:
// every sync must assume the device wrote anywhere, so all mapped RAM is dirty each pass.

import * as z from "../../zod.js";
import { nicReady, nicSuspended } from "../device.js";
import { defineStrategy } from "./strategy.js";

export const vfBlockedReason = "VFIO device doesn't support device and IOMMU dirty tracking";

export const vfCosts = {
  stopCopyBytes: {
    value: 1 << 20,
    unit: "B",
    source: "VFIO STOP_COPY data of a NIC VF: queue and filter context, assumed 1 MiB (mlx5 VFs report a few MiB at most)",
  },
  resumeMs: {
    value: 20,
    unit: "ms",
    source: "VFIO RESUMING -> RUNNING on the destination: device firmware restores queues; assumed, order of one firmware command batch",
  },
} as const;

export const vf = defineStrategy({
  kind: "vf",
  summary: "VF without dirty tracking: blocked, or with force every sync dirties all RAM",
  costs: vfCosts,
  options: z.strictObject({ force: z._default(z.boolean(), false) }),
  create(options, costs) {
    return {
      kind: "vf",
      vfioMigration: true,
      dmaLogged: () => false,
      blockedReason: () => (options.force ? undefined : vfBlockedReason),
      async sync(_ctx, bitmap) {
        // The device may have written any mapped page.
        bitmap.setAll();
      },
      stateBytes: () => costs.stopCopyBytes,
      async stop(ctx) {
        nicSuspended(ctx, "vf");
      },
      async start(ctx) {
        await ctx.work("VF resume", "device-start", "destination", costs.resumeMs);
        nicReady(ctx, "vf");
      },
    };
  },
});
