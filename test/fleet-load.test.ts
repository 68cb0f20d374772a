// The fleet file (`livemig evacuate`) into the plan the scheduler runs, without running it:
// each orchestrator's defaults as its source states them (docs/fleet.md), nova's downtime steps
// worked out from nova's formula, oVirt's convergence schedule, the VMs a group expands to, and
// each refusal with its file, line, field and expectation (issue 19: src/scenario/fleet.ts had no
// test in the scenario mutation run).
import { describe, expect, it } from "vitest";
import { loadFleet } from "../src/scenario/fleet.js";
import { problemsOf } from "./helpers.js";

const fleet = (p: { vms?: string; policy?: string; extra?: string; hosts?: string; evacuate?: string } = {}) => `name: f
hosts: ${p.hosts ?? "[{name: a, nic: 10Gbit/s}, {name: b, nic: 10Gbit/s, streamRate: 8Gbit/s}]"}
vms:
${p.vms ?? "  - {name: web, host: a, vm: {memory: 1GiB}}"}
evacuate: ${p.evacuate ?? "{from: [a], to: [b]}"}
${p.policy === undefined ? "" : `policy: ${p.policy}\n`}${p.extra ?? ""}`;

const plan = (text: string) => loadFleet(text, "fleet.yaml")[0].plan;

const problems = (text: string) => problemsOf(() => loadFleet(text, "fleet.yaml"));

const s = 1000;

describe("the plan", () => {
  it("hosts, their stream rates only where given, no fabric unless given, seed 1, order as given", () => {
    const p = plan(fleet());
    expect(p.name).toBe("f");
    expect(p.seed).toBe(1);
    // Strictly: a host without a stream rate has no streamRate key.
    expect(p.hosts).toStrictEqual([{ name: "a", nic: 1.25e9 }, { name: "b", nic: 1.25e9, streamRate: 1e9 }]);
    expect(p.fabric).toBeUndefined();
    expect([p.from, p.to, p.order]).toEqual([["a"], ["b"], "given"]);
    expect(plan(fleet({ extra: "seed: 9\nfabric: {bandwidth: 100Gbit/s, latency: 0.5ms}\norder: largest-first\n" }))).toMatchObject({
      seed: 9, fabric: { bandwidth: 1.25e10, latencyMs: 0.5 }, order: "largest-first",
    });
  });
  it("a group of count VMs is name-1 .. name-count; each VM a scenario with the file's migration, probe, seed and the fabric's latency", () => {
    const p = plan(fleet({
      vms: "  - {name: web, host: a, count: 3, vm: {memory: 1GiB}, devices: [{kind: vdpa}]}\n  - {name: db, host: a, vm: {memory: 2GiB}}",
      extra: "seed: 5\nfabric: {bandwidth: 100Gbit/s, latency: 0.25ms}\nprobe: {interval: 2ms}\nmigration: {downtimeLimit: 50ms, giveUp: {passes: 7}}\n",
    }));
    expect(p.vms.map((v) => [v.name, v.host])).toEqual([["web-1", "a"], ["web-2", "a"], ["web-3", "a"], ["db", "a"]]);
    const web = p.vms[0].scenario;
    expect(web).toMatchObject({ name: "web-1", seed: 5, link: { bandwidth: 1, latency: 0.25 }, probe: { interval: 2 }, variants: [] });
    expect(web.migration).toMatchObject({ downtimeLimit: 50, giveUp: { passes: 7 } });
    expect(web.vm.memory).toBe(2 ** 30);
    expect(web.devices.map((d) => d.kind)).toEqual(["vdpa"]);
    expect(p.vms[3].scenario.devices).toEqual([{ kind: "virtio", options: { queuePairs: 1 }, costs: {} }]);
    expect(p.vms[3].scenario.vm.memory).toBe(2 * 2 ** 30);
    // Without a fabric the link's latency is 0.
    expect(plan(fleet()).vms[0].scenario.link).toEqual({ bandwidth: 1, latency: 0 });
  });
  it("a policy with a timeout bounds each migration: livemig's own give-up is lifted to 30 days, unless the file sets one", () => {
    const giveUp = (policy: string, extra = "") => plan(fleet({ policy, extra })).vms[0].scenario.migration.giveUp;
    const thirtyDays = { time: 30 * 86_400_000 };
    expect(giveUp("{preset: kubevirt}")).toEqual(thirtyDays);
    expect(giveUp("{preset: kubevirt, completionTimeoutPerGiB: 0}")).toEqual(thirtyDays); // the progress timeout
    expect(giveUp("{preset: kubevirt, progressTimeout: 0}")).toEqual(thirtyDays); // the completion timeout
    expect(giveUp("{preset: ovirt-minimal-downtime}")).toEqual(thirtyDays); // its schedule aborts
    expect(giveUp("{preset: nova, live_migration_completion_timeout: 0, live_migration_progress_timeout: 10s}")).toEqual(thirtyDays);
    // No timeout at all: livemig's default bound stays (the file's giveUp: {}).
    expect(giveUp("{preset: kubevirt, completionTimeoutPerGiB: 0, progressTimeout: 0}")).toEqual({});
    expect(giveUp("{preset: nova, live_migration_completion_timeout: 0}")).toEqual({});
    expect(giveUp("{preset: kubevirt}", "migration: {giveUp: {time: 60s}}\n")).toEqual({ time: 60_000 });
    expect(giveUp("{preset: kubevirt}", "migration: {giveUp: {passes: 4}}\n")).toEqual({ passes: 4 });
  });
});

