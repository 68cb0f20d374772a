// The plan search stops trials that can no longer win: it must pick what trying every ordering
// and limit to the end picks, and a stopped trial must be one that, run to the end, drains no
// sooner than the plan or loses a VM.

import { describe, expect, it } from "vitest";
import { loadFleet } from "../src/scenario/fleet.js";
import { evacuate, type FleetPlan } from "../src/sim/fleet.js";
import { planTrials, searchPlan, type PlanSearch } from "../src/sim/fleet-plan.js";
import { summarize } from "../src/sim/fleet-summary.js";

const fleet = (extra = "") => `
name: t
seed: 3
hosts: [{name: a, nic: 10Gbit/s}, {name: b, nic: 10Gbit/s}, {name: c, nic: 10Gbit/s}]
vms:
  - {name: big, host: a, vm: {memory: 2GiB, used: 1536MiB, workload: {kind: uniform, workingSet: 64MiB, rate: 20000}}}
  - {name: small, host: a, count: 2, vm: {memory: 512MiB, used: 256MiB, workload: {kind: uniform, workingSet: 16MiB, rate: 1000}}}
  - {name: mid, host: a, vm: {memory: 1GiB, used: 768MiB}}
${extra}
evacuate: {from: [a], to: [b, c]}
probe: {interval: 1ms}
policy: {preset: kubevirt, completionTimeoutPerGiB: 5s}
`;
const plan = (text: string): FleetPlan => loadFleet(text, "fleet.yaml")[0].plan;

/** Every trial run to its end, as the search did before it stopped any. */
async function exhaustive(p: FleetPlan) {
  const out = [];
  for (const c of planTrials(p)) out.push({ ...c, ...summarize(await evacuate({ ...p, order: c.order, policy: { ...p.policy, perCluster: c.perCluster, perSource: c.perSource } })) });
  return out;
}

/**
 * The file's own plan (its order, its limits cut to what can run at once: the last trial of that order) is run in
 * full and is that trial in `tried`; what the plan saves is its full drain less the best's. Returns its full run.
 */
function expectOwnPlan(p: FleetPlan, search: PlanSearch, full: Awaited<ReturnType<typeof exhaustive>>, best: { "drain-time": number }) {
  const own = full.filter((t) => t.order === p.order).at(-1)!;
  expect(search.given).toEqual({ order: own.order, perCluster: own.perCluster, perSource: own.perSource, "drain-time": own["drain-time"], completed: own.completed, failed: own.failed });
  expect(search.tried.find((t) => t.order === own.order && t.perCluster === own.perCluster && t.perSource === own.perSource)).toEqual(search.given);
  expect(search.saves).toBeCloseTo(own["drain-time"] - best["drain-time"], 3);
  return own;
}

describe("evacuate --plan search", () => {
  it("stops losing trials early and still finds the plan trying every trial to the end finds", async () => {
    const p = plan(fleet());
    const search = await searchPlan(p);
    const full = await exhaustive(p);
    const complete = full.filter((t) => t.failed === 0);
    // The first of the shortest, as the search breaks ties.
    const best = complete.reduce((b, t) => (t["drain-time"] < b["drain-time"] ? t : b));
    expect(search.best).toMatchObject({ order: best.order, perCluster: best.perCluster, perSource: best.perSource, "drain-time": best["drain-time"] });
    const stopped = search.tried.filter((t) => t.stopped);
    expect(stopped.length).toBeGreaterThan(0);
    for (const t of stopped) {
      const f = full.find((x) => x.order === t.order && x.perCluster === t.perCluster && x.perSource === t.perSource)!;
      // Stopped at the best drain found so far, which the whole trial does not beat.
      expect(t.stopped).toMatch(/^still draining at/);
      expect(f["drain-time"]).toBeGreaterThanOrEqual(t["drain-time"]);
      expect(f["drain-time"]).toBeGreaterThanOrEqual(best["drain-time"]);
    }
    // The trials run to the end give exactly the figures of the full runs.
    for (const t of search.tried.filter((x) => !x.stopped)) {
      const f = full.find((x) => x.order === t.order && x.perCluster === t.perCluster && x.perSource === t.perSource)!;
      expect([t["drain-time"], t.completed, t.failed]).toEqual([f["drain-time"], f.completed, f.failed]);
    }
    expectOwnPlan(p, search, full, best);
  }, 60_000);

  it("the file's own plan when another drains sooner: run in full, its own trial, and what the plan saves", async () => {
    // least-dirty-first sends the two small VMs first; its own trial is not stopped at the best drain
    // so far (as a losing trial would be): the file's plan is what is printed, and what it loses is the difference.
    const p = plan(fleet("order: least-dirty-first"));
    const search = await searchPlan(p);
    const full = await exhaustive(p);
    const best = full.filter((t) => t.failed === 0).reduce((b, t) => (t["drain-time"] < b["drain-time"] ? t : b));
    expect(expectOwnPlan(p, search, full, best)["drain-time"]).toBeGreaterThan(best["drain-time"]);
  }, 60_000);

  it("stops a trial at its first failed VM: it cannot be the plan", async () => {
    // 1M page writes/s against a 10 Gbit/s NIC never converges: aborted at 5 s/GiB x 1 GiB.
    const p = plan(fleet("  - {name: hog, host: a, vm: {memory: 1GiB, workload: {kind: uniform, workingSet: 512MiB, rate: 1000000}}}"));
    const search = await searchPlan(p);
    expect(search.best).toBeUndefined();
    // Every trial loses the hog; those with VMs still to move then are stopped there (where the
    // hog goes last, nothing is left to stop). The file's own runs in full: it is the run printed.
    for (const t of search.tried) expect(t.failed).toBeGreaterThanOrEqual(1);
    const stopped = search.tried.filter((t) => t.stopped);
    expect(stopped.length).toBeGreaterThan(0);
    for (const t of stopped) {
      expect(t.stopped).toBe("hog failed");
      // The hog is cancelled at 5 s after its start; nothing after that is simulated.
      expect(t["drain-time"]).toBeGreaterThanOrEqual(5000);
      expect(t.failed).toBeGreaterThanOrEqual(1);
    }
    expect(search.given.stopped).toBeUndefined();
    expect(search.given.failed).toBe(1);
  }, 60_000);
});

