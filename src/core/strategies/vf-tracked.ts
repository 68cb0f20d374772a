// A VF whose DMA writes are tracked by the IOMMU (IOMMUFD dirty bits) or by the device itself
// (VFIO migration v2 DMA logging). Each sync reads and clears the log; device state moves in
// PRE_COPY (while the guest runs) and STOP_COPY. The destination allocates the device's
// resources once the PRE_COPY data has arrived; with QEMU's `switchover-ack` capability the
// source does not stop the guest before that is done, without it what is left of the
// allocation lands in the downtime. With `deviceTiming: mlx5-cx7` the device's own work in the
// downtime is modelled from published mlx5 figures: its state transitions, and reading out and
// loading its STOP_COPY data; with `multifdDeviceState` that data moves over the multifd channels
// (QEMU 10.0), each device in its own threads.

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
  preCopyDirtyBytesPerSecond: {
    value: 0,
    unit: "B/s",
    source: "device state that changes after the PRE_COPY initial data and is re-sent while precopy runs (VFIO_MIG_GET_PRECOPY_INFO dirty_bytes; mlx5: the incremental state a MLX5VF_QUERY_INC query reports); it counts in the pending amount the switch-over waits for. No published rate for a NIC VF: assumed 0, an idle VF whose queues and filters do not change",
  },
  mlx5TransitionMs: {
    value: 246.8,
    unit: "ms",
    source: "deviceTiming mlx5-cx7: per device, the state transitions QEMU runs one device after another (source: PRE_COPY -> PRE_COPY_P2P -> STOP_COPY, SUSPEND_VHCA; destination: RESUMING -> RUNNING, RESUME_VHCA). Szmigiero's multifd device state series v3 (2024; ConnectX-7 VFs, ~100 MiB of state each, 100 GbE, switchover-ack): downtime with the state over multifd 366/556/1095 ms for 1/2/4 VFs, a least-squares slope of 246.8 ms per VF; with multifd each device saves and loads in its own threads, so what still grows per VF is this serial part. Split half at stop, half at resume (assumed)",
  },
  mlx5SaveMsPerMiB: {
    value: 1.114,
    unit: "ms/MiB",
    source: "deviceTiming mlx5-cx7: reading the STOP_COPY data out of the device on the source (SAVE_VHCA_STATE, then read() of the migration fd). The same series over the main channel: 487/859/1900 ms for 1/2/4 VFs, slope 478.1 ms per VF; less the serial transitions (246.8) and the wire (100 MiB at 100 Gbit/s, 8.4 ms), 222.9 ms per 100 MiB is the save and the load together; split evenly (assumed: no separate figures)",
  },
  mlx5LoadMsPerMiB: {
    value: 1.114,
    unit: "ms/MiB",
    source: "deviceTiming mlx5-cx7: loading the STOP_COPY data into the device on the destination (write() to the migration fd, LOAD_VHCA_STATE once an image is complete); half of the 2.229 ms/MiB derived for mlx5SaveMsPerMiB",
  },
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
    /** The device's own work in the downtime: `assumed` transitions only, or mlx5 (ConnectX-7) figures with the STOP_COPY save and load. */
    deviceTiming: z._default(z.enum(["assumed", "mlx5-cx7"]), "assumed"),
    /** QEMU 10.0's `x-migration-multifd-transfer=on`: the STOP_COPY data over the multifd channels. */
    multifdDeviceState: z._default(z.boolean(), false),
  }),
  create(options, costs, vm) {
    const logReadMs = options.tracker === "device" ? costs.deviceLogQueryMs : (costs.dirtyLogReadMsPerGiB * vm.ramBytes) / GiB;
    const allocationMs = (costs.allocationMsPerMiB * costs.preCopyBytes) / MiB;
    const mlx5 = options.deviceTiming === "mlx5-cx7";
    const stopMs = mlx5 ? costs.mlx5TransitionMs / 2 : costs.stopMs;
    const resumeMs = mlx5 ? costs.mlx5TransitionMs / 2 : costs.resumeMs;
    const stopCopyMiB = costs.stopCopyBytes / MiB;
    let allocation: Promise<void> | undefined;
    let allocated = false;
    // Dirty precopy state builds up from when the initial data has gone; `dirtyLeft` was not sent at `dirtySince`.
    let dirtySince: number | undefined;
    let dirtyLeft = 0;
    const dirtyBytes = (now: number) =>
      dirtySince === undefined ? 0 : dirtyLeft + Math.floor((costs.preCopyDirtyBytesPerSecond * (now - dirtySince)) / 1000);
    return {
      kind: "vf-tracked",
      vfioMigration: true,
      dmaLogged: () => options.trackDma,
      async sync(ctx) {
        await ctx.work(options.tracker === "device" ? "device DMA log report" : "IOMMU dirty bitmap read", "dirty-log-read", "source", logReadMs);
      },
      preCopyBytes: () => costs.preCopyBytes,
      preCopyDirtyBytes: dirtyBytes,
      preCopyDirtySent(now, bytes) {
        dirtyLeft = dirtyBytes(now) - bytes;
        dirtySince = now;
      },
      multifdDeviceState: options.multifdDeviceState,
      preCopyArrived(ctx) {
        if (costs.preCopyDirtyBytesPerSecond > 0) dirtySince = ctx.clock.now();
        allocation = ctx.clock.spawn(async () => {
          await ctx.work("allocate device resources (PRE_COPY data loaded)", "device-allocation", "destination", allocationMs);
          allocated = true;
        });
      },
      switchoverAcked: () => !options.switchoverAck || allocated,
      stateBytes: () => costs.stopCopyBytes,
      async stop(ctx) {
        await ctx.work("VF STOP_COPY", "device-stop", "source", stopMs);
        nicSuspended(ctx, "vf-tracked");
      },
      async load(ctx) {
        // The STOP_COPY data can be loaded only into allocated resources.
        if (allocation && !allocated) await ctx.work("wait for device resource allocation", "device-allocation", "destination", () => ctx.clock.join([allocation!]).then(() => undefined));
        if (mlx5) await ctx.work("load STOP_COPY data into the device (LOAD_VHCA_STATE)", "device-load", "destination", costs.mlx5LoadMsPerMiB * stopCopyMiB);
      },
      save: mlx5 ? (ctx) => ctx.work("read STOP_COPY data from the device (SAVE_VHCA_STATE)", "device-save", "source", costs.mlx5SaveMsPerMiB * stopCopyMiB) : undefined,
      async start(ctx) {
        await ctx.work("VF resume", "device-start", "destination", resumeMs);
        nicReady(ctx, "vf-tracked");
      },
    };
  },
});