describe("policies, with their sources' defaults", () => {
  const policy = (text?: string) => plan(fleet({ policy: text })).policy;
  it("KubeVirt (pkg/virt-config): 5 per cluster, 2 per node, unlimited bandwidth, 150 s per GiB and 150 s of no progress", () => {
    // A file without a policy gets KubeVirt with these defaults (it once got KubeVirt with none, and drained nothing).
    expect(policy()).toEqual(policy("{preset: kubevirt}"));
    expect(policy()).toEqual({
      name: "kubevirt", perCluster: 5, perSource: 2, maxBandwidth: 0, autoConverge: false,
      completion: { msPerGiB: 150 * s, minGiB: 0, action: "abort", option: "completionTimeoutPerGiB" },
      progress: { timeoutMs: 150 * s, option: "progressTimeout" },
    });
    expect(policy("{preset: kubevirt, parallelMigrationsPerCluster: 9, parallelOutboundMigrationsPerNode: 3, bandwidthPerMigration: 1Gbit/s, allowAutoConverge: true, completionTimeoutPerGiB: 0, progressTimeout: 0}")).toEqual({
      name: "kubevirt", perCluster: 9, perSource: 3, maxBandwidth: 1.25e8, autoConverge: true,
    });
  });
  it("nova (nova/conf): one migration at a time per host, 800 s per GiB (at least 2) then abort, no progress timeout", () => {
    const p = policy("{preset: nova}");
    expect(p).toMatchObject({
      name: "nova", perCluster: Infinity, perSource: 1, maxBandwidth: 0, autoConverge: false,
      completion: { msPerGiB: 800 * s, minGiB: 2, action: "abort", option: "live_migration_completion_timeout" },
    });
    expect(p.progress).toBeUndefined();
    expect(policy("{preset: nova, max_concurrent_live_migrations: 0}").perSource).toBe(Infinity);
    expect(policy("{preset: nova, max_concurrent_live_migrations: 3}").perSource).toBe(3);
    expect(policy("{preset: nova, live_migration_timeout_action: force_complete}").completion?.action).toBe("force-complete");
    expect(policy("{preset: nova, live_migration_completion_timeout: 0}").completion).toBeUndefined();
    expect(policy("{preset: nova, live_migration_progress_timeout: 30s, live_migration_bandwidth: 1GB/s, live_migration_permit_auto_converge: true}")).toMatchObject({
      progress: { timeoutMs: 30 * s, option: "live_migration_progress_timeout" }, maxBandwidth: 1e9, autoConverge: true,
    });
  });
  it("nova's downtime steps (migration.downtime_steps): downtime/steps, + (downtime - base)/steps each delay x max(GiB, 2), whole seconds and ms", () => {
    const steps = policy("{preset: nova}").downtimeSteps!;
    // 500 ms in 10 steps: base 50, offset 45; delay 75 s x 2 GiB = 150 s.
    expect(steps(1)).toEqual(Array.from({ length: 11 }, (_, i) => ({ afterMs: 150 * s * i, downtimeMs: 50 + 45 * i })));
    expect(steps(2)).toEqual(steps(1));
    // 3 GiB: 225 s; 2.5 GiB: int(187.5) = 187 s.
    expect(steps(3)[1]).toEqual({ afterMs: 225 * s, downtimeMs: 95 });
    expect(steps(2.5).slice(0, 3).map((x) => x.afterMs)).toEqual([0, 187 * s, 374 * s]);
    // 100 ms in 3 steps: base 33.3, offset 22.2: int() of 33.3, 55.6, 77.8, 100.
    const three = policy("{preset: nova, live_migration_downtime: 100ms, live_migration_downtime_steps: 3, live_migration_downtime_delay: 10s}").downtimeSteps!;
    expect(three(1)).toEqual([{ afterMs: 0, downtimeMs: 33 }, { afterMs: 20 * s, downtimeMs: 55 }, { afterMs: 40 * s, downtimeMs: 77 }, { afterMs: 60 * s, downtimeMs: 100 }]);
  });
  it("oVirt's policies (vdsm's convergence schedule): 100 ms, raised at 1, 2, 3, 4, 6 stalls; then abort, or 5 s then abort", () => {
    const raises = [[1, 150], [2, 200], [3, 300], [4, 400], [6, 500]].map(([stalls, ms]) => ({ stalls, action: { setDowntimeMs: ms } }));
    expect(policy("{preset: ovirt-minimal-downtime}")).toEqual({
      name: "ovirt-minimal-downtime", perCluster: Infinity, perSource: 2, maxBandwidth: 0, autoConverge: true, initialDowntimeMs: 100,
      stallSchedule: [...raises, { stalls: 7, action: "abort" }],
    });
    expect(policy("{preset: ovirt-suspend, autoConvergence: false, bandwidth: 1Gbit/s}")).toEqual({
      name: "ovirt-suspend", perCluster: Infinity, perSource: 1, maxBandwidth: 1.25e8, autoConverge: false, initialDowntimeMs: 100,
      stallSchedule: [...raises, { stalls: 7, action: { setDowntimeMs: 5000 } }, { stalls: 8, action: "abort" }],
    });
    expect(policy("{preset: ovirt-minimal-downtime, maxMigrations: 4}").perSource).toBe(4);
    // A bound of 10^6 is written 1e+6.
    expect(problems(fleet({ policy: "{preset: ovirt-suspend, maxMigrations: 0}" }))).toEqual(["fleet.yaml:6: policy.maxMigrations: expected an integer in [1, 1e+6], got 0"]);
  });
});

