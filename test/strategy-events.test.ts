// What each strategy puts in the result besides its costs: which host each piece of work runs
// on (the phase chart draws it there), the NIC's suspend/ready instants named by the device,
// the network states a prober sees, and the properties QEMU reads off the device (VFIO
// migration, pinning at the destination). The expected values come from where the work is
// done in QEMU and Linux (the strategies' header comments and docs/model.md name the calls),
// not from the strategies' code; strategy-costs.test.ts checks the durations.

import { describe, expect, it } from "vitest";
import { migrate } from "../src/core/controller.js";
import { costValues } from "../src/core/costs.js";
import type { Device } from "../src/core/device.js";
import { qemuDefaults } from "../src/core/params.js";
import { buildResult, type MigrationResult } from "../src/core/result.js";
import { vdpaCosts } from "../src/core/strategies/vdpa.js";
import { vfFailover, vfFailoverCosts } from "../src/core/strategies/vf-failover.js";
import { VirtualClock } from "../src/sim/clock.js";
import { SimLink } from "../src/sim/link.js";
import { run } from "./helpers.js";
import { EverythingDirty } from "./sim-harness.js";

const guest = (device: string, extra = "", bandwidth = "10Gbit/s") =>
  `name: s\nvm: {memory: 256MiB, used: 1MiB}\nlink: {bandwidth: ${bandwidth}}\nmigration: {maxBandwidth: 0${extra}}\ndevices: [${device}]\nprobe: {interval: 1ms}\n`;

type Span = { t: number; end: number; name: string; component: string; side: string };
const spans = (r: MigrationResult) => r.timeline.filter((e) => e.kind === "span") as unknown as Span[];
const at = (r: MigrationResult, kind: string) => r.timeline.find((e) => e.kind === kind)!.t;

// The host whose kernel, firmware or QEMU does each part of a device's work.
const sourceWork = [
  "suspend", // vhost_vdpa_suspend: the source's device stops its queues
  "unpinning", // the source device's reset unpins the source's guest RAM
  "device-stop", // VFIO STOP_COPY / the PF quiescing the source VF
  "device-save", // SAVE_VHCA_STATE: read out of the source device
  "dirty-log-read", // the source reads the IOMMU's or the device's dirty log
  "failover", // net_failover in the guest, still on the source
  "unplug", // the source VF's hot-unplug
];
const destinationWork = [
  "init-stall", // the destination QEMU's vhost_vdpa_init
  "pinning",
  "memory-key",
  "device-load",
  "device-start",
  "vq-resume",
  "cvq-restore",
  "vring-enable",
  "device-allocation", // resources for the PRE_COPY data, where it is loaded
  "vf-reinit", // the guest driver, resumed on the destination
  "link-up",
  "probe",
];
// The controller's own spans: the migration thread on the source.
const controllerWork = ["setup", "final-sync", "final-ram", "device-state", "device-precopy"];

// [device, link]: with 64 MiB of PRE_COPY data the destination allocates for 331 ms, longer than
// this guest's precopy at 100 Gbit/s, so the load waits for the allocation.
const devices: [string, string?][] = [
  ["{kind: virtio, queuePairs: 2}"],
  ["{kind: vf-tracked}"],
  ["{kind: vf-tracked, preCopyBytes: 67108864}", "100Gbit/s"],
  ["{kind: vf-tracked, tracker: device, deviceTiming: mlx5-cx7, switchoverAck: true}"],
  ["{kind: vf, force: true}"],
  ["{kind: vdpa, queuePairs: 2}"],
  ["{kind: vdpa, queuePairs: 2, tracking: device, pinning: early}"],
  ["{kind: vdpa, queuePairs: 2, preCreateVqs: true, iterativeState: true, earlyDriverOk: true}"],
  ["{kind: vf-enlightened}"],
  ["{kind: vf-failover}"],
];

