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

/** vf-tracked's default costs by name. */
const vfc = Object.fromEntries(Object.entries(vfTrackedCosts).map(([k, v]) => [k, v.value])) as Record<keyof typeof vfTrackedCosts, number>;

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

  it("a bound reached while waiting for the ack says the ack is missing, not that pending is too high", async () => {
    // 331 ms of allocation against a 100 ms bound: the idle guest has converged long before.
    const r = await run(vfTracked(device(true)).replace("migration: {maxBandwidth: 0}", "migration: {maxBandwidth: 0, giveUp: {time: 100ms}}"));
    expect(r.status).toBe("failed");
    expect(r["error-desc"]).toMatch(/below the .* threshold, but the destination has not acknowledged the switch-over \(switchover-ack\)/);
    expect(r["error-desc"]).not.toMatch(/stays above/);
  });

  it("a bound reached with the ack missing and pending above the threshold says pending stays above, not that the ack is missing", async () => {
    // 64 MiB of a uniform 64 MiB working set written at 1M pages/s (4 GB/s) over a 100 Gbit/s link with a 1 ms limit:
    // the threshold (12.5 MB) never holds the working set, and the 100 ms bound comes inside the 331 ms allocation.
    const vm = "{memory: 2GiB, used: 512MiB, workload: {kind: uniform, workingSet: 64MiB, rate: 1000000}}";
    const r = await run(vfTracked(device(true), vm).replace("migration: {maxBandwidth: 0}", "migration: {maxBandwidth: 0, downtimeLimit: 1ms, giveUp: {time: 100ms}}"));
    expect(r.status).toBe("failed");
    expect(r["error-desc"]).toMatch(/^did not converge within 0.1 s; pending .* stays above the .* threshold$/);
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

describe("vf-tracked: the device's own work in the downtime (deviceTiming mlx5-cx7)", () => {
  const stopCopy = 32 * MiB;
  const device = (timing: string, extra = "") => `{kind: vf-tracked, preCopyBytes: ${8 * MiB}, stopCopyBytes: ${stopCopy}, switchoverAck: true, deviceTiming: ${timing}${extra}}`;

  it("adds the transitions (half at stop, half at resume) and the STOP_COPY save and load at their rates", async () => {
    const [assumed, mlx5] = [await run(vfTracked(device("assumed"))), await run(vfTracked(device("mlx5-cx7")))];
    const part = (r: Result, k: string) => r["downtime-breakdown"]![k] ?? 0;
    expect(part(mlx5, "device-stop")).toBeCloseTo(vfc.mlx5TransitionMs / 2, 3);
    expect(part(mlx5, "device-start")).toBeCloseTo(vfc.mlx5TransitionMs / 2, 3);
    expect(part(mlx5, "device-save")).toBeCloseTo(vfc.mlx5SaveMsPerMiB * 32, 3);
    expect(part(mlx5, "device-load")).toBeCloseTo(vfc.mlx5LoadMsPerMiB * 32, 3);
    expect(part(assumed, "device-save") + part(assumed, "device-load")).toBe(0);
    // With the ack both stop at the same instant, so the downtimes differ by exactly those terms.
    const added = vfc.mlx5TransitionMs - vfc.stopMs - vfc.resumeMs + (vfc.mlx5SaveMsPerMiB + vfc.mlx5LoadMsPerMiB) * 32;
    expect(mlx5.downtime! - assumed.downtime!).toBeCloseTo(added, 2);
  });

  it("the derived rates give back the per-VF slopes of Szmigiero's figures over the main channel and over multifd", () => {
    // Over the main channel each VF adds transitions + save + wire + load; over multifd only
    // the transitions stay serial. 100 MiB at 100 Gbit/s on the wire.
    const wire = ((100 * MiB * 8) / 100e9) * 1000;
    const vfs = [1, 2, 4];
    const slope = (ys: number[]) => {
      const mx = vfs.reduce((a, b) => a + b) / 3;
      const my = ys.reduce((a, b) => a + b) / 3;
      return vfs.reduce((n, x, i) => n + (x - mx) * (ys[i] - my), 0) / vfs.reduce((n, x) => n + (x - mx) ** 2, 0);
    };
    expect(vfc.mlx5TransitionMs + (vfc.mlx5SaveMsPerMiB + vfc.mlx5LoadMsPerMiB) * 100 + wire).toBeCloseTo(slope([487, 859, 1900]), 0);
    expect(vfc.mlx5TransitionMs).toBeCloseTo(slope([366, 556, 1095]), 1);
  });
});

describe("vf-tracked: STOP_COPY data over multifd (multifdDeviceState, QEMU 10.0)", () => {
  const stopCopy = 32 * MiB;
  const vf = (multifd: boolean) => `{kind: vf-tracked, preCopyBytes: ${8 * MiB}, stopCopyBytes: ${stopCopy}, switchoverAck: true, deviceTiming: mlx5-cx7, multifdDeviceState: ${multifd}}`;
  const twoVfs = (multifd: boolean, migration = "{maxBandwidth: 0, multifd: {channels: 4}}") => `
name: vfio
vm: {memory: 2GiB, used: 512MiB, workload: {kind: idle}}
link: {bandwidth: 100Gbit/s}
migration: ${migration}
devices: [${vf(multifd)}, ${vf(multifd)}]
`;

  it("is refused without the multifd capability, with QEMU's message, before anything is sent", async () => {
    const r = await run(twoVfs(true, "{maxBandwidth: 0}"));
    expect(r.status).toBe("failed");
    expect(r["error-desc"]).toBe("vf-tracked: Multifd device transfer requested but unsupported in the current config");
    expect(r.ram.transferred).toBe(0);
    // The same devices on the main channel migrate.
    expect((await run(twoVfs(false, "{maxBandwidth: 0}"))).status).toBe("completed");
  });

  it("saves and loads the devices side by side: one device's save and load leave the downtime", async () => {
    const [main, multifd] = [await run(twoVfs(false)), await run(twoVfs(true))];
    expect(multifd.status).toBe("completed");
    const saveAndLoad = (vfc.mlx5SaveMsPerMiB + vfc.mlx5LoadMsPerMiB) * 32;
    const part = (r: Result, k: string) => r["downtime-breakdown"]![k] ?? 0;
    // Over multifd the two saves start together once the devices have stopped, beside the final
    // sync and RAM; over the main channel they follow the final RAM, one after the other.
    const saves = spans(multifd, "device-save");
    expect(saves).toHaveLength(2);
    expect(saves[0].t).toBe(saves[1].t);
    expect(saves[0].t).toBe(spans(multifd, "device-stop")[1].end);
    const mainSaves = spans(main, "device-save");
    expect(mainSaves[0].t).toBeCloseTo(spans(main, "final-ram")[0].end, 6);
    expect(mainSaves[1].t).toBeCloseTo(mainSaves[0].end, 6);
    // Saved: one device's save and load, and the final sync and RAM the saves overlapped.
    expect(part(multifd, "device-save")).toBeLessThan(part(main, "device-save"));
    expect(main.downtime! - multifd.downtime!).toBeCloseTo(saveAndLoad + (mainSaves[0].t - saves[0].t), 2);
  });

  it("a device without mlx5's timing (no save step of its own) sends its state over multifd too", async () => {
    const r = await run(twoVfs(true).replaceAll(", deviceTiming: mlx5-cx7", ""));
    expect(r.status).toBe("completed");
    expect(r.vfio).toEqual({ transferred: 2 * (8 * MiB + stopCopy) });
  });

  it("the state counts in vfio.transferred either way, and in multifd-bytes when it goes over multifd", async () => {
    const [main, multifd] = [await run(twoVfs(false)), await run(twoVfs(true))];
    expect(main.vfio).toEqual({ transferred: 2 * (8 * MiB + stopCopy) });
    expect(multifd.vfio).toEqual({ transferred: 2 * (8 * MiB + stopCopy) });
    expect(multifd.ram["multifd-bytes"]! - main.ram["multifd-bytes"]!).toBe(2 * stopCopy);
    // Either way the state is stream the downtime carries once: in transferred and in downtime-bytes (an idle
    // guest's final pass is empty, so the two runs' downtime streams differ only in the channel the state took).
    const besideMultifd = (r: Result) => r.ram.transferred - r.ram["multifd-bytes"]!;
    expect(besideMultifd(main) - besideMultifd(multifd)).toBe(2 * stopCopy);
    expect(multifd.ram["downtime-bytes"]).toBe(main.ram["downtime-bytes"]);
    // Each device's STOP_COPY data is recorded as such, whichever channel took it; over multifd each goes in a
    // span of its own on the source, and the destination waits for both loaded in one.
    for (const r of [main, multifd]) {
      const data = r.timeline.filter((e): e is Extract<typeof e, { kind: "device-data" }> => e.kind === "device-data" && e.phase === "stop-copy");
      expect(data.map((e) => [e.device, e.bytes])).toEqual([["vf-tracked", stopCopy], ["vf-tracked", stopCopy]]);
    }
    // (and the main channel's device state, which then holds no device's data).
    const state = spans(multifd, "device-state").map((e) => `${e.name} (${e.side})`).sort();
    expect(state).toEqual([
      "device state (source)",
      "vf-tracked state over multifd (source)",
      "vf-tracked state over multifd (source)",
      "wait for device state loaded over multifd (destination)",
    ]);
  });
});

describe("vf-tracked: PRE_COPY data re-sent as the device state changes (preCopyDirtyBytesPerSecond)", () => {
  const rate = 10e6; // B/s
  const device = (r: number, ack = true) => `{kind: vf-tracked, preCopyBytes: ${64 * MiB}, stopCopyBytes: ${8 * MiB}, switchoverAck: ${ack}, preCopyDirtyBytesPerSecond: ${r}}`;

  it("sends what changed while precopy runs, a buffer (1 MiB) at a time or once a window, counted in vfio.transferred", async () => {
    const r = await run(vfTracked(device(rate)));
    expect(r.status).toBe("completed");
    const data = r.timeline.filter((e): e is Extract<typeof e, { kind: "device-data" }> => e.kind === "device-data");
    const dirty = data.filter((e) => e.phase === "pre-copy").slice(1);
    expect(dirty.length).toBeGreaterThan(0);
    const sent = dirty.reduce((n, e) => n + e.bytes, 0);
    expect(r.vfio).toEqual({ transferred: 64 * MiB + 8 * MiB + sent });
    // What changed from the initial data's arrival to the stop, less at most what built up since the last send (< 1 MiB, or one window's worth).
    const from = spans(r, "device-precopy")[0].end;
    const changed = (rate * (at(r, "vm-stop") - from)) / 1000;
    expect(sent).toBeLessThanOrEqual(changed + 1);
    expect(sent).toBeGreaterThanOrEqual(changed - Math.max(MiB, rate * 0.1) - 1);
  });

  it("counts in the pending amount: a device changing faster than the capped link keeps the switch-over away", async () => {
    const capped = (r: number) => `
name: vfio
vm: {memory: 1GiB, used: 256MiB, workload: {kind: idle}}
link: {bandwidth: 10Gbit/s}
migration: {maxBandwidth: 400MB/s, giveUp: {time: 20s}}
devices: [${device(r, false)}]
`;
    // The RAM alone converges in well under a second; a device changing 900 MB/s, sharing the
    // 400 MB/s with it, keeps the pending amount above the threshold.
    expect((await run(capped(0))).status).toBe("completed");
    const busy = await run(capped(900e6));
    expect(busy.status).toBe("failed");
    expect(busy["error-desc"]).toMatch(/did not converge within 20 s/);
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
