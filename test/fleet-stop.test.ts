// The drain's early stops, which the plan search uses (src/sim/fleet.ts `EvacuateOptions`), on
// 64 MiB guests so that each run takes milliseconds (and can run under mutation, docs/mutation.md):
// a bound on the drain's time, and a stop at the first failed VM. Each expectation is the rule as
// `EvacuateOptions` states it, set against the same drain run without the option.

import { describe, expect, it } from "vitest";
import { evacuate, type FleetPlan, type FleetPolicy, type FleetVm } from "../src/sim/fleet.js";
import { scenario } from "./helpers.js";

const idle = "{memory: 64MiB, used: 1MiB}";
// Every page written between any two syncs: never converges, so the completion timeout cancels it.
const hog = "{memory: 64MiB, workload: {kind: uniform, workingSet: 64MiB, rate: 10000000}}";
// 16 s/GiB x 1/16 GiB: the hog is cancelled 1000 ms after its start.
const abortAt1s = { completion: { msPerGiB: 16_000, minGiB: 0, action: "abort" as const, option: "timeout" } };

const vm = (name: string, spec: string): FleetVm => ({
  name,
  host: "a",
  scenario: scenario(`name: ${name}\nvm: ${spec}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\n`),
});

const plan = (vms: FleetVm[], p: Partial<FleetPolicy> = {}): FleetPlan => ({
  name: "stops",
  seed: 7,
  hosts: ["a", "b"].map((name) => ({ name, nic: 1e9 / 8 })),
  vms,
  from: ["a"],
  to: ["b"],
  policy: { name: "test", perCluster: 1, perSource: 1, ...p },
  order: "given",
});

describe("a bound on the drain's time (stopAtMs)", () => {
  it("still draining at the bound: stopped there, what runs is cancelled, nothing more starts", async () => {
    const p = plan([vm("one", idle), vm("two", idle), vm("three", idle)]);
    const full = await evacuate(p);
    expect(full.stopped).toBeUndefined();
    const [one, two] = full.vms;
    // Within the second VM's migration, one after the other (perCluster 1).
    expect(two.start).toBeGreaterThanOrEqual(one.end);
    const bound = Math.floor((two.start + two.end) / 2);
    expect(bound).toBeGreaterThan(two.start);
    const out = await evacuate(p, { stopAtMs: bound });
    expect(out.stopped).toEqual({ t: bound, reason: `still draining at ${bound} ms` });
    // The first as without the bound; the second cancelled at the bound; the third never started.
    expect(out.vms.map((v) => v.vm)).toEqual(["one", "two"]);
    expect(out.vms[0]).toEqual(one);
    expect(out.vms[1].result.status).toBe("failed");
    expect(out.vms[1].result["error-desc"]).toContain(`drain stopped: still draining at ${bound} ms`);
    expect(out.vms[1].end).toBeLessThan(two.end);
  });

  it("a drain that ends before its bound is not stopped: the same run as without one", async () => {
    const p = plan([vm("one", idle), vm("two", idle)]);
    const full = await evacuate(p);
    const last = full.vms[full.vms.length - 1].end;
    const out = await evacuate(p, { stopAtMs: Math.ceil(last) + 1000 });
    expect(out).toEqual(full);
    expect("stopped" in out).toBe(false);
  });
});

describe("a stop at the first failed VM (stopOnFailure)", () => {
  it("stops when a VM fails with others still to go: the others never start", async () => {
    const p = plan([vm("hog", hog), vm("next", idle)], abortAt1s);
    // Without the option the next VM moves once the hog has failed.
    const full = await evacuate(p);
    expect(full.vms.map((v) => [v.vm, v.result.status])).toEqual([["hog", "failed"], ["next", "completed"]]);
    const out = await evacuate(p, { stopOnFailure: true });
    expect(out.vms.map((v) => [v.vm, v.result.status])).toEqual([["hog", "failed"]]);
    // Stopped when the hog's failure was reported: at its cancellation, 1000 ms, when its migration ended.
    expect(out.stopped).toEqual({ t: out.vms[0].end, reason: "hog failed" });
    expect(out.stopped!.t).toBeGreaterThanOrEqual(1000);
  });

  it("cancels the migrations still running when one fails", async () => {
    // Two at once on a 1 Gbit/s NIC: the 256 MiB in use take more than 2 s at 125 MB/s (sharing it with the hog
    // until 1000 ms), within their own completion timeout (16 s/GiB x 1/4 GiB = 4 s); still running at 1000 ms.
    const p = plan([vm("hog", hog), vm("slow", "{memory: 256MiB, used: 256MiB}")], { ...abortAt1s, perCluster: 2, perSource: 2 });
    const full = await evacuate(p);
    const slow = full.vms.find((v) => v.vm === "slow")!;
    expect(slow.result.status).toBe("completed");
    expect(slow.end).toBeGreaterThan(1000);
    const out = await evacuate(p, { stopOnFailure: true });
    const stopped = out.vms.find((v) => v.vm === "slow")!;
    expect(out.stopped?.reason).toBe("hog failed");
    expect(stopped.result.status).toBe("failed");
    expect(stopped.result["error-desc"]).toContain("drain stopped: hog failed");
  });

  it("a failure with nothing left to move stops nothing: the run as without the option", async () => {
    const p = plan([vm("first", idle), vm("hog", hog)], abortAt1s);
    const full = await evacuate(p);
    expect(full.vms.map((v) => v.result.status)).toEqual(["completed", "failed"]);
    const out = await evacuate(p, { stopOnFailure: true });
    expect(out).toEqual(full);
    expect("stopped" in out).toBe(false);
  });

  it("a VM paused by a force-complete and then stopped failed: no pause warning, only the failure", async () => {
    // Forced at 1000 ms (16 s/GiB x 1/16 GiB), the paused hog still has its 64 MiB to send (~0.5 s at
    // 1 Gbit/s) when the bound stops the drain at 1100 ms.
    const p = plan([vm("hog", hog)], { completion: { msPerGiB: 16_000, minGiB: 0, action: "force-complete", option: "x" } });
    const out = await evacuate(p, { stopAtMs: 1100 });
    const v = out.vms[0];
    expect(v.actions.map((a) => [a.t, a.action])).toEqual([[1000, "force-complete"]]);
    expect(v.result.status).toBe("failed");
    expect(v.result.warnings.filter((w) => w.startsWith("paused by"))).toEqual([]);
  });
});
