// The device paths since 2023 (issue 18): VFIO PRE_COPY state, switchover-ack and the tracker
// kinds; vDPA's parallel suspend, pre-created VQs, iterative state and early DRIVER_OK. The
// expected figures are derived by hand from the cost tables, not read off a run.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { vdpaCosts } from "../src/core/strategies/vdpa.js";
import { vfTrackedCosts } from "../src/core/strategies/vf-tracked.js";
import { parseQueryMigrate } from "../src/measure/query-migrate.js";
import { loadScenario } from "../src/scenario/load.js";
import { simulate } from "../src/sim/simulate.js";
import { mutating, run } from "./helpers.js";

const MiB = 2 ** 20;
type Result = Awaited<ReturnType<typeof simulate>>;
const spans = (r: Result, component: string) =>
  r.timeline.filter((e): e is Extract<typeof e, { kind: "span" }> => e.kind === "span" && e.component === component);
const at = (r: Result, kind: string) => r.timeline.find((e) => e.kind === kind)!.t;

const vfTracked = (device: string, vm = "{memory: 2GiB, used: 512MiB, workload: {kind: idle}}") => `
name: vfio
vm: ${vm}
link: {bandwidth: 100Gbit/s}
migration: {maxBandwidth: 0}
devices: [${device}]
`;

describe("vf-tracked: PRE_COPY data, allocation at the destination, switchover-ack", () => {
  const precopy = 64 * MiB;
  const stopCopy = 8 * MiB;
  const allocationMs = (vfTrackedCosts.allocationMsPerMiB.value * precopy) / MiB;
  const device = (ack: boolean) => `{kind: vf-tracked, preCopyBytes: ${precopy}, stopCopyBytes: ${stopCopy}, switchoverAck: ${ack}}`;

  it("vfio.transferred is the PRE_COPY plus the STOP_COPY data, and both are in ram's transferred stream", async () => {
    const r = await run(vfTracked(device(false)));
    expect(r.status).toBe("completed");
    expect(r.vfio).toEqual({ transferred: precopy + stopCopy });
  });

  it("without the ack, what is left of the allocation after the RAM has converged lands in the downtime", async () => {
    const r = await run(vfTracked(device(false)));
    const [alloc] = spans(r, "device-allocation");
    // The allocation starts once the PRE_COPY data has arrived and runs its full length.
    expect(alloc.end - alloc.t).toBeCloseTo(allocationMs, 6);
    expect(alloc.t).toBeGreaterThanOrEqual(spans(r, "device-precopy")[0].end);
    // An idle 2 GiB guest at 100 Gbit/s converges long before 331 ms of allocation ends: the
    // STOP_COPY data arrives, and its load waits for the rest of the allocation.
    const stop = at(r, "vm-stop");
    expect(stop).toBeLessThan(alloc.end);
    const loaded = spans(r, "device-state")[0].end;
    expect(r["downtime-breakdown"]!["device-allocation"]).toBeCloseTo(alloc.end - loaded, 2);
  });

  it("with switchover-ack the guest is stopped only after the allocation: none of it in the downtime", async () => {
    const [off, on] = [await run(vfTracked(device(false))), await run(vfTracked(device(true)))];
    const [alloc] = spans(on, "device-allocation");
    expect(at(on, "vm-stop")).toBeGreaterThanOrEqual(alloc.end);
    expect(on["downtime-breakdown"]!["device-allocation"] ?? 0).toBe(0);
    // The downtime saved: the allocation's part, and the RAM the source sent while it waited.
    const part = (r: Result, c: string) => r["downtime-breakdown"]![c] ?? 0;
    const saved = off.downtime! - on.downtime!;
    expect(saved).toBeCloseTo(part(off, "device-allocation") + part(off, "final-ram") - part(on, "final-ram"), 2);
    expect(on["total-time"] - off["total-time"]).toBeLessThanOrEqual(allocationMs);
    // The source kept syncing while it waited (QEMU's iteration loop goes on until the ack).
    expect(on.ram["dirty-sync-count"]).toBeGreaterThan(off.ram["dirty-sync-count"]);
  });

  it("the ack changes nothing when precopy outlasts the allocation", async () => {
    // 8 GiB of written RAM at 100 Gbit/s takes ~0.7 s: far longer than 5 ms of allocation.
    const small = `{kind: vf-tracked, preCopyBytes: ${MiB}, switchoverAck: %s}`;
    const vm = "{memory: 8GiB, used: 8GiB, workload: {kind: idle}}";
    const [off, on] = [await run(vfTracked(small.replace("%s", "false"), vm)), await run(vfTracked(small.replace("%s", "true"), vm))];
    expect(on.downtime).toBe(off.downtime);
    expect(on["total-time"]).toBe(off["total-time"]);
  });

  it("tracker: device reads a report per sync whatever the RAM size; iommufd walks the IO page table of all of it", async () => {
    for (const memory of ["2GiB", "8GiB"]) {
      const vm = `{memory: ${memory}, used: 256MiB, workload: {kind: idle}}`;
      const device = await run(vfTracked("{kind: vf-tracked, tracker: device}", vm));
      const iommufd = await run(vfTracked("{kind: vf-tracked, tracker: iommufd}", vm));
      for (const s of spans(device, "dirty-log-read")) expect(s.end - s.t).toBeCloseTo(vfTrackedCosts.deviceLogQueryMs.value, 9);
      const gib = Number(memory.replace("GiB", ""));
      for (const s of spans(iommufd, "dirty-log-read")) expect(s.end - s.t).toBeCloseTo(vfTrackedCosts.dirtyLogReadMsPerGiB.value * gib, 9);
    }
  });

  it("a vf-tracked run's vfio figure reads back from a query-migrate reply", () => {
    const reply = { status: "completed", "total-time": 900, ram: { transferred: 1 }, vfio: { transferred: 314572800 } };
    expect(parseQueryMigrate(JSON.stringify(reply)).value!.result.vfio).toEqual({ transferred: 314572800 });
  });
});

