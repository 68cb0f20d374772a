// Evacuating hosts (issue 16): the must-shows. A VM alone is its `simulate` result; two
// link-bound VMs at once each take twice as long and drain as fast as one after the other;
// a VM that cannot converge is aborted by the policy's timeout while the others complete.

import { describe, expect, it } from "vitest";
import { loadFleet } from "../src/scenario/fleet.js";
import { ScenarioError } from "../src/scenario/load.js";
import { evacuate } from "../src/sim/fleet.js";
import { summarize } from "../src/sim/fleet-summary.js";
import { simulate } from "../src/sim/simulate.js";
import { scenario } from "./helpers.js";

const fleet = (vms: string, policy = "{preset: kubevirt}", nic = "10Gbit/s") => `
name: t
seed: 7
hosts: [{name: a, nic: ${nic}}, {name: b, nic: ${nic}}]
fabric: {bandwidth: 100Gbit/s, latency: 0.05ms}
vms:
${vms}
evacuate: {from: [a], to: [b]}
probe: {interval: 1ms}
policy: ${policy}
`;

const busy = "{memory: 1GiB, used: 768MiB, workload: {kind: uniform, workingSet: 64MiB, rate: 2000}}";
const run = async (text: string) => evacuate(loadFleet(text, "fleet.yaml")[0].plan);
/**
 * The fleet's lone `busy` VM as a scenario, written out by hand: the link a dedicated migration
 * between the hosts has, KubeVirt's bandwidthPerMigration 0 (unlimited), and no give-up bound of
 * livemig's own (the policy's timeouts bound a fleet migration; 30 days is the field's most).
 */
const soloScenario = (devices = "") =>
  scenario(`
name: solo
seed: 7
vm: ${busy}
link: {bandwidth: 10Gbit/s, latency: 0.05ms}
migration: {maxBandwidth: 0, giveUp: {time: 2592000s}}
probe: {interval: 1ms}
${devices}`);

