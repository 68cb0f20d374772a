// The orchestrator's rules on small guests (64 to 256 MiB, a few ms of virtual time each), so that
// every rule can be checked quickly (and under mutation, docs/mutation.md): which VM goes first
// under each ordering, how many run at once per source and in the cluster, where each one goes,
// the policy's timers and stall schedule, and what the links carried. Each expected figure is
// worked out from the rule as the policies' documentation states it (docs/fleet.md), not from a run.

import { describe, expect, it } from "vitest";
import { departures, dirtyRate, evacuate, type FleetPlan, type FleetPolicy, type FleetVm, type StallStep, type VmRun } from "../src/sim/fleet.js";
import { utilisationBinMs } from "../src/sim/network.js";
import { simulate, type MachineProfile } from "../src/sim/simulate.js";
import { scenario } from "./helpers.js";

const MiB = 2 ** 20;
const idle = (memory: string) => `{memory: ${memory}, used: 1MiB}`;
// Every page written between any two syncs (10M writes/s over 16384 pages): remaining data never falls.
const hog = "{memory: 64MiB, workload: {kind: uniform, workingSet: 64MiB, rate: 10000000}}";

const vm = (name: string, host: string, spec: string): FleetVm => ({
  name,
  host,
  scenario: scenario(`name: ${name}\nvm: ${spec}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\n`),
});

const policy = (p: Partial<FleetPolicy> = {}): FleetPolicy => ({ name: "test", perCluster: 1, perSource: 1, ...p });

const plan = (vms: FleetVm[], p: Partial<FleetPlan> = {}): FleetPlan => ({
  name: "rules",
  seed: 7,
  hosts: ["a", "b", "c", "d"].map((name) => ({ name, nic: 1e9 / 8 })),
  vms,
  from: ["a"],
  to: ["b"],
  policy: policy(),
  order: "given",
  ...p,
});

const startOrder = async (p: FleetPlan) => (await evacuate(p)).vms.map((v) => v.vm);

/** `next` started once `prev` had ended (its resume or failure); both times are rounded to 3 decimals. */
const startsAfter = (next: VmRun, prev: VmRun) => expect(next.start).toBeGreaterThanOrEqual(prev.end - 0.001);

