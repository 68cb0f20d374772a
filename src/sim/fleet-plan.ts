// `evacuate --plan`: the drain again under every ordering and every concurrency the policy
// allows (at most its own per-cluster and per-source limits), each a full run on its own
// clock; the shortest drain in which every VM completes is the plan, and what it saves
// against the file's own ordering and limits.

import { summarize } from "./fleet-summary.js";
import { evacuate, type FleetOrder, type FleetPlan } from "./fleet.js";

export const fleetOrders: readonly FleetOrder[] = ["given", "largest-first", "smallest-first", "least-dirty-first"];

export interface PlanTrial {
  order: FleetOrder;
  perCluster: number;
  perSource: number;
  /** ms */
  "drain-time": number;
  completed: number;
  failed: number;
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

export async function searchPlan(plan: FleetPlan): Promise<PlanSearch> {
  const from = new Set(plan.from);
  const perHost = new Map<string, number>();
  for (const v of plan.vms) if (from.has(v.host)) perHost.set(v.host, (perHost.get(v.host) ?? 0) + 1);
  // More slots than VMs on the busiest source (or than all sources' slots together) change nothing.
  const busiest = Math.max(0, ...perHost.values());
  const sourceLimit = Math.min(plan.policy.perSource, busiest);
  const trial = async (order: FleetOrder, perCluster: number, perSource: number): Promise<PlanTrial> => {
    const s = summarize(await evacuate({ ...plan, order, policy: { ...plan.policy, perCluster, perSource } }));
    return { order, perCluster, perSource, "drain-time": s["drain-time"], completed: s.completed, failed: s.failed };
  };
  const clusterLimit = (perSource: number) => Math.min(plan.policy.perCluster, perSource * perHost.size);
  const tried: PlanTrial[] = [];
  for (const order of fleetOrders) {
    for (let perSource = 1; perSource <= sourceLimit; perSource++) {
      for (let perCluster = 1; perCluster <= clusterLimit(perSource); perCluster++) tried.push(await trial(order, perCluster, perSource));
    }
  }
  // The file's own plan is one of them, its limits cut to what can run at once.
  const given =
    tried.find((t) => t.order === plan.order && t.perSource === sourceLimit && t.perCluster === clusterLimit(sourceLimit)) ??
    (await trial(plan.order, plan.policy.perCluster, plan.policy.perSource));
  // Ties go to the first tried: orders as listed, fewer migrations at once first.
  const best = tried.filter((t) => t.failed === 0).reduce<PlanTrial | undefined>((b, t) => (!b || t["drain-time"] < b["drain-time"] ? t : b), undefined);
  return { given, ...(best ? { best, saves: Math.round((given["drain-time"] - best["drain-time"]) * 1000) / 1000 } : {}), tried };
}
