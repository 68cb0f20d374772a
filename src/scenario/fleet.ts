// The fleet file of `livemig evacuate` (README "Fleet files"): hosts, VMs in groups, which
// hosts to drain, and the orchestrator's policy with its own option names and defaults
// (docs/fleet.md cites each default). Read like a scenario file: units, YAML limits, variants,
// errors naming file:line:field.

import * as z from "../zod.js";
import type { FleetPlan, FleetPolicy, StallStep } from "../sim/fleet.js";
import { ScenarioError, checkVm, loadRuns, parseWith } from "./load.js";
import { duration, linkBandwidth, number, rateCap, scenarioSchema, type Scenario } from "./schema.js";

const s = 1000;
/** The longest bound a duration field takes (30 days): no bound, in effect, below the orchestrator's own. */
const maxGiveUpMs = 30 * 86_400_000;
/** Most VMs a fleet file expands to: 100 hosts x 1000 VMs. */
export const maxFleetVms = 100_000;

const name = z.string().check(z.minLength(1));
const postCopyRefused = "post-copy is not modelled yet (its own issue); livemig cannot predict it";

/** KubeVirt's MigrationConfiguration (pkg/virt-config/virt-config.go). */
const kubevirt = z.strictObject({
  preset: z.literal("kubevirt"),
  parallelMigrationsPerCluster: z._default(number(1, 1e6, true), 5),
  parallelOutboundMigrationsPerNode: z._default(number(1, 1e6, true), 2),
  bandwidthPerMigration: z._default(rateCap, 0),
  completionTimeoutPerGiB: z._default(duration, 150 * s),
  progressTimeout: z._default(duration, 150 * s),
  allowAutoConverge: z._default(z.boolean(), false),
  allowPostCopy: z._default(z.boolean(), false),
});

/** nova's [DEFAULT] and [libvirt] live-migration options (nova/conf/compute.py, nova/conf/libvirt.py). */
const nova = z.strictObject({
  preset: z.literal("nova"),
  max_concurrent_live_migrations: z._default(number(0, 1e6, true), 1),
  live_migration_bandwidth: z._default(rateCap, 0),
  live_migration_downtime: z._default(duration, 500),
  live_migration_downtime_steps: z._default(number(3, 1e6, true), 10),
  live_migration_downtime_delay: z._default(duration, 75 * s),
  live_migration_completion_timeout: z._default(duration, 800 * s),
  live_migration_progress_timeout: z._default(duration, 0),
  live_migration_timeout_action: z._default(z.enum(["abort", "force_complete"]), "abort"),
  live_migration_permit_auto_converge: z._default(z.boolean(), false),
  live_migration_permit_post_copy: z._default(z.boolean(), false),
});

/** oVirt's migration policies (ovirt-engine's MigrationPolicies config value), run by vdsm's convergence schedule. */
const ovirtShape = { maxMigrations: number(1, 1e6, true), autoConvergence: z._default(z.boolean(), true), bandwidth: z._default(rateCap, 0) };
const ovirtMinimal = z.strictObject({ preset: z.literal("ovirt-minimal-downtime"), ...ovirtShape, maxMigrations: z._default(ovirtShape.maxMigrations, 2) });
const ovirtSuspend = z.strictObject({ preset: z.literal("ovirt-suspend"), ...ovirtShape, maxMigrations: z._default(ovirtShape.maxMigrations, 1) });
const ovirtPostCopy = z.strictObject({ preset: z.literal("ovirt-post-copy"), ...ovirtShape, maxMigrations: z._default(ovirtShape.maxMigrations, 2) });

const policySchema = z.discriminatedUnion("preset", [kubevirt, nova, ovirtMinimal, ovirtSuspend, ovirtPostCopy]);
type PolicyEntry = z.infer<typeof policySchema>;

const shape = scenarioSchema.shape;