describe("refusals name the place and what was expected", () => {
  const vm = "  - {name: web, host: a, vm: {memory: 1GiB}}";
  it("hosts: at least two, each named once; evacuated hosts known and not also targets", () => {
    expect(problems(fleet({ hosts: "[{name: a, nic: 1Gbit/s}]" }))[0]).toMatch(/^fleet\.yaml:2: hosts: Too small: expected array to have >=2 items?$/);
    expect(problems(fleet({ hosts: "[{name: a, nic: 1Gbit/s}, {name: a, nic: 1Gbit/s}]" }))).toEqual(['fleet.yaml:2: hosts.1.name: host "a" is named twice']);
    expect(problems(fleet({ evacuate: "{from: [c], to: [b]}" }))).toEqual(['fleet.yaml:5: evacuate.from.0: expected one of the hosts (a, b), got "c"']);
    expect(problems(fleet({ evacuate: "{from: [a], to: [b, d]}" }))).toEqual(['fleet.yaml:5: evacuate.to.1: expected one of the hosts (a, b), got "d"']);
    expect(problems(fleet({ evacuate: "{from: [a, b], to: [b]}" }))).toEqual(['fleet.yaml:5: evacuate.to.0: host "b" is also in evacuate.from: a drained host cannot take VMs']);
    expect(problems(fleet({ hosts: "[{name: a, nic: 0}, {name: b, nic: 1Gbit/s}]" }))).toEqual(["fleet.yaml:2: hosts.0.nic: expected more than 0, got 0"]);
  });
  it("VMs: on a known host, a VM's own rules under its group's path, names once, at most 100,000", () => {
    expect(problems(fleet({ vms: "  - {name: web, host: c, vm: {memory: 1GiB}}" }))).toEqual(['fleet.yaml:4: vms.0.host: expected one of the hosts (a, b), got "c"']);
    expect(problems(fleet({ vms: `${vm}\n  - {name: db, host: a, vm: {memory: 1GiB, used: 2GiB}}` }))).toEqual([
      "fleet.yaml:5: vms.1.vm.used: expected at most vm.memory (1.00 GiB), got 2.00 GiB",
    ]);
    expect(problems(fleet({ vms: "  - {name: web, host: a, count: 2, vm: {memory: 1GiB}}\n  - {name: web-2, host: a, vm: {memory: 1GiB}}" }))).toEqual([
      'fleet.yaml:5: vms.1.name: VM name "web-2" is used twice',
    ]);
    expect(problems(fleet({ vms: `${vm}\n${vm}` }))).toEqual(['fleet.yaml:5: vms.1.name: VM name "web" is used twice']);
    expect(problems(fleet({ vms: "  - {name: web, host: a, count: 0, vm: {memory: 1GiB}}" }))).toEqual(["fleet.yaml:4: vms.0.count: expected an integer in [1, 100000], got 0"]);
    // The total is checked before a group expands: 1 + 100,000 is refused at the second group.
    expect(problems(fleet({ vms: `${vm}\n  - {name: y, host: a, count: 100000, vm: {memory: 1GiB}}` }))).toEqual([
      "fleet.yaml:5: vms.1.count: the fleet expands to more than 100000 VMs",
    ]);
  });
  // 100,000 VMs planned: 2.5 s on a quiet machine (6 s seen under load), longer on instrumented code, so left out under mutation.
  it.skipIf(process.env.LIVEMIG_MUTATION)("exactly 100,000 VMs are planned", { timeout: 30_000 }, () => {
    const many = "  - {name: x, host: a, count: 60000, vm: {memory: 1GiB}}\n  - {name: y, host: a, count: 40000, vm: {memory: 1GiB}}";
    expect(plan(fleet({ vms: many })).vms).toHaveLength(100_000);
    expect(problems(fleet({ vms: `${many}\n${vm}` }))).toEqual(["fleet.yaml:6: vms.2.count: the fleet expands to more than 100000 VMs"]);
  });
  it("a text given without a file name is named <fleet>; a top level that is no mapping says what it should hold", () => {
    expect(problemsOf(() => loadFleet(fleet({ extra: "colour: blue\n" })))).toEqual(['<fleet>:1: (top level): unknown key "colour"']);
    expect(problems("[1]")).toEqual(["fleet.yaml: expected a mapping with name, hosts, vms, evacuate, ... at the top level"]);
  });
  it("post-copy policies: each preset's own option, and what to set instead", () => {
    const refused = "post-copy is not modelled yet (its own issue); livemig cannot predict it";
    expect(problems(fleet({ policy: "{preset: kubevirt, allowPostCopy: true}" }))).toEqual([
      `fleet.yaml:6: policy.allowPostCopy: ${refused}; set it false (KubeVirt then aborts at completionTimeoutPerGiB)`,
    ]);
    expect(problems(fleet({ policy: "{preset: nova, live_migration_permit_post_copy: true}" }))).toEqual([
      `fleet.yaml:6: policy.live_migration_permit_post_copy: ${refused}; set it false (force_complete then pauses the guest)`,
    ]);
    expect(problems(fleet({ policy: "{preset: ovirt-post-copy}" }))).toEqual([
      `fleet.yaml:6: policy.preset: "ovirt-post-copy" switches to post-copy when the migration stalls: ${refused}; use ovirt-minimal-downtime or ovirt-suspend`,
    ]);
  });
  it("an unknown preset, order or timeout action lists the choices", () => {
    expect(problems(fleet({ extra: "order: random\n" }))).toEqual(['fleet.yaml:6: order: expected given | largest-first | smallest-first | least-dirty-first, got "random"']);
    expect(problems(fleet({ policy: "{preset: nova, live_migration_timeout_action: pause}" }))).toEqual([
      'fleet.yaml:6: policy.live_migration_timeout_action: expected abort | force_complete, got "pause"',
    ]);
    expect(problems(fleet({ policy: "{preset: openstack}" }))[0]).toMatch(/^fleet\.yaml:6: policy\.preset: expected kind to be one of /);
  });
  it("variants of a fleet file are planned and checked like the base", () => {
    const runs = loadFleet(fleet({ extra: "variants:\n  - {name: nova, set: {policy: {preset: nova}}}\n" }), "fleet.yaml");
    expect(runs.map((r) => [r.variant, r.plan.policy.name])).toEqual([["base", "kubevirt"], ["nova", "nova"]]);
    expect(runs[1].fleet.policy.preset).toBe("nova");
    expect(problems(fleet({ extra: "variants:\n  - {name: bad, set: {evacuate.to: [a]}}\n" }))).toEqual([
      'fleet.yaml:7: variants.0.set: evacuate.to.0: host "a" is also in evacuate.from: a drained host cannot take VMs (variant "bad")',
    ]);
    // A list inside a mapping is named by its whole path.
    expect(problems(fleet({ extra: "variants:\n  - {name: bad, set: {evacuate.from.3: b}}\n" }))).toEqual([
      'fleet.yaml:7: variants.0.set: "evacuate.from.3": "evacuate.from.3" does not exist: evacuate.from has 1 entry (evacuate.from.0) (variant "bad")',
    ]);
  });
});