describe("the order VMs leave in", () => {
  // 64, 128 and 32 MiB; writing 3000, 1000 and 2000 pages/s over 1 MiB (all converge at once).
  const three = [
    vm("v64", "a", "{memory: 64MiB, used: 1MiB, workload: {kind: uniform, workingSet: 1MiB, rate: 3000}}"),
    vm("v128", "a", "{memory: 128MiB, used: 1MiB, workload: {kind: uniform, workingSet: 1MiB, rate: 1000}}"),
    vm("v32", "a", "{memory: 32MiB, used: 1MiB, workload: {kind: uniform, workingSet: 1MiB, rate: 2000}}"),
  ];

  it("given, largest-first, smallest-first, least-dirty-first; one at a time, each once the one before has ended", async () => {
    expect(await startOrder(plan(three, { order: "given" }))).toEqual(["v64", "v128", "v32"]);
    expect(await startOrder(plan(three, { order: "largest-first" }))).toEqual(["v128", "v64", "v32"]);
    expect(await startOrder(plan(three, { order: "smallest-first" }))).toEqual(["v32", "v64", "v128"]);
    expect(await startOrder(plan(three, { order: "least-dirty-first" }))).toEqual(["v128", "v32", "v64"]);
    // An idle guest dirties nothing: first.
    expect(await startOrder(plan([...three, vm("idle", "a", idle("64MiB"))], { order: "least-dirty-first" }))).toEqual(["idle", "v128", "v32", "v64"]);
    const out = await evacuate(plan(three));
    for (const v of out.vms) expect(v.result.status).toBe("completed");
    expect(out.vms[0].start).toBe(0);
    // The next starts at the resume of the one before (QEMU's "completed"), not after its announce rounds.
    for (let i = 1; i < 3; i++) {
      startsAfter(out.vms[i], out.vms[i - 1]);
      expect(out.vms[i].start).toBeCloseTo(out.vms[i - 1].end, 2);
    }
  });

  it("least-dirty-first sorts by bytes dirtied per second (page writes x page size), across page sizes", () => {
    // 1000 writes/s of 4 KiB pages: 4,096,000 B/s; 10 writes/s of 2 MiB pages: 20,971,520 B/s. By writes
    // alone (or writes per byte of page) the huge-page guest would go first.
    const small = vm("small", "a", "{memory: 64MiB, used: 1MiB, workload: {kind: uniform, workingSet: 1MiB, rate: 1000}}");
    const huge = vm("huge", "a", "{memory: 64MiB, pageSize: 2MiB, used: 4MiB, workload: {kind: uniform, workingSet: 4MiB, rate: 10}}");
    expect([dirtyRate(small.scenario), dirtyRate(huge.scenario)]).toEqual([4_096_000, 20_971_520]);
    expect(departures(plan([huge, small]), "least-dirty-first").map((d) => d.vm.name)).toEqual(["small", "huge"]);
  });

  it("each VM's end is its start plus its total time; listed by start, then as the file lists them", async () => {
    // Both start at 0; the second, smaller, ends first: still listed second.
    const out = await evacuate(plan([vm("big", "a", idle("256MiB")), vm("small", "a", idle("32MiB")), vm("third", "a", idle("32MiB"))], { policy: policy({ perCluster: 2, perSource: 2 }) }));
    expect(out.vms.map((v) => v.vm)).toEqual(["big", "small", "third"]);
    expect(out.vms[2].start).toBeGreaterThan(0);
    for (const v of out.vms) expect(v.end - v.start).toBeCloseTo(v.result["total-time"], 3);
  });

  it("only the hosts being evacuated: a VM elsewhere stays", async () => {
    const out = await evacuate(plan([vm("stays", "c", idle("64MiB")), vm("goes", "a", idle("64MiB"))]));
    expect(out.vms.map((v) => v.vm)).toEqual(["goes"]);
  });
});

describe("how many at once", () => {
  const twoHosts = [vm("a1", "a", idle("64MiB")), vm("a2", "a", idle("64MiB")), vm("c1", "c", idle("64MiB"))];

  it("per source 1, cluster 2: one from each source at once; the second of a source when its first ends", async () => {
    const out = await evacuate(plan(twoHosts, { from: ["a", "c"], to: ["b", "d"], policy: policy({ perCluster: 2, perSource: 1 }) }));
    const by = new Map(out.vms.map((v) => [v.vm, v]));
    expect(by.get("a1")!.start).toBe(0);
    expect(by.get("c1")!.start).toBe(0);
    startsAfter(by.get("a2")!, by.get("a1")!);
    expect(by.get("a2")!.start).toBeGreaterThan(0);
  });

  it("per source 2, cluster 1: the cluster's limit holds", async () => {
    const out = await evacuate(plan(twoHosts, { from: ["a", "c"], to: ["b", "d"], policy: policy({ perCluster: 1, perSource: 2 }) }));
    for (let i = 1; i < 3; i++) startsAfter(out.vms[i], out.vms[i - 1]);
  });

  it("per source 2, cluster 2: two of one source at once", async () => {
    const out = await evacuate(plan(twoHosts.slice(0, 2), { policy: policy({ perCluster: 2, perSource: 2 }) }));
    expect(out.vms.map((v) => v.start)).toEqual([0, 0]);
  });
});

