// vhost-vDPA (ConnectX-6 Dx, mlx5_vdpa). During migration QEMU switches the data queues to
// shadow virtqueues so it relays (and dirty-logs) every buffer, or the device tracks DMA.
// The destination must pin and map all guest RAM before its queues start: with the memory
// listener registered at device start (`at-start`) that is inside the downtime; registered
// at vhost_vdpa_init (`early`, the 2025 series) it overlaps precopy. Either way the source,
// once suspended, resets the device, which unregisters the listener and unpins all guest RAM
// page by page before the device state leaves: that part of the downtime stays.

import * as z from "../../zod.js";
import { GiB } from "../params.js";
import { nicReady, nicSuspended, type DeviceContext } from "../device.js";
import { defineStrategy } from "./strategy.js";

export const vdpaCosts = {
  pinningMsPerGiB: {
    value: 71.6,
    unit: "ms/GiB",
    source: "pinning cold destination RAM is dominated by faulting in and zeroing each page: 1 GiB at a single core's ~15 GB/s clear_page store rate; warm 4 KiB pinning alone is ~17 ms/GiB (Li Zhe, reference §11)",
  },
  memoryKeyMsPerGiB: {
    value: 0.08,
    unit: "ms/GiB",
    source: "mlx5 builds the memory key when the map is set (set_map at the batch end): one 8 B MTT entry per contiguous unit, 2 MiB for THP-backed guest RAM = 4 KiB of MTT per GiB, 8 command mailbox blocks of 512 B at an assumed 10 us each (4 KiB backing would be 512x that)",
  },
  unpinMsPerGiB: {
    value: 42,
    unit: "ms/GiB",
    source: "source: the reset after suspend unregisters the memory listener; vhost_vdpa_pa_unmap marks dirty and unpins every 4 KiB page (~160 ns each: page lock, flags and refcount atomics on a struct page not in cache). No public per-page figure: the value is the 2025 series' own slope with early pinning, (5.83 - 2.09) s / 89 GiB; its at-start slope (112 ms/GiB = this + pinning) checks it",
  },
  initStallMs: {
    value: 200,
    unit: "ms",
    source: "2025 series: with early registration QEMU cannot answer QMP for ~0.2 s at initialisation",
  },
  suspendMsPerQueue: {
    value: 1.16,
    unit: "ms",
    source: "Tatulea, \"vdpa/mlx5: Parallelize device suspend/resume\" (2024): mlx5_vdpa_suspend took 37 ms for 32 hardware VQs (16 queue pairs, ConnectX-6 Dx) before the commands went in parallel",
  },
  parallelSuspendMs: {
    value: 2.5,
    unit: "ms",
    source: "option parallelSuspend: Tatulea (2024) measured 37 -> 2.5 ms for suspending 32 VQs once the MODIFY_VIRTQ commands are issued in parallel; taken as one round of commands whatever the queue count (they are in flight at once)",
  },
  resumeMsPerQueue: {
    value: 0.5,
    unit: "ms",
    source: "resuming one hardware VQ (MODIFY_VIRTQ to RDY): Tatulea (2024) measured 16 ms for 32 VQs issued one by one",
  },
  parallelResumeMs: {
    value: 5,
    unit: "ms",
    source: "option parallelSuspend (the same series parallelises resume): 16 -> 5 ms for 32 VQs (Tatulea 2024)",
  },
  vqCreateMsPerQueue: {
    value: 11.6,
    unit: "ms",
    source: "Tatulea, \"vdpa/mlx5: Pre-create HW VQs to reduce LM downtime\" (2024): VQ resource creation + resume ~370 ms for 16 queue pairs (32 VQs) on ConnectX-6 Dx before pre-creation",
  },
  cvqCommandMs: {
    value: 5,
    unit: "ms",
    source: "one control-virtqueue command restored on the destination (MAC, MQ, offloads, RX mode, VLAN): mlx5_vdpa handles CVQ in a kernel work item and issues firmware commands; assumed",
  },
  cvqCommands: {
    value: 5,
    unit: "commands",
    source: "vhost_vdpa_net_load: MAC, MQ, offloads, RX mode (promisc, allmulti); more with VLANs",
  },
  vringEnableMsPerQueue: {
    value: 1,
    unit: "ms",
    source: "vhost_vdpa_set_vring_enable_one: one ioctl and a MODIFY_VIRTQ to RDY per queue; assumed",
  },
  svqRelayThroughputGbps: {
    value: 10,
    unit: "Gbit/s",
    source: "shadow virtqueues relay every buffer through QEMU's main loop: a single QEMU thread forwards on the order of 10 Gbit/s",
  },
  stateBytes: {
    value: 4096,
    unit: "B",
    source: "virtio-net vmstate (config space, queue indices); the device's in-flight state is not migrated",
  },
  stateLoadMs: {
    value: 3.594,
    unit: "ms",
    source: "virtio-net device load on the destination (vmstate, queue walk): the 2025 iterative virtio-net RFC measured 3594 us before its change (software virtio-net; no vhost-vdpa figure)",
  },
  iterativeStateLoadMs: {
    value: 1.607,
    unit: "ms",
    source: "option iterativeState: the same RFC's load time with the state sent during precopy, 1607 us",
  },
  iterativeStateBytesPerQueue: {
    value: 4,
    unit: "B",
    source: "option iterativeState: what is left to send after stop, the vring indices (avail and used, 2 B each) of each data queue; assumed nothing else changed since the precopy copy",
  },
} as const;