describe("evacuate --plan search, worked by hand", () => {
  // One VM: every ordering sends it alone, so every trial must run alike (the same VM, one slot).
  const solo = (order: string) => `
name: t
seed: 3
hosts: [{name: a, nic: 10Gbit/s}, {name: b, nic: 10Gbit/s}]
vms:
  - {name: solo, host: a, vm: {memory: 64MiB, used: 32MiB, workload: {kind: uniform, workingSet: 4MiB, rate: 2000}}}
evacuate: {from: [a], to: [b]}
order: ${order}
policy: {preset: kubevirt}
`;

  it("trials that must run alike are run once, their figures the first's; of equal drains the first tried is the plan", async () => {
    // The file's order is the last tried, so the first trial (given) is run on its own, without a
    // bound: it drains in the VM's time; the two after it are its twins, the last is the file's own.
    const p = plan(solo("least-dirty-first"));
    const search = await searchPlan(p);
    const own = summarize(await evacuate(p));
    expect(search.tried.map((t) => t.order)).toEqual(["given", "largest-first", "smallest-first", "least-dirty-first"]);
    for (const t of search.tried) {
      expect(t).toEqual({ order: t.order, perCluster: 1, perSource: 1, "drain-time": own["drain-time"], completed: 1, failed: 0 });
    }
    expect(search.best).toEqual(search.tried[0]);
    expect(search.saves).toBe(0);
  });

  it("a plan whose sources hold no VM has no trial: its own plan is the file's limits, moving nothing", async () => {
    const p = plan(solo("smallest-first"));
    const search = await searchPlan({ ...p, from: ["b"], to: ["a"] });
    expect(search.tried).toEqual([]);
    expect(search.best).toBeUndefined();
    expect(search.given).toMatchObject({ order: "smallest-first", perCluster: p.policy.perCluster, perSource: p.policy.perSource, completed: 0, failed: 0 });
  });
});

describe("evacuate --plan trials", () => {
  it("tries per source host up to the busiest source's VMs and per cluster up to all sources' slots, in each ordering", () => {
    // Sources a (3 VMs) and b (1); d's 4 VMs stay and count for no limit. KubeVirt 3 per cluster, 5 per node:
    // per source 1..min(5, 3); per cluster 1..min(3, perSource x 2 sources): 2 + 3 + 3 = 8 trials an ordering.
    const vm = "vm: {memory: 64MiB, used: 32MiB}";
    const p = plan(`
name: t
hosts: [{name: a, nic: 10Gbit/s}, {name: b, nic: 10Gbit/s}, {name: c, nic: 10Gbit/s}, {name: d, nic: 10Gbit/s}]
vms:
  - {name: x, host: a, count: 3, ${vm}}
  - {name: y, host: b, ${vm}}
  - {name: z, host: d, count: 4, ${vm}}
evacuate: {from: [a, b], to: [c]}
policy: {preset: kubevirt, parallelMigrationsPerCluster: 3, parallelOutboundMigrationsPerNode: 5}
`);
    const limits = [[1, 1], [1, 2], [2, 1], [2, 2], [2, 3], [3, 1], [3, 2], [3, 3]];
    const expected = ["given", "largest-first", "smallest-first", "least-dirty-first"].flatMap((order) => limits.map(([perSource, perCluster]) => ({ order, perCluster, perSource })));
    expect(planTrials(p)).toEqual(expected);
  });
});