describe("where each VM goes: the destination with the least memory placed on it", () => {
  it("fills the emptier host first, the first listed on a tie, counting VMs already there", async () => {
    // b holds a 256 MiB VM that is not moving; d is empty. 64 MiB to d (0 < 256), 128 MiB to d
    // (64 < 256), 256 MiB to d (192 < 256), 32 MiB to b (256 < 448).
    const vms = [vm("resident", "b", idle("256MiB")), vm("m64", "a", idle("64MiB")), vm("m128", "a", idle("128MiB")), vm("m256", "a", idle("256MiB")), vm("m32", "a", idle("32MiB"))];
    const out = await evacuate(plan(vms, { to: ["b", "d"] }));
    expect(out.vms.map((v) => [v.vm, v.to])).toEqual([["m64", "d"], ["m128", "d"], ["m256", "d"], ["m32", "b"]]);
    // A tie goes to the first listed destination.
    const tie = await evacuate(plan([vm("x", "a", idle("64MiB"))], { to: ["d", "b"] }));
    expect(tie.vms[0].to).toBe("d");
  });

  it("a VM whose migration failed leaves nothing placed on its destination", async () => {
    // The hog is cancelled after 1 s; the 64 MiB VM after it then finds b as empty as d and takes b (listed first).
    const vms = [vm("hog", "a", hog), vm("next", "a", idle("64MiB"))];
    const out = await evacuate(plan(vms, { to: ["b", "d"], policy: policy({ completion: { msPerGiB: 16_000, minGiB: 0, action: "abort", option: "timeout" } }) }));
    expect(out.vms.map((v) => [v.vm, v.to, v.result.status])).toEqual([["hog", "b", "failed"], ["next", "b", "completed"]]);
  });
});

describe("the slot of a migration that completed unsafe", () => {
  it("is freed as a completed one's is: the next VM starts at its end", async () => {
    // A VF that does not track its DMA writes receive buffers behind the dirty log: QEMU reports
    // completed, livemig completed-unsafe; for the orchestrator the migration is over either way.
    const unsafe: FleetVm = {
      name: "unsafe",
      host: "a",
      scenario: scenario(
        "name: unsafe\nvm: {memory: 64MiB, used: 8MiB, workload: {kind: uniform, workingSet: 8MiB, rate: 1000, rx: {rate: 5kpps, size: 1500B}}}\n" +
          "link: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\ndevices: [{kind: vf-enlightened, trackDma: false}]\n",
      ),
    };
    const out = await evacuate(plan([unsafe, vm("next", "a", idle("64MiB"))]));
    expect(out.vms.map((v) => [v.vm, v.result.status])).toEqual([["unsafe", "completed-unsafe"], ["next", "completed"]]);
    startsAfter(out.vms[1], out.vms[0]);
    expect(out.vms[1].start).toBeCloseTo(out.vms[0].end, 2);
  });
});