describe("every strategy's work: named, and on the host that does it", () => {
  for (const [device, bandwidth] of devices) {
    it(`${device}${bandwidth ? ` over ${bandwidth}` : ""}`, async () => {
      const kind = /kind: ([a-z-]+)/.exec(device)![1];
      // A forced VF dirties all RAM every sync: a 10 s limit lets all of it fit (strategy-costs.test.ts).
      const r = await run(guest(device, kind === "vf" ? ", downtimeLimit: 10s" : "", bandwidth));
      expect(r.status).toBe("completed");
      const setupDone = at(r, "setup-done");
      for (const s of spans(r)) {
        // A name with an empty part ("vhost_vdpa_suspend ()") does not say which work it was.
        expect(s.name, JSON.stringify(s)).not.toMatch(/^\s*$|\(\s*\)/);
        if (s.component === "vq-create") {
          // The source re-creates its queues as shadow virtqueues at setup; every other creation is the destination's.
          expect(s.side, s.name).toBe(s.side === "source" && s.end <= setupDone ? "source" : "destination");
        } else if (s.component === "hotplug") {
          expect(s.side, s.name).toBe("destination"); // completed: the VF is plugged at the destination
        } else {
          const side = sourceWork.includes(s.component) || controllerWork.includes(s.component) ? "source" : destinationWork.includes(s.component) ? "destination" : "unknown component";
          expect(s.side, `${s.name} (${s.component})`).toBe(side);
        }
      }
      const shadow = kind === "vdpa" && !device.includes("tracking: device");
      expect(spans(r).filter((s) => s.component === "vq-create" && s.side === "source").length).toBe(shadow ? 1 : 0);
      // The NIC stops once, after the vCPUs, and is ready once; both events name the device.
      const nic = r.timeline.filter((e) => e.kind === "nic-suspend" || e.kind === "nic-ready") as { t: number; kind: string; device: string }[];
      expect(nic.map((e) => [e.kind, e.device])).toEqual([["nic-suspend", kind], ["nic-ready", kind]]);
      expect(nic[0].t).toBeGreaterThanOrEqual(at(r, "vm-stop"));
      // VFIO migration v2 devices report their data moves (query-migrate's vfio.transferred), named too.
      for (const e of r.timeline.filter((e) => e.kind === "device-data")) expect((e as { device: string }).device).toBe(kind);
      // Two spans may share a name only when they are the same work repeated (a log read per sync, queues created on each host).
      const names = new Map<string, Set<string>>();
      for (const s of spans(r)) names.set(s.name, (names.get(s.name) ?? new Set()).add(s.component));
      for (const [name, kinds] of names) expect([...kinds], name).toHaveLength(1);
      if (bandwidth) expect(spans(r).some((s) => s.component === "device-allocation" && s.t >= at(r, "vm-stop"))).toBe(true);
    });
  }
});

describe("the network as a prober sees it", () => {
  const states = async (device: string) => {
    const r = await run(guest(device));
    const net = r.timeline.filter((e) => e.kind === "net") as { t: number; state: string; reason: string }[];
    // Every event that gives a reason gives one (the report prints it).
    for (const e of r.timeline) if ("reason" in e) expect(e.reason, e.kind).not.toBe("");
    return { r, net: net.map((e) => e.state) };
  };

  it("vdpa with shadow virtqueues: down while the device restarts, degraded while QEMU relays, up once the destination's queues are enabled", async () => {
    const { r, net } = await states("{kind: vdpa, queuePairs: 2}");
    expect(net).toEqual(["down", "degraded", "up"]);
    expect(r.network!["degraded-time"]).toBeGreaterThan(0);
  });

  it("vdpa with device tracking: never degraded", async () => {
    const { r, net } = await states("{kind: vdpa, queuePairs: 2, tracking: device}");
    expect(net.filter((s) => s !== "up")).toEqual([]);
    expect(r.network?.["degraded-time"] ?? 0).toBe(0);
  });

  it("vf-enlightened: down from the quiesce at stop, up at the VF's link-up on the destination", async () => {
    const { r, net } = await states("{kind: vf-enlightened}");
    expect(net).toEqual(["down", "up"]);
    const down = r.timeline.find((e) => e.kind === "net")!.t;
    expect(down).toBeGreaterThanOrEqual(at(r, "vm-stop"));
  });

  it("vf-enlightened under receive traffic: the frames dropped with the rings at stop, and why", async () => {
    const r = await run(guest("{kind: vf-enlightened}").replace("used: 1MiB", "used: 1MiB, workload: {kind: uniform, workingSet: 1MiB, rate: 0, rx: {rate: 100000}}"));
    const dropped = r.timeline.filter((e) => e.kind === "frames-dropped") as { t: number; reason: string }[];
    expect(dropped).toHaveLength(1);
    expect(dropped[0].reason).not.toBe("");
    expect(dropped[0].t).toBeGreaterThanOrEqual(at(r, "vm-stop"));
  });

  it("vf-failover: down at the unplug request, degraded on the standby, up when failed back to the VF", async () => {
    const { net } = await states("{kind: vf-failover}");
    expect(net).toEqual(["down", "degraded", "up"]);
  });
});