export const fleetSchema = z.strictObject({
  name,
  seed: shape.seed,
  hosts: z.array(z.strictObject({ name, nic: linkBandwidth, streamRate: z.optional(linkBandwidth) })).check(z.minLength(2)),
  fabric: z.optional(z.strictObject({ bandwidth: linkBandwidth, latency: z._default(duration, 0) })),
  vms: z
    .array(z.strictObject({ name, host: name, count: z.optional(number(1, maxFleetVms, true)), vm: shape.vm, devices: shape.devices }))
    .check(z.minLength(1)),
  evacuate: z.strictObject({ from: z.array(name).check(z.minLength(1)), to: z.array(name).check(z.minLength(1)) }),
  migration: shape.migration,
  probe: shape.probe,
  // prefault, not _default: zod returns a default as it is, and KubeVirt's own defaults (5 per cluster,
  // 2 per node, ...) are filled in only by parsing it; a file without a policy then drained nothing.
  policy: z.prefault(policySchema, { preset: "kubevirt" }),
  order: z._default(z.enum(["given", "largest-first", "smallest-first", "least-dirty-first"]), "given"),
  variants: shape.variants,
});

export type FleetFile = z.infer<typeof fleetSchema>;

export interface FleetRunSpec {
  variant: string;
  fleet: FleetFile;
  plan: FleetPlan;
}

export function loadFleet(text: string, file = "<fleet>"): FleetRunSpec[] {
  return loadRuns(text, file, "name, hosts, vms, evacuate", (raw, where, suffix) => {
    const fleet = parseWith(fleetSchema, raw, where, suffix);
    return Object.assign(fleet, { plan: toPlan(fleet, (path, what) => new ScenarioError([`${where(path)}: ${what}${suffix}`])) });
  }).map((r) => ({ variant: r.variant, fleet: r.value, plan: r.value.plan }));
}

type Problem = (path: PropertyKey[], what: string) => ScenarioError;

function toPlan(f: FleetFile, problem: Problem): FleetPlan {
  const hosts = new Set<string>();
  f.hosts.forEach((h, i) => {
    if (hosts.has(h.name)) throw problem(["hosts", i, "name"], `host "${h.name}" is named twice`);
    hosts.add(h.name);
  });
  const known = (path: PropertyKey[], h: string) => {
    if (!hosts.has(h)) throw problem(path, `expected one of the hosts (${[...hosts].join(", ")}), got "${h}"`);
  };
  f.evacuate.from.forEach((h, i) => known(["evacuate", "from", i], h));
  f.evacuate.to.forEach((h, i) => {
    known(["evacuate", "to", i], h);
    if (f.evacuate.from.includes(h)) throw problem(["evacuate", "to", i], `host "${h}" is also in evacuate.from: a drained host cannot take VMs`);
  });
  const vms: FleetPlan["vms"] = [];
  const names = new Set<string>();
  let total = 0;
  f.vms.forEach((g, i) => {
    known(["vms", i, "host"], g.host);
    checkVm(g.vm, problem, ["vms", i, "vm"]);
    const count = g.count ?? 1;
    total += count;
    if (total > maxFleetVms) throw problem(["vms", i, "count"], `the fleet expands to more than ${maxFleetVms} VMs`);
    for (let k = 1; k <= count; k++) {
      const vmName = g.count === undefined ? g.name : `${g.name}-${k}`;
      if (names.has(vmName)) throw problem(["vms", i, "name"], `VM name "${vmName}" is used twice`);
      names.add(vmName);
      const scenario: Scenario = {
        name: vmName,
        seed: f.seed,
        vm: g.vm,
        // The fleet's network carries the stream; the link here is what a dedicated one would be (set per run).
        link: { bandwidth: 1, latency: f.fabric?.latency ?? 0 },
        migration: f.migration,
        probe: f.probe,
        devices: g.devices,
        variants: [],
      };
      vms.push({ name: vmName, host: g.host, scenario });
    }
  });
  const policy = toPolicy(f.policy, problem);
  // QEMU never gives up by itself; livemig's default bound (migration.giveUp) is for a lone
  // prediction. In a fleet the orchestrator's timeouts bound each migration, where it has any.
  const bounded = !!(policy.completion || policy.progress || policy.stallSchedule?.some((st) => st.action === "abort"));
  if (bounded && f.migration.giveUp.passes === undefined && f.migration.giveUp.time === undefined) {
    for (const v of vms) v.scenario = { ...v.scenario, migration: { ...v.scenario.migration, giveUp: { time: maxGiveUpMs } } };
  }
  return {
    name: f.name,
    seed: f.seed ?? 1,
    hosts: f.hosts.map((h) => ({ name: h.name, nic: h.nic, ...(h.streamRate !== undefined ? { streamRate: h.streamRate } : {}) })),
    ...(f.fabric ? { fabric: { bandwidth: f.fabric.bandwidth, latencyMs: f.fabric.latency } } : {}),
    vms,
    from: f.evacuate.from,
    to: f.evacuate.to,
    policy,
    order: f.order,
  };
}

