// Terminal tables of a drain: one summary row per run, then a row per VM of each run.

import Table from "cli-table3";
import { formatBytes as bytes, formatMs as seconds } from "../core/format.js";
import { formatDowntime } from "../core/result.js";
import type { FleetRun } from "../sim/fleet.js";
import type { FleetSummary, Spread } from "../sim/fleet-summary.js";
import type { PlanSearch, PlanTrial } from "../sim/fleet-plan.js";

interface Run {
  variant: string;
  summary: FleetSummary;
  run: FleetRun;
  plan?: PlanSearch;
}

const style = { head: [], border: [] };
const spread = (s: Spread | undefined) => (s ? `${seconds(s.p50)} / ${seconds(s.p95)} / ${seconds(s.max)}` : "-");

export function fleetTables(fleet: string, runs: Run[]): string {
  const summary = new Table({
    head: ["variant", "drain time", "completed", "failed", "downtime p50/p95/max", "guest-visible p50/p95/max", "service p50/p95/max", "transferred"],
    style,
  });
  for (const { variant, summary: s } of runs) {
    summary.push([variant, seconds(s["drain-time"]), String(s.completed), String(s.failed), spread(s.downtime), spread(s["guest-visible-downtime"]), spread(s["service-downtime"]), bytes(s.bytes)]);
  }
  const out = [`fleet ${fleet}`, summary.toString()];
  for (const { variant, plan } of runs) if (plan) out.push(planLine(variant, plan));
  for (const { variant, run } of runs) {
    const table = new Table({ head: ["vm", "from -> to", "start", "end", "status", "downtime", "guest-visible", "service", "transferred", "why"], style });
    for (const v of run.vms) {
      const r = v.result;
      const why = r["error-desc"] ?? v.actions.filter((a) => a.action !== "set-downtime").map((a) => `${a.action}: ${a.reason}`).join("; ");
      table.push([v.vm, `${v.from} -> ${v.to}`, seconds(v.start), seconds(v.end), r.status, formatDowntime(r), seconds(r["guest-visible-downtime"]), seconds(r["service-downtime"]), bytes(r.ram.transferred), why]);
    }
    out.push(`${variant}: ${run.vms.length} VMs`, table.toString());
  }
  return out.join("\n") + "\n";
}

const limits = (t: PlanTrial) => `${t.order}, ${t.perCluster} per cluster, ${t.perSource} per source host`;

/** The plan search's answer in one line. */
function planLine(variant: string, p: PlanSearch): string {
  const given = `the file's (${limits(p.given)}): ${seconds(p.given["drain-time"])}${p.given.failed ? `, ${p.given.failed} failed` : ""}`;
  const stopped = p.tried.filter((t) => t.stopped).length;
  const tried = `${p.tried.length} tried${stopped ? `, ${stopped} stopped early` : ""}`;
  if (!p.best) return `${variant}: plan: none of ${p.tried.length} orderings and limits completes every VM (${tried}); ${given}`;
  const saves = p.saves ?? 0;
  // A file whose own plan loses VMs may drain sooner than the best that loses none.
  const gain = saves >= 0 ? `saves ${seconds(saves)}` : `takes ${seconds(-saves)} longer`;
  return `${variant}: plan: ${limits(p.best)}: drain ${seconds(p.best["drain-time"])}, ${gain} against ${given} (${tried})`;
}