describe("evacuate", () => {
  it("one VM alone gives exactly the simulate result of the same VM", async () => {
    const out = await run(fleet(`  - {name: solo, host: a, vm: ${busy}, devices: [{kind: vf-tracked}]}`));
    const alone = await simulate(soloScenario("devices: [{kind: vf-tracked}]\n"));
    expect(out.vms).toHaveLength(1);
    expect(out.vms[0].result).toEqual(alone);
    expect(alone.status).toBe("completed");
  });

  it("with a machine profile, one VM alone gives exactly simulate --profile's result (the profile's stream caps the flow)", async () => {
    // A stream of 40 MB/s, far below the 10 Gbit/s NICs: the profile, not the link, binds.
    const profile = { copyBytesPerSecond: 40e6, pageReadBytesPerSecond: 5e9, sourceFirstReadUsPerPage: 2, setupMs: 6, switchoverMs: 14, qemu: "10.0.2" };
    const text = fleet(`  - {name: solo, host: a, vm: ${busy}}`);
    const plan = loadFleet(text, "fleet.yaml")[0].plan;
    const out = await evacuate({ ...plan, profile });
    const alone = await simulate(soloScenario(), { profile });
    expect(out.vms[0].result).toEqual(alone);
    expect(alone.status).toBe("completed");
    // And the profile did apply: 768 MiB at 40 MB/s takes at least 20 s, against ~0.7 s at 10 Gbit/s.
    expect(alone["total-time"]).toBeGreaterThan((768 * 2 ** 20 * 1000) / 40e6);
    expect((await evacuate(plan)).vms[0].result["total-time"]).toBeLessThan(2000);
  });

  it("two link-bound VMs at parallelism 2 each take ~2x alone; the drain equals the serial drain within 10 %", async () => {
    // 1 Gbit/s NICs: the link, not the sender's page reads (15 GB/s), bounds each stream.
    const idle = "{memory: 4GiB, used: 3GiB}";
    const two = `  - {name: vm, host: a, count: 2, vm: ${idle}}`;
    const alone = (await run(fleet(`  - {name: vm, host: a, vm: ${idle}}`, undefined, "1Gbit/s"))).vms[0].result["total-time"];
    const parallel = await run(fleet(two, "{preset: kubevirt, parallelOutboundMigrationsPerNode: 2}", "1Gbit/s"));
    const serial = await run(fleet(two, "{preset: kubevirt, parallelOutboundMigrationsPerNode: 1}", "1Gbit/s"));
    expect(parallel.vms.map((v) => v.start)).toEqual([0, 0]);
    for (const v of parallel.vms) {
      expect(v.result.status).toBe("completed");
      expect(v.result["total-time"] / alone).toBeGreaterThan(1.8);
      expect(v.result["total-time"] / alone).toBeLessThan(2.2);
    }
    expect(serial.vms[1].start).toBeGreaterThanOrEqual(serial.vms[0].end - 0.001); // one after the other (times to 3 decimals)
    const ratio = summarize(parallel)["drain-time"] / summarize(serial)["drain-time"];
    expect(ratio).toBeGreaterThan(0.9);
    expect(ratio).toBeLessThan(1.1);
  });

  it("a source's next migration starts at the previous one's resume, not after its announce rounds", async () => {
    // One slot per source: the second VM waits for the first. The orchestrator's slot is free
    // when QEMU reports "completed" (at the resume); QEMU's announce rounds (0, 50, 200, 450,
    // 800 ms after it) and failover's hot-plug run on without holding it.
    const idle = "{memory: 4GiB, used: 3GiB}";
    const out = await run(fleet(`  - {name: vm, host: a, count: 2, vm: ${idle}, devices: [{kind: vf-failover}]}`, "{preset: kubevirt, parallelOutboundMigrationsPerNode: 1}", "1Gbit/s"));
    const [first, second] = out.vms;
    expect(first.result.status).toBe("completed");
    expect(second.start).toBeCloseTo(first.end, 2);
    // By hand: the second starts 0 ms after the first's resume, where the old scheduler waited
    // for the last announce round, 800 ms later; the drain is the two migrations back to back.
    expect(summarize(out)["drain-time"]).toBeCloseTo(first.result["total-time"] + second.result["total-time"], 2);
  });

  it("a VM that cannot converge is aborted by completionTimeoutPerGiB, with the reason, while the others complete", async () => {
    // 1M page writes/s (4 GB/s) against a 10 Gbit/s NIC: never converges. 10 s/GiB x 1 GiB.
    const vms = `  - {name: hog, host: a, vm: {memory: 1GiB, workload: {kind: uniform, workingSet: 512MiB, rate: 1000000}}}
  - {name: quiet, host: a, count: 2, vm: ${busy}}`;
    const out = await run(fleet(vms, "{preset: kubevirt, completionTimeoutPerGiB: 10s, parallelOutboundMigrationsPerNode: 3}"));
    const hog = out.vms.find((v) => v.vm === "hog")!;
    expect(hog.result.status).toBe("failed");
    expect(hog.result["error-desc"]).toMatch(/cancelled by kubevirt: completionTimeoutPerGiB: not completed within 10 s/);
    expect(hog.actions.map((a) => a.action)).toEqual(["abort"]);
    // Cancelled at the deadline, ended within one send of it.
    expect(hog.result["total-time"]).toBeGreaterThanOrEqual(10_000);
    expect(hog.result["total-time"]).toBeLessThan(10_100);
    for (const v of out.vms.filter((x) => x.vm !== "hog")) expect(v.result.status).toBe("completed");
    expect(summarize(out)).toMatchObject({ completed: 2, failed: 1 });
  });

  it("nova's force_complete pauses the guest, which then converges; the result says so", async () => {
    const vms = `  - {name: hog, host: a, vm: {memory: 1GiB, workload: {kind: uniform, workingSet: 512MiB, rate: 1000000}}}`;
    const out = await run(fleet(vms, "{preset: nova, live_migration_completion_timeout: 5s, live_migration_timeout_action: force_complete}"));
    const hog = out.vms[0];
    // nova's completion timeout counts at least 2 GiB: 10 s.
    expect(hog.actions.filter((a) => a.action === "force-complete").map((a) => a.t)).toEqual([10_000]);
    expect(hog.result.status).toBe("completed");
    expect(hog.result.warnings.join(" ")).toMatch(/paused by nova at 10000 ms/);
  });

  it("nova raises the downtime limit in steps: 50 ms, then +45 ms every 75 s/GiB x 2 GiB", { timeout: 30_000 }, async () => {
    // 100k page writes/s (400 MB/s) over 1 Gbit/s (125 MB/s): never converges.
    const vms = `  - {name: hog, host: a, vm: {memory: 1GiB, workload: {kind: uniform, workingSet: 64MiB, rate: 100000}}}`;
    const out = await run(fleet(vms, "{preset: nova, live_migration_completion_timeout: 200s}", "1Gbit/s"));
    const steps = out.vms[0].actions.filter((a) => a.action === "set-downtime").map((a) => [a.t, a.downtimeMs]);
    expect(steps.slice(0, 3)).toEqual([[0, 50], [150_000, 95], [300_000, 140]]);
    expect(out.vms[0].result["error-desc"]).toMatch(/live_migration_completion_timeout/);
  });

  it("refuses post-copy policies and unknown hosts with one line naming the place", () => {
    const vm = `  - {name: x, host: a, vm: ${busy}}`;
    const error = (text: string) => {
      try {
        loadFleet(text, "fleet.yaml");
      } catch (e) {
        if (e instanceof ScenarioError) return e.message;
        throw e;
      }
      return "no error";
    };
    expect(error(fleet(vm, "{preset: kubevirt, allowPostCopy: true}"))).toMatch(/^fleet\.yaml:\d+: policy\.allowPostCopy: post-copy is not modelled yet/);
    expect(error(fleet(vm, "{preset: ovirt-post-copy}"))).toMatch(/^fleet\.yaml:\d+: policy\.preset: .*post-copy is not modelled yet/);
    expect(error(fleet(`  - {name: x, host: z, vm: ${busy}}`))).toMatch(/^fleet\.yaml:7: vms\.0\.host: expected one of the hosts \(a, b\), got "z"/);
    expect(error(fleet(vm, "{preset: nova, parallelMigrationsPerCluster: 3}"))).toMatch(/^fleet\.yaml:\d+: policy: unknown key "parallelMigrationsPerCluster"/);
  });
});
