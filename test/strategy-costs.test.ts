// Each strategy's work in the downtime, component by component, worked out by hand from its
// cost table (the figures and sources of docs/model.md) and the formula the strategy's
// comment states (per queue, per GiB of RAM, per byte on the link), on a guest small and
// idle enough that nothing else moves: 256 MiB (1/4 GiB) over 10 Gbit/s (1.25 MB/ms).

import { describe, expect, it } from "vitest";
import type { MigrationResult } from "../src/core/result.js";
import { vdpaCosts } from "../src/core/strategies/vdpa.js";
import { vfEnlightenedCosts } from "../src/core/strategies/vf-enlightened.js";
import { vfFailoverCosts } from "../src/core/strategies/vf-failover.js";
import { vfTrackedCosts } from "../src/core/strategies/vf-tracked.js";
import { vfCosts } from "../src/core/strategies/vf.js";
import { virtioCosts } from "../src/core/strategies/virtio.js";
import { coreMemoryBytesPerSecond } from "../src/sim/simulate.js";
import { run } from "./helpers.js";

const ramGiB = 1 / 4;
const bytesPerMs = 1.25e6;
const guest = (device: string, probe = "") =>
  `name: s\nvm: {memory: 256MiB, used: 1MiB}\nlink: {bandwidth: 10Gbit/s}\nmigration: {maxBandwidth: 0}\ndevices: [${device}]\n${probe}`;

/** The downtime's parts that are the device's (the RAM and the stream are the controller's). */
function deviceParts(r: MigrationResult): Record<string, number> {
  const { "final-sync": _s, "final-ram": _r, "device-state": _d, ...rest } = r["downtime-breakdown"]!;
  return rest;
}

const span = (r: MigrationResult, name: string) => {
  const s = r.timeline.find((e) => e.kind === "span" && e.name === name) as { t: number; end: number; component: string; side: string } | undefined;
  return s && { ms: s.end - s.t, component: s.component, side: s.side };
};

function expectParts(actual: Record<string, number>, expected: Record<string, number>) {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [k, v] of Object.entries(expected)) expect(actual[k], k).toBeCloseTo(v, 2);
}

