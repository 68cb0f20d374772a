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
} as const;

export const vdpa = defineStrategy({
  kind: "vdpa",
  summary: "vhost-vDPA: shadow virtqueues or device tracking; pinning at-start or early",
  costs: vdpaCosts,
  options: z.strictObject({
    queuePairs: z._default(z.int().check(z.minimum(1), z.maximum(256)), 8),
    pinning: z._default(z.enum(["at-start", "early"]), "at-start"),
    tracking: z._default(z.enum(["svq", "device"]), "svq"),
  }),
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
      ctx.work(`vhost_vdpa_suspend (${why})`, "suspend", "source", costs.suspendMsPerQueue * dataQueues);
    const createQueues = (ctx: DeviceContext, side: "source" | "destination") =>
      ctx.work("create virtqueues", "vq-create", side, costs.vqCreateMsPerQueue * dataQueues);

    return {
      kind: "vdpa",
      // SVQ: QEMU relays and logs every buffer; device tracking: the device logs its DMA.
      dmaLogged: () => true,
      async setup(ctx) {
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
      stateBytes: () => costs.stateBytes,
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
        await createQueues(ctx, "destination");
        await ctx.work("control-queue restore", "cvq-restore", "destination", costs.cvqCommandMs * costs.cvqCommands);
        await ctx.work("vring enable", "vring-enable", "destination", costs.vringEnableMsPerQueue * dataQueues);
        nicReady(ctx, "vdpa");
        ctx.net("up", "all queue pairs enabled at the destination");
      },
    };
  },
});
