// A VF whose DMA writes are tracked by the IOMMU (dirty bits) or by the device itself
// (VFIO migration v2 DMA logging). Each sync reads and clears the log, a cost that grows
// with mapped RAM; device state moves in PRE_COPY and STOP_COPY.

import * as z from "../../zod.js";
import { GiB } from "../params.js";
import { nicReady, nicSuspended } from "../device.js";
import { defineStrategy } from "./strategy.js";
import { vfCosts } from "./vf.js";

export const vfTrackedCosts = {
  dirtyLogReadMsPerGiB: {
    value: 1,
    unit: "ms/GiB",
    source: "read-and-clear of IO page-table dirty bits: 2 MiB of PTEs per GiB at 4 KiB granularity, walked and rewritten at ~2 GB/s, plus an IOTLB flush; no published figure (reference §9)",
  },
  preCopyBytes: {
    value: 4 << 20,
    unit: "B",
    source: "VFIO PRE_COPY initial data of a NIC VF, assumed 4 MiB",
  },
  stopCopyBytes: vfCosts.stopCopyBytes,
  stopMs: {
    value: 5,
    unit: "ms",
    source: "RUNNING -> STOP_COPY transition: the device quiesces its queues; assumed",
  },
  resumeMs: vfCosts.resumeMs,
} as const;

export const vfTracked = defineStrategy({
  kind: "vf-tracked",
  summary: "VF with IOMMU or device DMA dirty tracking (VFIO migration v2)",
  costs: vfTrackedCosts,
  options: z.strictObject({ trackDma: z._default(z.boolean(), true) }),
  create(options, costs, vm) {
    const logReadMs = (costs.dirtyLogReadMsPerGiB * vm.ramBytes) / GiB;
    return {
      kind: "vf-tracked",
      dmaLogged: () => options.trackDma,
      async sync(ctx) {
        await ctx.work("device dirty-log read", "dirty-log-read", "source", logReadMs);
      },
      preCopyBytes: () => costs.preCopyBytes,
      stateBytes: () => costs.stopCopyBytes,
      async stop(ctx) {
        await ctx.work("VF STOP_COPY", "device-stop", "source", costs.stopMs);
        nicSuspended(ctx, "vf-tracked");
      },
      async start(ctx) {
        await ctx.work("VF resume", "device-start", "destination", costs.resumeMs);
        nicReady(ctx, "vf-tracked");
      },
    };
  },
});