describe("the policy's timers", () => {
  const syncTimes = (r: { timeline: { kind: string; t: number }[] }) => r.timeline.filter((e) => e.kind === "sync").map((e) => e.t);

  it("completion timeout, abort: cancelled at msPerGiB x the larger of the RAM and minGiB", async () => {
    // 10 s/GiB x max(1/16 GiB, 0.2 GiB) = 2000 ms.
    const out = await evacuate(plan([vm("hog", "a", hog)], { policy: policy({ completion: { msPerGiB: 10_000, minGiB: 0.2, action: "abort", option: "completionTimeout" } }) }));
    const v = out.vms[0];
    expect(v.actions).toEqual([{ t: 2000, action: "abort", reason: "completionTimeout: not completed within 2 s (10 s/GiB x 0.2 GiB)" }]);
    expect(v.result["error-desc"]).toBe("migration aborted: cancelled by test: completionTimeout: not completed within 2 s (10 s/GiB x 0.2 GiB)");
  });

  it("completion timeout, force-complete: the guest paused at the deadline, completing; the result says so", async () => {
    // 16 s/GiB x 1/16 GiB (above minGiB 0) = 1000 ms.
    const out = await evacuate(plan([vm("hog", "a", hog)], { policy: policy({ completion: { msPerGiB: 16_000, minGiB: 0, action: "force-complete", option: "x" } }) }));
    const v = out.vms[0];
    expect(v.actions.map((a) => [a.t, a.action])).toEqual([[1000, "force-complete"]]);
    expect(v.result.status).toBe("completed");
    expect(v.result.warnings).toContain(
      `paused by test at 1000 ms (x: not completed within 1 s (16 s/GiB x 0.1 GiB)); the guest was stopped from then until the resume at ${v.result["total-time"]} ms`,
    );
  });

  it("the pause warning: the force-complete's time from the VM's own start, whatever other actions came before it", async () => {
    // Two hogs one after the other, each forced 1000 ms after its start (16 s/GiB x 1/16 GiB); a downtime
    // step at 0 s is the first action of each, before the force-complete.
    const p = policy({ downtimeSteps: () => [{ afterMs: 0, downtimeMs: 50 }], completion: { msPerGiB: 16_000, minGiB: 0, action: "force-complete", option: "x" } });
    const out = await evacuate(plan([vm("h1", "a", hog), vm("h2", "a", hog)], { policy: p }));
    expect(out.vms[1].start).toBeGreaterThan(1000);
    for (const v of out.vms) {
      expect(v.actions.map((a) => [a.t - v.start, a.action])).toEqual([[0, "set-downtime"], [1000, "force-complete"]].map(([t, a]) => [expect.closeTo(t as number, 2), a]));
      expect(v.result.warnings.filter((w) => w.startsWith("paused by"))).toEqual([
        `paused by test at 1000 ms (x: not completed within 1 s (16 s/GiB x 0.1 GiB)); the guest was stopped from then until the resume at ${v.result["total-time"]} ms`,
      ]);
    }
  });

  it("after a force-complete the other timers go on, and the force-complete is not taken again", async () => {
    // Forced at 1000 ms (16 s/GiB x 1/16 GiB); the paused hog still sends its 64 MiB (~0.5 s at 1 Gbit/s),
    // during which the downtime step at 1200 ms is due: taken once, and the deadline already passed is not.
    const p = policy({ downtimeSteps: () => [{ afterMs: 1200, downtimeMs: 400 }], completion: { msPerGiB: 16_000, minGiB: 0, action: "force-complete", option: "x" } });
    const v = (await evacuate(plan([vm("hog", "a", hog)], { policy: p }))).vms[0];
    expect(v.result["total-time"]).toBeGreaterThan(1200);
    expect(v.actions.map((a) => [a.t, a.action])).toEqual([[1000, "force-complete"], [1200, "set-downtime"]]);
    expect(v.result.parameters!["downtime-limit"]).toBe(400);
  });

  it("downtime steps: each limit set at its time, in order, and used", async () => {
    const steps = () => [{ afterMs: 0, downtimeMs: 50 }, { afterMs: 1000, downtimeMs: 95 }, { afterMs: 2500, downtimeMs: 140 }];
    // A progress timeout far off (100 s) must not fire at the steps' alarms.
    const p = policy({ downtimeSteps: steps, completion: { msPerGiB: 48_000, minGiB: 0, action: "abort", option: "x" }, progress: { timeoutMs: 100_000, option: "p" } });
    const v = (await evacuate(plan([vm("hog", "a", hog)], { policy: p }))).vms[0];
    expect(v.actions.filter((a) => a.action === "set-downtime").map((a) => [a.t, a.downtimeMs, a.reason])).toEqual([
      [0, 50, "downtime step 0 at 0 s"],
      [1000, 95, "downtime step 1 at 1 s"],
      [2500, 140, "downtime step 2 at 2.5 s"],
    ]);
    expect(v.result.parameters!["downtime-limit"]).toBe(140);
  });

  it("steps due after the migration has ended are not taken", async () => {
    const steps = () => [{ afterMs: 0, downtimeMs: 50 }, { afterMs: 1000, downtimeMs: 95 }];
    const v = (await evacuate(plan([vm("x", "a", idle("64MiB"))], { policy: policy({ downtimeSteps: steps }) }))).vms[0];
    expect(v.result["total-time"]).toBeLessThan(1000);
    expect(v.actions.map((a) => [a.t, a.downtimeMs])).toEqual([[0, 50]]);
  });

  it("the initial downtime limit replaces the file's", async () => {
    const v = (await evacuate(plan([vm("x", "a", idle("64MiB"))], { policy: policy({ initialDowntimeMs: 123 }) }))).vms[0];
    expect(v.result.parameters!["downtime-limit"]).toBe(123);
  });

  it("the policy's bandwidth cap replaces the file's", async () => {
    const v = (await evacuate(plan([vm("x", "a", idle("64MiB"))], { policy: policy({ maxBandwidth: 4 * MiB }) }))).vms[0];
    expect(v.result.parameters!["max-bandwidth"]).toBe(4 * MiB);
    // A policy without one keeps the file's.
    const own = { ...vm("y", "a", idle("64MiB")) };
    own.scenario = { ...own.scenario, migration: { ...own.scenario.migration, maxBandwidth: 2 * MiB } };
    const kept = (await evacuate(plan([own]))).vms[0];
    expect(kept.result.parameters!["max-bandwidth"]).toBe(2 * MiB);
  });

  it("the policy's auto-converge replaces the file's; a policy without one keeps it", async () => {
    // The hog dirties every page between syncs (far above half of what is sent), so auto-converge throttles it
    // once two periods in a row are high; run for 4 s (16 s/GiB x 0.25 GiB), then cancelled.
    const completion = { msPerGiB: 16_000, minGiB: 0.25, action: "abort" as const, option: "t" };
    const hogWith = (autoConverge: boolean) => {
      const v = vm("hog", "a", hog);
      return { ...v, scenario: { ...v.scenario, migration: { ...v.scenario.migration, autoConverge } } };
    };
    const throttle = async (file: boolean, own?: boolean) =>
      (await evacuate(plan([hogWith(file)], { policy: policy({ completion, ...(own === undefined ? {} : { autoConverge: own }) }) }))).vms[0].result["cpu-throttle-percentage"];
    expect(await throttle(true)).toBeGreaterThan(0);
    expect(await throttle(false, true)).toBeGreaterThan(0);
    expect(await throttle(true, false)).toBe(0);
  });

  it("progress timeout: cancelled once the remaining data has not fallen for that long since its lowest", async () => {
    const out = await evacuate(plan([vm("hog", "a", hog)], { policy: policy({ progress: { timeoutMs: 1500, option: "progressTimeout" } }) }));
    const v = out.vms[0];
    // The lowest is the first sync's (all of RAM dirty at every sync after it).
    const first = syncTimes(v.result)[0];
    expect(v.actions).toEqual([{ t: expect.closeTo(first + 1500, 3), action: "abort", reason: "progressTimeout: no progress for 2 s (remaining data has not fallen below 64.00 MiB)" }]);
  });

  it("a stall schedule without an abort: its steps once each, then nothing more", async () => {
    const stallSchedule = [{ stalls: 1, action: { setDowntimeMs: 500 } }];
    const p = policy({ stallSchedule, completion: { msPerGiB: 16_000, minGiB: 0, action: "abort", option: "timeout" } });
    const v = (await evacuate(plan([vm("hog", "a", hog)], { policy: p }))).vms[0];
    expect(v.actions.map((a) => a.action)).toEqual(["set-downtime", "abort"]);
    expect(v.actions[1].t).toBe(1000);
  });

  it("stall schedule: each step after its count of syncs without progress, counted from the lowest", async () => {
    const stallSchedule = [{ stalls: 2, action: { setDowntimeMs: 500 } }, { stalls: 4, action: "abort" as const }];
    const out = await evacuate(plan([vm("hog", "a", hog)], { policy: policy({ stallSchedule }) }));
    const v = out.vms[0];
    const syncs = syncTimes(v.result);
    // Sync 1 sets the lowest; syncs 2, 3, 4, 5 are stalls 1 to 4.
    expect(v.actions).toEqual([
      { t: expect.closeTo(syncs[2], 3), action: "set-downtime", downtimeMs: 500, reason: "2 iterations without progress (64.00 MiB remaining, lowest 64.00 MiB)" },
      { t: expect.closeTo(syncs[4], 3), action: "abort", reason: "convergence schedule exhausted after 4 iterations without progress (64.00 MiB remaining, lowest 64.00 MiB)" },
    ]);
    expect(v.result.status).toBe("failed");
  });

  it("once it has cancelled a migration it does nothing more to it: no later sync takes a step, no timer due before the failure acts", async () => {
    // The hog with a VF whose STOP_COPY transition takes 123.4 ms (mlx5 timing). Sync 1 (setup) sets the lowest
    // (all 64 MiB dirty, as at every sync after it); stall 1, the next sync, raises the downtime limit to 2 s, whose
    // threshold (1 Gbit/s x 2 s = 250 MB) is above the hog's 64 MiB once a window has closed; stall 2, the sync
    // then, is the abort, and there the migration has also converged: the switch-over begins (the guest stopped,
    // the VF's transition) and its first send fails on the cancelled stream. Its final sync (a stall 3) and a
    // downtime step due during the transition come after the abort: neither acts.
    const hogVf: FleetVm = {
      name: "hogvf",
      host: "a",
      scenario: scenario(`name: hogvf\nvm: ${hog}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\ndevices: [{kind: vf-tracked, deviceTiming: mlx5-cx7}]\n`),
    };
    const stallSchedule: StallStep[] = [{ stalls: 1, action: { setDowntimeMs: 2000 } }, { stalls: 2, action: "abort" }, { stalls: 3, action: { setDowntimeMs: 3000 } }];
    const run = async (p: Partial<FleetPolicy>) => (await evacuate(plan([hogVf], { policy: policy({ stallSchedule, ...p }) }))).vms[0];
    // Where the transition falls (a first run, without the timer): the step is set in its middle.
    const [transition] = (await run({})).result.timeline.flatMap((e) => (e.kind === "span" && e.name === "VF STOP_COPY" ? [e] : []));
    const stepAt = (transition.t + transition.end) / 2;
    const v = await run({ downtimeSteps: () => [{ afterMs: stepAt, downtimeMs: 4000 }] });
    const syncs = syncTimes(v.result);
    expect(v.actions).toEqual([
      { t: expect.closeTo(syncs[1], 3), action: "set-downtime", downtimeMs: 2000, reason: "1 iterations without progress (64.00 MiB remaining, lowest 64.00 MiB)" },
      { t: expect.closeTo(syncs[2], 3), action: "abort", reason: "convergence schedule exhausted after 2 iterations without progress (64.00 MiB remaining, lowest 64.00 MiB)" },
    ]);
    expect(v.result.status).toBe("failed");
    expect(v.result["error-desc"]).toBe(`migration aborted: cancelled by test: ${v.actions[1].reason}`);
    // The run is the one described: the switch-over's final sync after the abort, the step due between the abort and the failure.
    expect(syncs).toHaveLength(4);
    expect(syncs[3]).toBeGreaterThan(syncs[2]);
    expect(stepAt).toBeGreaterThan(syncs[2]);
    expect(stepAt).toBeLessThan(v.end);
  });
});