/** The preset's options, in its own terms, as what the scheduler does. */
function toPolicy(p: PolicyEntry, problem: Problem): FleetPolicy {
  const unbounded = (n: number) => (n === 0 ? Infinity : n);
  switch (p.preset) {
    case "kubevirt":
      if (p.allowPostCopy) throw problem(["policy", "allowPostCopy"], `${postCopyRefused}; set it false (KubeVirt then aborts at completionTimeoutPerGiB)`);
      return {
        name: "kubevirt",
        perCluster: p.parallelMigrationsPerCluster,
        perSource: p.parallelOutboundMigrationsPerNode,
        maxBandwidth: p.bandwidthPerMigration,
        autoConverge: p.allowAutoConverge,
        ...(p.completionTimeoutPerGiB > 0 ? { completion: { msPerGiB: p.completionTimeoutPerGiB, minGiB: 0, action: "abort", option: "completionTimeoutPerGiB" } } : {}),
        ...(p.progressTimeout > 0 ? { progress: { timeoutMs: p.progressTimeout, option: "progressTimeout" } } : {}),
      };
    case "nova": {
      if (p.live_migration_permit_post_copy) {
        throw problem(["policy", "live_migration_permit_post_copy"], `${postCopyRefused}; set it false (force_complete then pauses the guest)`);
      }
      const downtime = p.live_migration_downtime;
      const steps = p.live_migration_downtime_steps;
      const delayPerGiB = p.live_migration_downtime_delay;
      return {
        name: "nova",
        perCluster: Infinity,
        perSource: unbounded(p.max_concurrent_live_migrations),
        maxBandwidth: p.live_migration_bandwidth,
        autoConverge: p.live_migration_permit_auto_converge,
        // nova.virt.libvirt.migration.downtime_steps: linear from downtime/steps to downtime, every delay x data GiB (at least 2).
        downtimeSteps: (dataGiB) => {
          const delayS = Math.trunc((delayPerGiB / s) * Math.max(dataGiB, 2));
          const base = downtime / steps;
          const offset = (downtime - base) / steps;
          return Array.from({ length: steps + 1 }, (_, i) => ({ afterMs: Math.trunc(delayS * i) * s, downtimeMs: Math.trunc(base + offset * i) }));
        },
        ...(p.live_migration_completion_timeout > 0
          ? {
              completion: {
                msPerGiB: p.live_migration_completion_timeout,
                minGiB: 2,
                action: p.live_migration_timeout_action === "abort" ? "abort" : "force-complete",
                option: "live_migration_completion_timeout",
              },
            }
          : {}),
        ...(p.live_migration_progress_timeout > 0 ? { progress: { timeoutMs: p.live_migration_progress_timeout, option: "live_migration_progress_timeout" } } : {}),
      } satisfies FleetPolicy;
    }
    case "ovirt-post-copy":
      throw problem(["policy", "preset"], `"ovirt-post-copy" switches to post-copy when the migration stalls: ${postCopyRefused}; use ovirt-minimal-downtime or ovirt-suspend`);
    case "ovirt-minimal-downtime":
    case "ovirt-suspend": {
      // Both: initial downtime 100 ms, raised at 1, 2, 3, 4 and 6 stalled iterations; then the last items.
      const raises: StallStep[] = [[1, 150], [2, 200], [3, 300], [4, 400], [6, 500]].map(([stalls, ms]) => ({ stalls, action: { setDowntimeMs: ms } }));
      const last: StallStep["action"][] = p.preset === "ovirt-suspend" ? [{ setDowntimeMs: 5000 }, "abort"] : ["abort"];
      return {
        name: p.preset,
        perCluster: Infinity,
        perSource: p.maxMigrations,
        maxBandwidth: p.bandwidth,
        autoConverge: p.autoConvergence,
        initialDowntimeMs: 100,
        stallSchedule: [...raises, ...last.map((action, k) => ({ stalls: 6 + k + 1, action }))],
      };
    }
  }
}
