// `evacuate --plan`: the drain again under every ordering and every concurrency the policy
// allows (at most its own per-cluster and per-source limits), each a run on its own clock,
// stopped as soon as it cannot win; the shortest drain in which every VM completes is the
// plan, and what it saves against the file's own ordering and limits.

import { summarize } from "./fleet-summary.js";
import { departures, evacuate, type FleetOrder, type FleetPlan, type FleetRun } from "./fleet.js";

export const fleetOrders: readonly FleetOrder[] = ["given", "largest-first", "smallest-first", "least-dirty-first"];

export interface PlanTrial {
  order: FleetOrder;
  perCluster: number;
  perSource: number;
  /** ms; for a stopped trial, the time it was stopped at. */
  "drain-time": number;
  completed: number;
  failed: number;
  /** Why the trial was stopped early (it could no longer be the plan): absent when it ran to the end. */
  stopped?: string;
}

export interface PlanSearch {
  /** The file's own ordering and limits (cut to what can run at once: no more than the VMs there are). */
  given: PlanTrial;
  /** The shortest drain with no failed VM; absent when every trial has one. */
  best?: PlanTrial;
  /** given's drain time minus best's, ms (0 when the file's plan is the best). */
  saves?: number;
  tried: PlanTrial[];
}

/**
 * The search's trials in the order they are tried (ties go to the first): the orderings as
 * listed, then per source host and per cluster from 1 up, each no more than can run at once.
 */
export function planTrials(plan: FleetPlan): { order: FleetOrder; perCluster: number; perSource: number }[] {
  const from = new Set(plan.from);
  const perHost = new Map<string, number>();
  for (const v of plan.vms) if (from.has(v.host)) perHost.set(v.host, (perHost.get(v.host) ?? 0) + 1);
  // More slots than VMs on the busiest source (or than all sources' slots together) change nothing.
  const sourceLimit = Math.min(plan.policy.perSource, Math.max(0, ...perHost.values()));
  const clusterLimit = (perSource: number) => Math.min(plan.policy.perCluster, perSource * perHost.size);
  const trials = [];
  for (const order of fleetOrders) {
    for (let perSource = 1; perSource <= sourceLimit; perSource++) {
      for (let perCluster = 1; perCluster <= clusterLimit(perSource); perCluster++) trials.push({ order, perCluster, perSource });
    }
  }
  return trials;
}

/**
 * `given`: the file's own drain, when the caller has run it already (the same run: the cut
 * limits change nothing). `onTrial` hears of each trial as it ends (progress).
 */
export async function searchPlan(
  plan: FleetPlan,
  options: { given?: FleetRun; onTrial?: (trial: PlanTrial, index: number, total: number) => void } = {},
): Promise<PlanSearch> {
  const combos = planTrials(plan);
  const figures = (c: (typeof combos)[number], run: FleetRun): PlanTrial => {
    const s = summarize(run);
    return run.stopped
      ? { ...c, "drain-time": run.stopped.t, completed: s.completed, failed: s.failed, stopped: run.stopped.reason }
      : { ...c, "drain-time": s["drain-time"], completed: s.completed, failed: s.failed };
  };
  const limited = (c: (typeof combos)[number]) => ({ ...plan, order: c.order, policy: { ...plan.policy, perCluster: c.perCluster, perSource: c.perSource } });
  // The file's own plan is one of the trials, its limits cut to what can run at once; run in full.
  const last = combos.filter((c) => c.order === plan.order).at(-1);
  const isGiven = (c: (typeof combos)[number]) => c === last;
  const givenRun = options.given ?? (await evacuate(plan));
  const given = figures(last ?? { order: plan.order, perCluster: plan.policy.perCluster, perSource: plan.policy.perSource }, givenRun);
  const tried: PlanTrial[] = [];
  let best: PlanTrial | undefined;
  // Trials that must run alike are run once: the same VMs in the same order (largest-first is
  // often the file's order), and per source more slots than the cluster has (the cluster's
  // limit binds first: a source never has more running than the cluster).
  const alike = new Map<string, PlanTrial>();
  const sameness = (c: (typeof combos)[number]) => `${departures(plan, c.order).map((d) => d.index).join(",")} ${Math.min(c.perSource, c.perCluster)} ${c.perCluster}`;
  for (const [i, c] of combos.entries()) {
    // Pruning: a trial still draining at the best drain so far, or losing a VM, cannot be the
    // plan (ties go to the one tried first), so it is stopped there.
    const twin = alike.get(sameness(c));
    const t = isGiven(c)
      ? given
      : twin
        ? { ...twin, ...c }
        : figures(c, await evacuate(limited(c), { stopAtMs: best?.["drain-time"], stopOnFailure: true }));
    if (!twin) alike.set(sameness(c), t);
    tried.push(t);
    if (t.failed === 0 && !t.stopped && (!best || t["drain-time"] < best["drain-time"])) best = t;
    options.onTrial?.(t, i, combos.length);
  }
  return { given, ...(best ? { best, saves: Math.round((given["drain-time"] - best["drain-time"]) * 1000) / 1000 } : {}), tried };
}