describe("the device's state in the downtime", () => {
  // 4 KiB at 10 Gbit/s (1.25 MB/ms): the vmstate page of virtio-net, or the enlightened VF's config page.
  for (const device of ["{kind: vf-enlightened}", "{kind: vf-failover}", "{kind: vdpa}"]) {
    it(`${device}: one 4 KiB page`, async () => {
      const r = await run(guest(device));
      expect(r["downtime-breakdown"]!["device-state"]).toBeCloseTo(4096 / 1.25e6, 3);
    });
  }
});

describe("post-copy and the devices (QEMU's vfio_save_prepare; pinning at the destination)", () => {
  // A guest that does not converge over 100 Mbit/s, so that post-copy starts after the first pass.
  const busy = (device: string) =>
    `name: pc\nvm: {memory: 64MiB, workload: {kind: uniform, workingSet: 32MiB, rate: 100000}}\nlink: {bandwidth: 100Mbit/s}\nmigration: {maxBandwidth: 0, giveUp: {passes: 10}, postcopy: {after: {passes: 1}}}\ndevices: [${device}]\n`;

  for (const [device, kind] of [["{kind: vf-tracked}", "vf-tracked"], ["{kind: vf, force: true}", "vf"]]) {
    it(`${kind}: a VFIO migration device, refused before anything is sent`, async () => {
      const r = await run(busy(device));
      expect(r.status).toBe("failed");
      expect(r["error-desc"]).toBe(`${kind}: VFIO migration is not supported with postcopy migration`);
      expect(r.ram.transferred).toBe(0);
    });
  }

  for (const kind of ["vdpa", "vf-enlightened", "vf-failover"]) {
    it(`${kind}: pins the destination's RAM, so the result carries the warning`, async () => {
      const r = await run(busy(`{kind: ${kind}}`));
      expect(r["blocked-reasons"]).toBeUndefined();
      expect(r.warnings.filter((w) => w.startsWith(`post-copy with ${kind}: the device pins guest RAM`)).length).toBe(1);
    });
  }

  for (const kind of ["virtio", "vf-tracked, trackDma: true"]) {
    it(`${kind.split(",")[0]}: no pinning warning`, async () => {
      const r = await run(busy(`{kind: ${kind}}`));
      expect(r.warnings.filter((w) => w.includes("pins guest RAM"))).toEqual([]);
    });
  }
});