describe("each strategy's share of the downtime, from its cost table", () => {
  it("virtio: loading 2 x (2 queue pairs x 2 + 1) queues at 1.75 us each, then vhost-net start; the NIC is out for all of the downtime", async () => {
    const r = await run(guest("{kind: virtio, queuePairs: 4}"));
    const queues = 4 * 2 + 1;
    expectParts(deviceParts(r), { "device-load": (virtioCosts.loadUsPerQueue.value * 2 * queues) / 1000, "device-start": virtioCosts.vhostStartMs.value });
    expect(r["downtime-breakdown"]!["device-state"]).toBeCloseTo(virtioCosts.stateBytes.value / bytesPerMs, 3);
    expect(r["guest-visible-downtime"]).toBeCloseTo(r.downtime!, 3);
  });

  it("vf-tracked: its dirty log read (1 ms/GiB) at every sync, STOP_COPY, 1 MiB of state, resume; 4 MiB of PRE_COPY data before", async () => {
    const r = await run(guest("{kind: vf-tracked}"));
    expectParts(deviceParts(r), {
      "dirty-log-read": vfTrackedCosts.dirtyLogReadMsPerGiB.value * ramGiB,
      "device-stop": vfTrackedCosts.stopMs.value,
      "device-start": vfTrackedCosts.resumeMs.value,
    });
    expect(r["downtime-breakdown"]!["device-state"]).toBeCloseTo(vfTrackedCosts.stopCopyBytes.value / bytesPerMs, 3);
    expect(span(r, "device pre-copy")!.ms).toBeCloseTo(vfTrackedCosts.preCopyBytes.value / bytesPerMs, 3);
    const reads = r.timeline.filter((e) => e.kind === "span" && e.component === "dirty-log-read");
    expect(reads.length).toBe(r.ram["dirty-sync-count"]);
    // The NIC stops moving data once STOP_COPY is done.
    expect(r["guest-visible-downtime"]).toBeCloseTo(r.downtime! - vfTrackedCosts.stopMs.value, 3);
  });

  it("vf forced: every sync dirties all of RAM, so the downtime sends all of it; resume 20 ms", async () => {
    // A 10 s limit, so that all of RAM (counted at 4 KiB a page) fits the threshold.
    const r = await run(guest("{kind: vf, force: true}").replace("maxBandwidth: 0", "maxBandwidth: 0, downtimeLimit: 10s"));
    expect(r.status).toBe("completed");
    expectParts(deviceParts(r), { "device-start": vfCosts.resumeMs.value });
    const pages = (256 << 20) / 4096;
    // Every page read at one core's 15 GB/s, then sent: the 1 MiB of used pages as normal
    // pages, the rest as zero pages (an 8-byte EOS per 1 MiB slice on top).
    const ram = (pages * 4096) / (coreMemoryBytesPerSecond / 1000) + ((pages - 256) * 9 + 256 * 4104) / bytesPerMs;
    expect(r["downtime-breakdown"]!["final-ram"]).toBeGreaterThanOrEqual(ram - 0.001); // rounded to the us
    expect(r["downtime-breakdown"]!["final-ram"]).toBeLessThan(ram * 1.01);
    expect(r["downtime-breakdown"]!["device-state"]).toBeCloseTo(vfCosts.stopCopyBytes.value / bytesPerMs, 3);
  });

  it("vdpa, pinning at start, shadow virtqueues: suspend 4 data queues, unpin, then at the destination pin, key, load the state, create queues, restore the control queue, enable", async () => {
    const r = await run(guest("{kind: vdpa, queuePairs: 2}"));
    const q = 4;
    const c = (k: keyof typeof vdpaCosts) => vdpaCosts[k].value as number;
    expectParts(deviceParts(r), {
      suspend: c("suspendMsPerQueue") * q,
      unpinning: c("unpinMsPerGiB") * ramGiB,
      pinning: c("pinningMsPerGiB") * ramGiB,
      "memory-key": c("memoryKeyMsPerGiB") * ramGiB,
      "device-load": c("stateLoadMs"),
      "vq-create": c("vqCreateMsPerQueue") * q,
      "cvq-restore": c("cvqCommandMs") * c("cvqCommands"),
      "vring-enable": c("vringEnableMsPerQueue") * q,
    });
    // Before the precopy: the switch to shadow virtqueues (suspend, recreate on the source).
    expect(span(r, "vhost_vdpa_suspend (switch to SVQ)")).toEqual({ ms: expect.closeTo(c("suspendMsPerQueue") * q, 6), component: "suspend", side: "source" });
    expect(span(r, "create virtqueues")!.side).toBe("source");
    expect(r["setup-time"]).toBeCloseTo(c("suspendMsPerQueue") * q + c("vqCreateMsPerQueue") * q, 3);
    expect(r["guest-visible-downtime"]).toBeCloseTo(r.downtime! - c("suspendMsPerQueue") * q, 3);
  });

  it("vdpa, early pinning, device tracking: the pinning and key happen beside the precopy, after the init stall; nothing to wait for at start", async () => {
    const r = await run(guest("{kind: vdpa, queuePairs: 2, pinning: early, tracking: device}"));
    const c = (k: keyof typeof vdpaCosts) => vdpaCosts[k].value as number;
    expect(span(r, "QMP stall at init")).toEqual({ ms: c("initStallMs"), component: "init-stall", side: "destination" });
    expect(span(r, "early pinning")).toEqual({ ms: expect.closeTo(c("pinningMsPerGiB") * ramGiB, 6), component: "pinning", side: "destination" });
    // The precopy of this small guest is shorter than the stall and the pinning: the start
    // waits for exactly what is left of them, and does no pinning of its own.
    const key = r.timeline.find((e) => e.kind === "span" && e.name === "memory key (MTT) creation") as { end: number };
    expect(key.end).toBeCloseTo(c("initStallMs") + c("pinningMsPerGiB") * ramGiB + c("memoryKeyMsPerGiB") * ramGiB, 3);
    const wait = r.timeline.find((e) => e.kind === "span" && e.name === "wait for early pinning") as { t: number; end: number };
    expect(wait.end).toBe(key.end);
    const parts = deviceParts(r);
    // The wait's last 0.02 ms are the memory key's (the innermost span then).
    expect(parts["memory-key"]).toBeCloseTo(c("memoryKeyMsPerGiB") * ramGiB, 3);
    expect(parts.pinning + parts["memory-key"]).toBeCloseTo(wait.end - wait.t, 3);
    expect(r.timeline.filter((e) => e.kind === "span" && e.component === "pinning").length).toBe(2);
    expect(parts["vq-create"]).toBeCloseTo(c("vqCreateMsPerQueue") * 4, 3);
    // Device tracking: no switch to shadow virtqueues, so no setup work of the device's.
    expect(span(r, "vhost_vdpa_suspend (switch to SVQ)")).toBeUndefined();
  });

  it("vf-enlightened: the PF quiesces the VF in the downtime; re-init and link-up follow the resume, so the NIC is out that much longer", async () => {
    const r = await run(guest("{kind: vf-enlightened}"));
    expectParts(deviceParts(r), { "device-stop": vfEnlightenedCosts.quiesceMs.value });
    const after = vfEnlightenedCosts.vfReinitMs.value + vfEnlightenedCosts.linkUpMs.value;
    expect(r["guest-visible-downtime"]).toBeCloseTo(r.downtime! - vfEnlightenedCosts.quiesceMs.value + after, 3);
  });

  it("vf-failover: the unplug (5 s) is the setup; in the downtime only the standby's vhost start; hot-plug, probe and link-up after resume", async () => {
    const r = await run(guest("{kind: vf-failover}", "probe: {interval: 1ms}\n"));
    expect(r["setup-time"]).toBe(vfFailoverCosts.unplugMs.value); // a multiple of the 250 ms polls
    expectParts(deviceParts(r), { "device-start": vfFailoverCosts.vhostStartMs.value });
    expect(span(r, "failover to standby")).toEqual({ ms: vfFailoverCosts.failoverSwitchMs.value, component: "failover", side: "source" });
    expect(span(r, "VF hot-unplug")!.ms).toBe(vfFailoverCosts.unplugMs.value - vfFailoverCosts.failoverSwitchMs.value);
    for (const [name, ms] of [["VF hot-plug", vfFailoverCosts.hotplugMs.value], ["VF driver probe", vfFailoverCosts.driverProbeMs.value], ["VF link-up", vfFailoverCosts.linkUpMs.value]] as const) {
      expect(span(r, name)).toEqual({ ms, component: expect.any(String), side: "destination" });
    }
    // On the standby from the failover until the VF is back after resume.
    const resume = r.timeline.find((e) => e.kind === "vm-resume")!.t;
    const back = resume + vfFailoverCosts.hotplugMs.value + vfFailoverCosts.driverProbeMs.value + vfFailoverCosts.linkUpMs.value;
    expect(r.network!["degraded-time"]).toBeCloseTo(back - vfFailoverCosts.failoverSwitchMs.value, 3);
  });

  it("vf-enlightened: the ring holds rate x 125 us of frames at stop (below its 512 entries); none at a rate that leaves less than half a frame", async () => {
    const dropped = async (rate: number) => {
      const r = await run(guest("{kind: vf-enlightened}").replace("used: 1MiB", `used: 1MiB, workload: {kind: uniform, workingSet: 1MiB, rate: 0, rx: {rate: ${rate}}}`));
      return r.timeline.filter((e) => e.kind === "frames-dropped").map((e) => (e as { frames: number }).frames);
    };
    // 1e5 frames/s x 125 us = 12.5 -> 13; 3000 x 125 us = 0.375 -> 0. (The 512-entry cap needs over
    // 4e6 frames/s, a rate at which this guest does not converge.)
    expect(await dropped(1e5)).toEqual([Math.round(1e5 * vfEnlightenedCosts.interruptIntervalUs.value * 1e-6)]);
    expect(await dropped(3000)).toEqual([]);
  });

  it("vf-failover, migration failed: the VF is re-plugged on the source once the unplug is done (hot-plug + probe + link-up), and the NIC is back", async () => {
    // Every page written between syncs over 100 Mbit/s: never converges; give-up after 2 passes.
    const text = guest("{kind: vf-failover}", "probe: {interval: 1ms}\n")
      .replace("used: 1MiB", "used: 1MiB, workload: {kind: uniform, workingSet: 64MiB, rate: 1000000}")
      .replace("10Gbit/s", "100Mbit/s")
      .replace("maxBandwidth: 0", "maxBandwidth: 0, giveUp: {passes: 2}");
    const r = await run(text);
    expect(r.status).toBe("failed");
    const replug = span(r, "VF re-plug (migration failed)")!;
    expect(replug).toEqual({ ms: expect.closeTo(vfFailoverCosts.hotplugMs.value + vfFailoverCosts.driverProbeMs.value + vfFailoverCosts.linkUpMs.value, 6), component: "hotplug", side: "source" });
    const s = r.timeline.find((e) => e.kind === "span" && e.name === "VF re-plug (migration failed)") as { t: number };
    const unplugged = r.timeline.find((e) => e.kind === "span" && e.name === "VF hot-unplug") as { end: number };
    expect(s.t).toBeGreaterThanOrEqual(unplugged.end);
    const net = r.timeline.filter((e) => e.kind === "net").at(-1) as { state: string; reason: string } | undefined;
    expect(net?.state).toBe("up");
  });

  describe("vdpa's options, each moving or replacing one part (4 data queues, pinning at start, shadow virtqueues)", () => {
    const c = (k: keyof typeof vdpaCosts) => vdpaCosts[k].value as number;
    const q = 4;
    const vdpaRun = (opts: string) => run(guest(`{kind: vdpa, queuePairs: 2, ${opts}}`));
    const atStart = { unpinning: c("unpinMsPerGiB") * ramGiB, pinning: c("pinningMsPerGiB") * ramGiB, "memory-key": c("memoryKeyMsPerGiB") * ramGiB };

    it("parallelSuspend: one suspend of 2.5 ms for all queues, at the switch to SVQ and at stop", async () => {
      const r = await vdpaRun("parallelSuspend: true");
      expectParts(deviceParts(r), {
        ...atStart,
        suspend: c("parallelSuspendMs"),
        "device-load": c("stateLoadMs"),
        "vq-create": c("vqCreateMsPerQueue") * q,
        "cvq-restore": c("cvqCommandMs") * c("cvqCommands"),
        "vring-enable": c("vringEnableMsPerQueue") * q,
      });
      expect(span(r, "vhost_vdpa_suspend (switch to SVQ)")!.ms).toBeCloseTo(c("parallelSuspendMs"), 6);
    });

    it("preCreateVqs: the queues are created on the destination beside the precopy; the downtime resumes them, per queue or in parallel", async () => {
      const r = await vdpaRun("preCreateVqs: true");
      const parts = deviceParts(r);
      expect(parts["vq-resume"]).toBeCloseTo(c("resumeMsPerQueue") * q, 6);
      expect(parts["vq-create"] ?? 0).toBeCloseTo(0, 6);
      const created = r.timeline.filter((e) => e.kind === "span" && e.name === "create virtqueues") as { side: string; t: number; end: number }[];
      expect(created.map((e) => [e.side, +(e.end - e.t).toFixed(6)]).sort()).toEqual([["destination", c("vqCreateMsPerQueue") * q], ["source", c("vqCreateMsPerQueue") * q]]);
      expect(created.find((e) => e.side === "destination")!.end).toBeLessThanOrEqual(r.timeline.find((e) => e.kind === "vm-stop")!.t);
      const parallel = deviceParts(await vdpaRun("preCreateVqs: true, parallelSuspend: true"));
      expect(parallel["vq-resume"]).toBeCloseTo(c("parallelResumeMs"), 6);
    });

    it("iterativeState: the state goes in the precopy (4 KiB); after the stop only 4 B of vring indices per queue, loaded in 1.607 ms", async () => {
      // Over 100 Mbit/s (12.5 B/us), so that the bytes show in the times (rounded to the us).
      const r = await run(guest("{kind: vdpa, queuePairs: 2, iterativeState: true}").replace("10Gbit/s", "100Mbit/s"));
      const slowBytesPerMs = 12_500;
      expect(span(r, "device pre-copy")!.ms).toBeCloseTo(c("stateBytes") / slowBytesPerMs, 3);
      expect(r["downtime-breakdown"]!["device-state"]).toBeCloseTo((c("iterativeStateBytesPerQueue") * q) / slowBytesPerMs, 3);
      expect(deviceParts(r)["device-load"]).toBeCloseTo(c("iterativeStateLoadMs"), 6);
      expect(deviceParts(r)["cvq-restore"]).toBeCloseTo(c("cvqCommandMs") * c("cvqCommands"), 6);
    });

    it("earlyDriverOk: the control queue is restored on the destination before the stop, not in the downtime", async () => {
      const r = await vdpaRun("iterativeState: true, earlyDriverOk: true");
      expect(deviceParts(r)["cvq-restore"] ?? 0).toBeCloseTo(0, 6);
      const restore = r.timeline.find((e) => e.kind === "span" && e.name === "control-queue restore") as { t: number; end: number; side: string };
      expect(restore.side).toBe("destination");
      expect(restore.end - restore.t).toBeCloseTo(c("cvqCommandMs") * c("cvqCommands"), 6);
      expect(restore.end).toBeLessThanOrEqual(r.timeline.find((e) => e.kind === "vm-stop")!.t);
      // Creating the queues is still the downtime's (not pre-created).
      expect(deviceParts(r)["vq-create"]).toBeCloseTo(c("vqCreateMsPerQueue") * q, 6);
    });
  });
});
