// The 2015 proposal (Lan Tianyu's 82599 series, with Duyck's dma_mark_dirty): the guest's
// VF driver marks every page it received by DMA dirty when it unmaps or syncs it for the
// CPU, so the VF stays in use until stop. At stop the PF quiesces the VF; the descriptor
// rings are dropped with the frames in them, and the destination VF starts with fresh rings.

import * as z from "../../zod.js";
import { nicReady, nicSuspended } from "../device.js";
import { defineStrategy } from "./strategy.js";

export const vfEnlightenedCosts = {
  quiesceMs: {
    value: 1,
    unit: "ms",
    source: "PF disables the VF's queues through its registers/mailbox; order of a mailbox round-trip (<1 ms)",
  },
  rxRingEntries: {
    value: 512,
    unit: "frames",
    source: "ixgbevf default receive ring size (IXGBEVF_DEFAULT_RXD)",
  },
  interruptIntervalUs: {
    value: 125,
    unit: "us",
    source: "ixgbevf default interrupt throttling (8000 interrupts/s): frames wait up to this long in the ring",
  },
  stateBytes: {
    value: 4096,
    unit: "B",
    source: "the faked PCI migration capability and VF config space (Lan Tianyu's series): one page",
  },
  vfReinitMs: {
    value: 50,
    unit: "ms",
    source: "ixgbevf reset on the destination: VF reset then the driver's 50 ms settle before the mailbox handshake (ixgbe_reset_hw_vf)",
  },
  linkUpMs: {
    value: 100,
    unit: "ms",
    source: "the PF reports VF link-up through the mailbox; ixgbevf's service task picks it up, assumed 100 ms",
  },
} as const;

export const vfEnlightened = defineStrategy({
  kind: "vf-enlightened",
  summary: "guest driver marks DMA-written pages dirty (2015 proposal); VF kept until stop",
  costs: vfEnlightenedCosts,
  options: z.strictObject({ trackDma: z._default(z.boolean(), true) }),
  create(options, costs) {
    return {
      kind: "vf-enlightened",
      pinsDestinationMemory: true,
      dmaLogged: () => options.trackDma,
      stateBytes: () => costs.stateBytes,
      async stop(ctx) {
        await ctx.work("PF quiesces VF", "device-stop", "source", costs.quiesceMs);
        nicSuspended(ctx, "vf-enlightened");
        const inRing = Math.min(costs.rxRingEntries, Math.round((ctx.rxFramesPerSecond * costs.interruptIntervalUs) / 1e6));
        if (inRing > 0) {
          ctx.timeline.add({ t: ctx.clock.now(), kind: "frames-dropped", frames: inRing, reason: "descriptor rings dropped at stop (rebuilt fresh at the destination)" });
        }
        ctx.net("down", "VF quiesced; rings dropped");
      },
      // The guest driver re-initialises the VF after resume; nothing is loaded into hardware.
      async afterResume(ctx) {
        await ctx.work("VF re-init with fresh rings", "vf-reinit", "destination", costs.vfReinitMs);
        await ctx.work("VF link-up", "link-up", "destination", costs.linkUpMs);
        nicReady(ctx, "vf-enlightened");
        ctx.net("up", "VF link up at the destination");
      },
    };
  },
});