describe("vdpa: work prepared ahead is waited for, never skipped", () => {
  const c = (k: keyof typeof vdpaCosts) => vdpaCosts[k].value as number;
  // 16 queue pairs: creating 32 queues takes 32 x 11.6 = 371 ms, longer than this guest's precopy and downtime.
  const vdpa = (opts: string) => run(guest(`{kind: vdpa, queuePairs: 16, tracking: device, ${opts}}`));

  it("pre-created queues are resumed only after the destination has created them", async () => {
    const r = await vdpa("preCreateVqs: true");
    const created = spans(r).find((s) => s.name === "create virtqueues" && s.side === "destination")!;
    expect(created.end - created.t).toBeCloseTo(c("vqCreateMsPerQueue") * 32, 6);
    expect(created.end).toBeGreaterThan(at(r, "vm-stop")); // the case this checks: not ready at the stop
    const resumed = spans(r).find((s) => s.component === "vq-resume")!;
    expect(resumed.t).toBeGreaterThanOrEqual(created.end);
    // The control queue is still restored once, in the downtime (no earlyDriverOk).
    const restores = spans(r).filter((s) => s.component === "cvq-restore");
    expect(restores.length).toBe(1);
    expect(restores[0].t).toBeGreaterThanOrEqual(at(r, "vm-stop"));
  });

  it("with early DRIVER_OK the queues are enabled only after the control queue is restored", async () => {
    const r = await vdpa("preCreateVqs: true, iterativeState: true, earlyDriverOk: true");
    const restores = spans(r).filter((s) => s.component === "cvq-restore");
    expect(restores.length).toBe(1);
    const enable = spans(r).find((s) => s.component === "vring-enable")!;
    expect(enable.t).toBeGreaterThanOrEqual(restores[0].end);
  });

  it("without either option nothing is prepared ahead: the destination's work all follows the stop, in QEMU's order", async () => {
    const r = await vdpa("");
    const stop = at(r, "vm-stop");
    const destination = spans(r).filter((s) => s.side === "destination");
    expect(destination.every((s) => s.t >= stop)).toBe(true);
    // vhost_vdpa_dev_start: the memory listener pins and maps, mlx5 builds the key at set_map's end; the
    // virtio-net state is loaded, the queues created, the control queue replayed (vhost_vdpa_net_load), the rings enabled.
    expect(destination.map((s) => s.component)).toEqual(["pinning", "memory-key", "device-load", "vq-create", "cvq-restore", "vring-enable"]);
  });
});

describe("vf-failover, the migration failing in its setup", () => {
  /** A failover VF and a device whose setup fails 100 ms in, in that order or the other. */
  async function failedRun(failingFirst: boolean) {
    const clock = new VirtualClock();
    const vm = { ramBytes: 16 * 4096, pageSize: 4096, vcpus: 1 };
    const failing: Device = { kind: "broken", dmaLogged: () => true, stateBytes: () => 0, setup: async () => { await clock.sleep(100); throw new Error("setup failed"); } };
    const vf = vfFailover.create({}, costValues(vfFailover.costs, {}), vm);
    const devices = failingFirst ? [failing, vf] : [vf, failing];
    const params = { ...qemuDefaults, maxBandwidth: 0 };
    const timeline = await clock.run(() => migrate({ clock, ram: new EverythingDirty(16), channel: new SimLink(clock, { bandwidth: 1e9, latencyMs: 0 }), devices, params, rxFramesPerSecond: 0 }));
    return buildResult(timeline, { ramBytes: vm.ramBytes, pageSize: 4096, params });
  }

  it("before the VF's setup: its abort has no unplug to wait for, and fails nothing", async () => {
    const r = await failedRun(true);
    expect(r.status).toBe("failed");
    expect(r["error-desc"]).toBe("migration aborted: setup failed");
  });

  it("during the unplug: re-plugs the VF on the source only once its hot-unplug is done (pciehp finishes the removal first)", async () => {
    const r = await failedRun(false);
    expect(r.status).toBe("failed");
    expect(r["error-desc"]).toBe("migration aborted: setup failed");
    const unplugged = spans(r).find((s) => s.component === "unplug")!;
    const replug = spans(r).find((s) => s.component === "hotplug")!;
    expect(replug.side).toBe("source");
    expect(replug.t).toBeGreaterThanOrEqual(unplugged.end);
    expect(unplugged.end).toBe(vfFailoverCosts.unplugMs.value);
    const net = r.timeline.filter((e) => e.kind === "net").at(-1) as { state: string; reason: string };
    expect(net.state).toBe("up");
    expect(net.reason).not.toBe("");
  });
});

describe("vf-tracked", () => {
  it("with the ack, no wait for the allocation lands in the downtime", async () => {
    const r = await run(guest("{kind: vf-tracked, switchoverAck: true}"));
    const stop = at(r, "vm-stop");
    expect(spans(r).filter((s) => s.component === "device-allocation" && s.end > stop)).toEqual([]);
  });

  it("the report names the tracker that read the log: the IOMMU's dirty bits or the device's report", async () => {
    const name = async (tracker: string) => spans(await run(guest(`{kind: vf-tracked, tracker: ${tracker}}`))).find((s) => s.component === "dirty-log-read")!.name;
    expect(await name("iommufd")).toMatch(/IOMMU/);
    expect(await name("device")).toMatch(/device/i);
    expect(await name("device")).not.toMatch(/IOMMU/);
  });
});
