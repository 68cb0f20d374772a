// virtio-net failover (QEMU failover=on + failover_pair_id): the VF is hot-unplugged at
// setup, the guest's net_failover moves traffic to the virtio standby for the whole
// precopy (the dirty log sees it), and the destination hot-plugs a VF after resume.

import * as z from "../../zod.js";
import { nicReady, nicSuspended } from "../device.js";
import { defineStrategy } from "./strategy.js";
import { virtioCosts } from "./virtio.js";

export const vfFailoverCosts = {
  unplugMs: {
    value: 5000,
    unit: "ms",
    source: "PCIe native hot-unplug: the guest's pciehp waits the 5 s attention-button abort window (PCIe spec; libvirt's 5 s unplug timeout; kernel bz 211691)",
  },
  failoverSwitchMs: {
    value: 10,
    unit: "ms",
    source: "net_failover moves the default path to the standby on the primary's NETDEV_DOWN; assumed one scheduler tick plus neighbour refresh",
  },
  standbyThroughputGbps: {
    value: 10,
    unit: "Gbit/s",
    source: "virtio-net standby through vhost-net: single-queue throughput of vhost-net on a modern host (order 10 Gbit/s)",
  },
  standbyLatencyUs: {
    value: 50,
    unit: "us",
    source: "extra round-trip latency of the emulated path (vhost-net + host bridge) over the VF, order tens of us",
  },
  hotplugMs: {
    value: 1000,
    unit: "ms",
    source: "PCIe hot-add at the destination: pciehp's 1 s power-on/link settle (PCIe spec 100 ms + pciehp's 1 s wait)",
  },
  driverProbeMs: {
    value: 300,
    unit: "ms",
    source: "VF driver probe (ixgbevf/mlx5): mailbox reset handshake and ring allocation; assumed",
  },
  linkUpMs: {
    value: 100,
    unit: "ms",
    source: "VF link-up reported by the PF after probe; assumed",
  },
  stateBytes: virtioCosts.stateBytes,
  vhostStartMs: virtioCosts.vhostStartMs,
} as const;

export const vfFailover = defineStrategy({
  kind: "vf-failover",
  summary: "hot-unplug the VF, run on the virtio standby for the whole migration, hot-plug at the destination",
  costs: vfFailoverCosts,
  options: z.strictObject({}),
  create(_options, costs) {
    let unplugged = false;
    let primaryActive = true;
    let unplug: Promise<void> | undefined;
    return {
      kind: "vf-failover",
      pinsDestinationMemory: true,
      // Once unplugged, traffic flows through the hypervisor's emulated NIC.
      dmaLogged: () => !primaryActive,
      async setup(ctx) {
        ctx.net("down", "VF unplug requested: net_failover switching to the standby");
        // The unplug completes in the guest while QEMU polls in wait-unplug.
        unplug = ctx.clock.spawn(async () => {
          await ctx.work("failover to standby", "failover", "source", costs.failoverSwitchMs);
          primaryActive = false;
          ctx.net("degraded", `on the virtio standby (${costs.standbyThroughputGbps} Gbit/s, +${costs.standbyLatencyUs} us)`);
          await ctx.work("VF hot-unplug", "unplug", "source", costs.unplugMs - costs.failoverSwitchMs);
          unplugged = true;
        });
      },
      unplugPending: () => !unplugged,
      stateBytes: () => costs.stateBytes,
      async stop(ctx) {
        nicSuspended(ctx, "vf-failover");
      },
      async start(ctx) {
        await ctx.work("vhost-net start (standby)", "device-start", "destination", costs.vhostStartMs);
        nicReady(ctx, "vf-failover");
      },
      async afterResume(ctx) {
        if (unplug) await ctx.clock.join([unplug]);
        await ctx.work("VF hot-plug", "hotplug", "destination", costs.hotplugMs);
        await ctx.work("VF driver probe", "probe", "destination", costs.driverProbeMs);
        await ctx.work("VF link-up", "link-up", "destination", costs.linkUpMs);
        primaryActive = true;
        ctx.net("up", "failed back to the VF");
      },
      async abort(ctx) {
        if (unplug) await ctx.clock.join([unplug]);
        await ctx.work("VF re-plug (migration failed)", "hotplug", "source", costs.hotplugMs + costs.driverProbeMs + costs.linkUpMs);
        primaryActive = true;
        ctx.net("up", "VF re-plugged on the source");
      },
    };
  },
});