export const vdpa = defineStrategy({
  kind: "vdpa",
  summary: "vhost-vDPA: shadow virtqueues or device tracking; pinning at-start or early",
  costs: vdpaCosts,
  options: z
    .strictObject({
      queuePairs: z._default(z.int().check(z.minimum(1), z.maximum(256)), 8),
      pinning: z._default(z.enum(["at-start", "early"]), "at-start"),
      tracking: z._default(z.enum(["svq", "device"]), "svq"),
      /** mlx5_vdpa issues the per-VQ suspend and resume commands in parallel (Linux 6.12). */
      parallelSuspend: z._default(z.boolean(), false),
      /** mlx5_vdpa creates the hardware VQs when the device is created, before any migration. */
      preCreateVqs: z._default(z.boolean(), false),
      /** The seed's future work: the destination sets DRIVER_OK (and restores the control queue) before the switch-over. */
      earlyDriverOk: z._default(z.boolean(), false),
      /** The seed's future work: virtio-net state sent during precopy; only the vring indices after stop. */
      iterativeState: z._default(z.boolean(), false),
    })
    .check(
      z.refine((o) => !o.earlyDriverOk || o.iterativeState, {
        message: "earlyDriverOk needs iterativeState: true (the destination can restore the device before the switch-over only from state sent during precopy)",
        path: ["earlyDriverOk"],
      }),
    ),
  create(options, costs, vm) {
    // mlx5_vdpa emulates the control virtqueue in the driver: only data queues are hardware.
    const dataQueues = options.queuePairs * 2;
    const ramGiB = vm.ramBytes / GiB;
    let earlyPinning: Promise<void> | undefined;

    // Modelled, unless the runtime pins for real (the live engine touches every page). Where
    // the destination's memory is modelled, pinning populates the pages not yet populated
    // (fault + zero, the same work as a page's first arrival); otherwise all RAM is cold.
    const pin = (ctx: DeviceContext, name: string) =>
      ctx.work(name, "pinning", "destination", ctx.pin ?? (ctx.destinationMemory ? () => ctx.clock.sleep(ctx.destinationMemory!.populateAll()) : costs.pinningMsPerGiB * ramGiB));
    // set_map ends the batch: mlx5 builds the memory key right after the pages are pinned.
    const memoryKey = (ctx: DeviceContext) =>
      ctx.work("memory key (MTT) creation", "memory-key", "destination", costs.memoryKeyMsPerGiB * ramGiB);
    const suspend = (ctx: DeviceContext, why: string) =>
      ctx.work(`vhost_vdpa_suspend (${why})`, "suspend", "source", options.parallelSuspend ? costs.parallelSuspendMs : costs.suspendMsPerQueue * dataQueues);
    const createQueues = (ctx: DeviceContext, side: "source" | "destination") =>
      ctx.work("create virtqueues", "vq-create", side, costs.vqCreateMsPerQueue * dataQueues);
    const resumeQueues = (ctx: DeviceContext) =>
      ctx.work("resume pre-created virtqueues", "vq-resume", "destination", options.parallelSuspend ? costs.parallelResumeMs : costs.resumeMsPerQueue * dataQueues);
    const restoreControlQueue = (ctx: DeviceContext) =>
      ctx.work("control-queue restore", "cvq-restore", "destination", costs.cvqCommandMs * costs.cvqCommands);
    // Work the options move ahead of the switch-over, on the destination beside precopy.
    let ahead: Promise<void> | undefined;

    return {
      kind: "vdpa",
      pinsDestinationMemory: true,
      // SVQ: QEMU relays and logs every buffer; device tracking: the device logs its DMA.
      dmaLogged: () => true,
      async setup(ctx) {
        if (options.preCreateVqs || options.earlyDriverOk) {
          ahead = ctx.clock.spawn(async () => {
            if (options.preCreateVqs) await createQueues(ctx, "destination");
            if (options.earlyDriverOk) await restoreControlQueue(ctx);
          });
        }
        if (options.pinning === "early") {
          // The listener was registered at vhost_vdpa_init on the destination: pinning runs
          // beside precopy, after the init stall.
          earlyPinning = ctx.clock.spawn(async () => {
            await ctx.work("QMP stall at init", "init-stall", "destination", costs.initStallMs);
            await pin(ctx, "early pinning");
            await memoryKey(ctx);
          });
        }
        if (options.tracking === "svq") {
          ctx.net("down", "restarting the device with shadow virtqueues");
          await suspend(ctx, "switch to SVQ");
          await createQueues(ctx, "source");
          ctx.net("degraded", `relayed through shadow virtqueues (~${costs.svqRelayThroughputGbps} Gbit/s)`);
        }
      },
      preCopyBytes: options.iterativeState ? () => costs.stateBytes : undefined,
      stateBytes: () => (options.iterativeState ? costs.iterativeStateBytesPerQueue * dataQueues : costs.stateBytes),
      async stop(ctx) {
        await suspend(ctx, "stop");
        nicSuspended(ctx, "vdpa");
        await ctx.work("reset: unmap and unpin guest RAM", "unpinning", "source", costs.unpinMsPerGiB * ramGiB);
      },
      async start(ctx) {
        if (earlyPinning) await ctx.work("wait for early pinning", "pinning", "destination", () => ctx.clock.join([earlyPinning!]).then(() => undefined));
        else {
          await pin(ctx, "pinning at device start");
          await memoryKey(ctx);
        }
        await ctx.work("virtio-net state load", "device-load", "destination", options.iterativeState ? costs.iterativeStateLoadMs : costs.stateLoadMs);
        if (ahead) await ctx.work("wait for queues prepared ahead", "vq-create", "destination", () => ctx.clock.join([ahead!]).then(() => undefined));
        if (options.preCreateVqs) await resumeQueues(ctx);
        else await createQueues(ctx, "destination");
        if (!options.earlyDriverOk) await restoreControlQueue(ctx);
        await ctx.work("vring enable", "vring-enable", "destination", costs.vringEnableMsPerQueue * dataQueues);
        nicReady(ctx, "vdpa");
        ctx.net("up", "all queue pairs enabled at the destination");
      },
    };
  },
});
