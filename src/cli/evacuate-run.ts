// The evacuate command's work: read the fleet file, run each variant, print or write.

import { loadFleet } from "../scenario/fleet.js";
import { evacuate, type FleetRun } from "../sim/fleet.js";
import { summarize, type FleetSummary } from "../sim/fleet-summary.js";
import { searchPlan, type PlanSearch } from "../sim/fleet-plan.js";
import { fleetTables } from "../report/fleet.js";
import { exitCodes } from "./errors.js";
import { readInput, profileOptions, writeReport } from "./simulate.js";

export interface FleetVariantRun {
  variant: string;
  summary: FleetSummary;
  run: FleetRun;
  plan?: PlanSearch;
}

export async function runEvacuate(file: string, opts: { json?: boolean; html?: string; plan?: boolean; profile?: string; cpuWait?: string }): Promise<number> {
  const profile = await profileOptions(opts);
  const { name, text } = readInput(file, "fleet file");
  const specs = loadFleet(text, name).map((s) => (profile ? { ...s, plan: { ...s.plan, profile } } : s));
  const fleet = specs[0].plan.name;
  const runs: FleetVariantRun[] = [];
  // Progress on stderr, so a piped run does not look hung: a line each step when piped, one
  // line rewritten in place on a terminal.
  const tty = process.stderr.isTTY;
  const progress = (line: string) => process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  for (const spec of specs) {
    const what = `${fleet} / ${spec.variant}`;
    progress(`evacuating ${what} (${spec.plan.vms.length} VMs) ...`);
    const run = await evacuate(spec.plan);
    const plan = opts.plan
      ? await searchPlan(spec.plan, {
          given: run,
          onTrial: (t, i, total) =>
            progress(`${what}: plan trial ${i + 1}/${total} (${t.order}, ${t.perCluster} per cluster, ${t.perSource} per source host): ${t.stopped ? `stopped at ${(t["drain-time"] / 1000).toFixed(1)} s, ${t.stopped}` : `drain ${(t["drain-time"] / 1000).toFixed(1)} s, ${t.failed} failed`}`),
        })
      : undefined;
    if (tty) process.stderr.write("\r\x1b[K");
    runs.push({ variant: spec.variant, summary: summarize(run), run, ...(plan ? { plan } : {}) });
  }
  if (opts.json) {
    const out = {
      fleet,
      runs: runs.map((r) => ({
        variant: r.variant,
        summary: r.summary,
        vms: r.run.vms.map((v) => ({ vm: v.vm, from: v.from, to: v.to, start: v.start, end: v.end, ...(v.actions.length ? { actions: v.actions } : {}), result: v.result })),
        links: r.run.links,
        ...(r.plan ? { plan: r.plan } : {}),
      })),
    };
    process.stdout.write(JSON.stringify(out) + "\n");
  } else {
    process.stdout.write(fleetTables(fleet, runs));
  }
  if (opts.html) {
    const html = opts.html;
    await writeReport(html, async () => (await import("../report/html/fleet.js")).writeFleetHtml(html, fleet, runs));
  }
  // A VM that did not move is what the operator must hear about: exit 1, as a failed simulate.
  let code: number = exitCodes.ok;
  for (const r of runs) {
    for (const v of r.run.vms) {
      if (v.result.status === "failed" || v.result.status === "completed-unsafe") {
        process.stderr.write(`${fleet} / ${r.variant}: ${v.vm}: ${v.result.status === "failed" ? `migration failed: ${v.result["error-desc"] ?? "unknown reason"}` : "completed UNSAFE (stale pages)"}\n`);
        code = exitCodes.migrationFailed;
      }
    }
  }
  return code;
}