describe.skipIf(mutating)("vDPA options on the 2025 series' seed scenarios: each saving in the breakdown", () => {
  const queues = 8 * 2; // the seeds' 8 queue pairs, two data VQs each
  const c = Object.fromEntries(Object.entries(vdpaCosts).map(([k, v]) => [k, v.value])) as Record<keyof typeof vdpaCosts, number>;
  for (const file of ["2025-vdpa-39g.yaml", "2025-vdpa-128g.yaml"]) {
    it(`${file}: parallel suspend, pre-created VQs, iterative state and early DRIVER_OK each remove their part`, async () => {
      // The seed file with its variants replaced by the options (the series' early pinning under each).
      const early = "devices.0.pinning: early";
      const variants = `variants:
  - {name: early, set: {${early}}}
  - {name: early+parallel-suspend, set: {${early}, devices.0.parallelSuspend: true}}
  - {name: early+pre-created-vqs, set: {${early}, devices.0.preCreateVqs: true}}
  - {name: early+iterative-state, set: {${early}, devices.0.iterativeState: true}}
  - {name: early+early-driver-ok, set: {${early}, devices.0.iterativeState: true, devices.0.earlyDriverOk: true}}
  - {name: early+all, set: {${early}, devices.0.parallelSuspend: true, devices.0.preCreateVqs: true, devices.0.iterativeState: true, devices.0.earlyDriverOk: true}}
`;
      const runs = loadScenario(readFileSync(`scenarios/${file}`, "utf8").replace(/^variants:[\s\S]*$/m, variants), file);
      const r: Record<string, Result> = {};
      for (const v of runs) if (v.variant.startsWith("early")) r[v.variant] = await simulate(v.scenario);
      const part = (variant: string, component: string) => r[variant]["downtime-breakdown"]![component] ?? 0;
      expect(part("early", "suspend")).toBeCloseTo(c.suspendMsPerQueue * queues, 3);
      expect(part("early+parallel-suspend", "suspend")).toBeCloseTo(c.parallelSuspendMs, 3);
      expect(part("early", "vq-create")).toBeCloseTo(c.vqCreateMsPerQueue * queues, 3);
      expect(part("early+pre-created-vqs", "vq-create")).toBe(0);
      expect(part("early+pre-created-vqs", "vq-resume")).toBeCloseTo(c.resumeMsPerQueue * queues, 3);
      expect(part("early", "device-load")).toBeCloseTo(c.stateLoadMs, 3);
      expect(part("early+iterative-state", "device-load")).toBeCloseTo(c.iterativeStateLoadMs, 3);
      expect(r["early+iterative-state"].ram["downtime-bytes"]).toBeLessThan(r["early"].ram["downtime-bytes"]);
      expect(part("early", "cvq-restore")).toBeCloseTo(c.cvqCommandMs * c.cvqCommands, 3);
      expect(part("early+early-driver-ok", "cvq-restore")).toBe(0);
      // Together: every saving at once, and nothing else in the downtime changed.
      const saving = c.suspendMsPerQueue * queues - c.parallelSuspendMs
        + c.vqCreateMsPerQueue * queues - c.parallelResumeMs
        + c.stateLoadMs - c.iterativeStateLoadMs
        + c.cvqCommandMs * c.cvqCommands;
      const deviceState = (v: string) => part(v, "device-state") + part(v, "final-ram");
      expect(r["early"].downtime! - r["early+all"].downtime!).toBeCloseTo(saving + deviceState("early") - deviceState("early+all"), 1);
    }, 60_000);
  }
});

it("earlyDriverOk without iterativeState is refused with the reason, at the field", () => {
  const yaml = "name: x\nvm: {memory: 1GiB, workload: {kind: idle}}\nlink: {bandwidth: 10Gbit/s}\ndevices:\n  - {kind: vdpa, earlyDriverOk: true}\n";
  expect(() => loadScenario(yaml, "x.yaml")).toThrow(/x\.yaml:5: devices\.0\.earlyDriverOk: earlyDriverOk needs iterativeState: true/);
});
