// A VF whose DMA writes are tracked by the IOMMU (IOMMUFD dirty bits) or by the device itself
// (VFIO migration v2 DMA logging). Each sync reads and clears the log; device state moves in
// PRE_COPY (while the guest runs) and STOP_COPY. The destination allocates the device's
// resources once the PRE_COPY data has arrived; with QEMU's `switchover-ack` capability the
// source does not stop the guest before that is done, without it what is left of the
// allocation lands in the downtime.

import * as z from "../../zod.js";
import { GiB } from "../params.js";
import { nicReady, nicSuspended } from "../device.js";
import { defineStrategy } from "./strategy.js";
import { vfCosts } from "./vf.js";

const MiB = 2 ** 20;

export const vfTrackedCosts = {
  dirtyLogReadMsPerGiB: {
    value: 1,
    unit: "ms/GiB",
    source: "tracker iommufd: read-and-clear of IO page-table dirty bits (IOMMU_HWPT_GET_DIRTY_BITMAP): 2 MiB of PTEs per GiB at 4 KiB granularity, walked and rewritten at ~2 GB/s, plus an IOTLB flush; no published figure (reference §9). Base-page IO PTEs are what fine-grained tracking needs: with 2 MiB IO pages the walk is 512x shorter but one DMA write dirties 512 pages",
  },
  deviceLogQueryMs: {
    value: 0.5,
    unit: "ms",
    source: "tracker device: one VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT per sync; the device (mlx5 page tracker) reports only the pages it saw written, so the cost is a firmware query and a report-buffer drain rather than a walk of all mapped RAM; assumed, no published figure",
  },
  preCopyBytes: {
    value: 4 << 20,
    unit: "B",
    source: "VFIO PRE_COPY initial data of a NIC VF, assumed 4 MiB",
  },
  stopCopyBytes: vfCosts.stopCopyBytes,
  allocationMsPerMiB: {
    value: 5.17,
    unit: "ms/MiB",
    source: "destination resource allocation when the PRE_COPY initial data is loaded: Horon's switchover-ack series (QEMU 8.1) measured an mlx5 VF with ~300 MB of state at ~1900 ms downtime without the ack and ~420 ms with it, the difference being this allocation: 1480 ms / 286 MiB. Assumed proportional to the initial data, which describes what to allocate",
  },
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
  options: z.strictObject({
    trackDma: z._default(z.boolean(), true),
    tracker: z._default(z.enum(["iommufd", "device"]), "iommufd"),
    /** QEMU's migration capability `switchover-ack`. */
    switchoverAck: z._default(z.boolean(), false),
  }),
  create(options, costs, vm) {
    const logReadMs = options.tracker === "device" ? costs.deviceLogQueryMs : (costs.dirtyLogReadMsPerGiB * vm.ramBytes) / GiB;
    const allocationMs = (costs.allocationMsPerMiB * costs.preCopyBytes) / MiB;
    let allocation: Promise<void> | undefined;
    let allocated = false;
    return {
      kind: "vf-tracked",
      vfioMigration: true,
      dmaLogged: () => options.trackDma,
      async sync(ctx) {
        await ctx.work(options.tracker === "device" ? "device DMA log report" : "IOMMU dirty bitmap read", "dirty-log-read", "source", logReadMs);
      },
      preCopyBytes: () => costs.preCopyBytes,
      preCopyArrived(ctx) {
        allocation = ctx.clock.spawn(async () => {
          await ctx.work("allocate device resources (PRE_COPY data loaded)", "device-allocation", "destination", allocationMs);
          allocated = true;
        });
      },
      switchoverAcked: () => !options.switchoverAck || allocated,
      stateBytes: () => costs.stopCopyBytes,
      async stop(ctx) {
        await ctx.work("VF STOP_COPY", "device-stop", "source", costs.stopMs);
        nicSuspended(ctx, "vf-tracked");
      },
      async load(ctx) {
        // The STOP_COPY data can be loaded only into allocated resources.
        if (allocation && !allocated) await ctx.work("wait for device resource allocation", "device-allocation", "destination", () => ctx.clock.join([allocation!]).then(() => undefined));
      },
      async start(ctx) {
        await ctx.work("VF resume", "device-start", "destination", costs.resumeMs);
        nicReady(ctx, "vf-tracked");
      },
    };
  },
});
