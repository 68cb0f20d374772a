// The simulator's prediction for a measured run: the same scenario, with the write rate the
// guest actually achieved (a TCG guest may write slower than asked) and the machine profile.

import type { MigrationResult } from "../core/result.js";
import type { Scenario } from "../scenario/schema.js";
import { median } from "../measure/stats.js";
import { simulate, type MachineProfile } from "../sim/simulate.js";
import type { GuestReport } from "./migration.js";

/**
 * The rate the guest really wrote at. While the migration runs it shares the host's cores
 * with QEMU's migration threads, so its rate then is the one that matters; a throttled run
 * (auto-converge) shows the throttle in that rate, and the simulator applies its own, so
 * the rate before the migration stands in.
 */
export function achievedRate(runs: { guest: GuestReport; result: MigrationResult }[]): number {
  if (runs.length === 0) return 0;
  return Math.round(median(runs.map((r) => (r.result["cpu-throttle-percentage"] > 0 || r.guest["rate-during"] <= 0 ? r.guest["rate-before"] : r.guest["rate-during"]))));
}

export function withRate(scenario: Scenario, rate: number): Scenario {
  const w = scenario.vm.workload;
  if (w.kind === "idle") return scenario;
  return { ...scenario, vm: { ...scenario.vm, workload: { ...w, rate } } };
}

export async function predict(scenario: Scenario, rate: number, profile?: MachineProfile): Promise<MigrationResult> {
  return simulate(withRate(scenario, rate), profile ? { profile } : {});
}