describe("the links and the VMs' own seeds", () => {
  it("each link carried every byte of the migrations through it; links that carried nothing are left out", async () => {
    const vms = [vm("a1", "a", idle("64MiB")), vm("a2", "a", idle("32MiB"))];
    const out = await evacuate(plan(vms, { fabric: { bandwidth: 10e9 / 8, latencyMs: 0 } }));
    const sent = out.vms.reduce((s, v) => s + v.result.ram.transferred, 0);
    expect(out.links.map((l) => [l.name, l.carried])).toEqual([["a tx", sent], ["b rx", sent], ["fabric", sent]]);
    // Each bin's share of the link's capacity, summed back over the bins, is what it carried, up to
    // the rounding of each share to 3 decimals (half a thousandth of a bin's capacity per bin).
    for (const l of out.links) {
      const binBytes = (l.capacity * utilisationBinMs) / 1000;
      const summed = l.utilisation.reduce((s, u) => s + u * binBytes, 0);
      expect(Math.abs(summed - l.carried)).toBeLessThanOrEqual(l.utilisation.length * 0.0005 * binBytes);
      expect(l.utilisation.every((u) => u > 0 && u <= 1)).toBe(true);
    }
  });

  it("the fabric's latency is each migration's link latency: a VM alone with a prober is `simulate` over that link", async () => {
    // What reads the latency besides the flow: the prober (a reply comes back one round trip after
    // its ping) and the modes' costs. 1 Gbit/s NICs and fabric, 5 ms one way.
    const probed = "name: p\nvm: {memory: 64MiB, used: 8MiB, workload: {kind: uniform, workingSet: 8MiB, rate: 20000}}\nprobe: {interval: 1ms}\nmigration: {maxBandwidth: 0}\n";
    const out = await evacuate(plan([{ name: "p", host: "a", scenario: scenario(`${probed}link: {bandwidth: 1Gbit/s}\n`) }], { fabric: { bandwidth: 1e9 / 8, latencyMs: 5 } }));
    const alone = await simulate(scenario(`${probed}link: {bandwidth: 1Gbit/s, latency: 5ms}\n`), { seed: 7 });
    expect(out.vms[0].result).toEqual(alone);
  });

  it("the second VM runs with the fleet's seed + 1: alone on the link, it is `simulate` with that seed", async () => {
    const busy = "{memory: 64MiB, used: 8MiB, workload: {kind: uniform, workingSet: 8MiB, rate: 20000}}";
    const out = await evacuate(plan([vm("first", "a", busy), vm("second", "a", busy)]));
    const alone = await simulate(scenario(`name: second\nvm: ${busy}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\n`), { seed: 8 });
    const other = await simulate(scenario(`name: second\nvm: ${busy}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\n`), { seed: 7 });
    expect(alone.ram.transferred).not.toBe(other.ram.transferred); // the seed shows in the result
    expect(out.vms[1].result.ram.transferred).toBe(alone.ram.transferred);
  });
});

describe("a machine profile (evacuate --profile)", () => {
  it("every migration runs on the profile's machine: a VM alone is `simulate --profile` of it, the profile's stream capping its flow", async () => {
    // 8 MiB used of 64 MiB, written at 500 pages/s over 1 MiB; the profile's one stream at 4 MB/s,
    // far below the 1 Gbit/s NICs (the shape of a calibrated profile, docs/validation.md).
    const guest = "{memory: 64MiB, used: 8MiB, workload: {kind: uniform, workingSet: 1MiB, rate: 500}}";
    const profile: MachineProfile = { copyBytesPerSecond: 4e6, pageReadBytesPerSecond: 5e9, sourceFirstReadUsPerPage: 2, setupMs: 6, switchoverMs: 14, qemu: "10.0.2" };
    const out = await evacuate(plan([vm("solo", "a", guest)], { profile }));
    const alone = await simulate(scenario(`name: solo\nvm: ${guest}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\n`), { seed: 7, profile });
    expect(out.vms[0].result).toEqual(alone);
    expect(alone.status).toBe("completed");
    // The cap applied: 8 MiB through a 4 MB/s stream takes over 2 s (at 1 Gbit/s, ~70 ms).
    expect(alone["total-time"]).toBeGreaterThan((8 * MiB * 1000) / 4e6);
  });
});
