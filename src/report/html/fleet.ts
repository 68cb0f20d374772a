// `livemig evacuate --html FILE`: per run, a Gantt chart of the migrations with each VM's
// downtime window marked, the links' average utilisation and their utilisation per second, and
// the downtime distribution.

import { writeFileSync } from "node:fs";
import type { TopLevelSpec } from "vega-lite";
import type { FleetRun } from "../../sim/fleet.js";
import { utilisationBinMs } from "../../sim/network.js";
import type { FleetSummary } from "../../sim/fleet-summary.js";
import { documentHtml, escapeHtml, plotHtml, tableHtml } from "./page.js";
import { specToSvg } from "./svg.js";

interface Run {
  variant: string;
  summary: FleetSummary;
  run: FleetRun;
}

const s = (ms: number) => ms / 1000;

/** One bar per VM from start to end (colour: how it ended), its downtime (vm-stop to vm-resume) in red over it. */
export function ganttSpec(title: string, run: FleetRun): TopLevelSpec {
  const bars = run.vms.map((v) => ({ vm: v.vm, route: `${v.from} -> ${v.to}`, start: s(v.start), end: s(v.end), status: v.result.status }));
  const windows = run.vms.flatMap((v) => {
    const stop = v.result.timeline.find((e) => e.kind === "vm-stop");
    const resume = v.result.timeline.find((e) => e.kind === "vm-resume");
    return stop && resume ? [{ vm: v.vm, start: s(v.start + stop.t), end: s(v.start + resume.t), downtime: v.result.downtime }] : [];
  });
  const y = { field: "vm", type: "nominal", sort: null, title: null } as const;
  return {
    title,
    width: 760,
    height: Math.max(120, 14 * bars.length),
    layer: [
      {
        data: { values: bars },
        mark: { type: "bar", height: 10 },
        encoding: {
          x: { field: "start", type: "quantitative", title: "s since the drain started" },
          x2: { field: "end" },
          y,
          color: { field: "status", type: "nominal", scale: { domain: ["completed", "completed-unsafe", "failed"], range: ["#4c78a8", "#f58518", "#b0b0b0"] } },
          tooltip: [{ field: "vm" }, { field: "route" }, { field: "start" }, { field: "end" }, { field: "status" }],
        },
      },
      {
        data: { values: windows },
        mark: { type: "bar", height: 10, color: "#d62728", minBandSize: 2 } as never,
        encoding: { x: { field: "start", type: "quantitative" }, x2: { field: "end" }, y, tooltip: [{ field: "vm" }, { field: "downtime", title: "downtime (ms)" }] },
      },
    ],
  } as TopLevelSpec;
}

/** Each link's average utilisation over the drain (bytes carried / capacity x drain time). */
export function linksSpec(title: string, run: FleetRun, drainMs: number): TopLevelSpec {
  const rows = run.links.map((l) => ({ link: l.name, utilisation: drainMs > 0 ? l.carried / ((l.capacity * drainMs) / 1000) : 0 }));
  return {
    title,
    width: 480,
    data: { values: rows },
    mark: "bar",
    encoding: { y: { field: "link", type: "nominal", sort: null, title: null }, x: { field: "utilisation", type: "quantitative", axis: { format: "%" }, scale: { domain: [0, 1] } } },
  };
}

/** Each link's utilisation in each second of the drain (the run's `utilisation` bins). */
export function utilisationSpec(title: string, run: FleetRun): TopLevelSpec {
  const rows = run.links.flatMap((l) => l.utilisation.map((u, i) => ({ link: l.name, t: (i * utilisationBinMs) / 1000, utilisation: u })));
  return {
    title,
    width: 480,
    data: { values: rows },
    mark: { type: "line", interpolate: "step-after" },
    encoding: {
      x: { field: "t", type: "quantitative", title: "time (s)" },
      y: { field: "utilisation", type: "quantitative", axis: { format: "%" }, scale: { domain: [0, 1] } },
      color: { field: "link", type: "nominal", sort: null },
    },
  };
}

/** How many VMs had how much downtime (QEMU's), in bins. */
export function downtimeSpec(title: string, run: FleetRun): TopLevelSpec {
  const rows = run.vms.flatMap((v) => (v.result.downtime === undefined ? [] : [{ downtime: v.result.downtime }]));
  return {
    title,
    width: 480,
    data: { values: rows },
    mark: "bar",
    encoding: { x: { field: "downtime", type: "quantitative", bin: { maxbins: 30 }, title: "downtime (ms)" }, y: { aggregate: "count", type: "quantitative", title: "VMs" } },
  };
}

export async function renderFleetHtml(fleet: string, runs: Run[]): Promise<string> {
  const parts: string[] = [];
  const spread = (x?: { p50: number; p95: number; max: number }) => (x ? `${x.p50} / ${x.p95} / ${x.max}` : "-");
  parts.push(
    tableHtml(
      ["variant", "drain time (ms)", "completed", "failed", "downtime p50/p95/max (ms)", "guest-visible", "service"],
      runs.map((r) => [r.variant, String(r.summary["drain-time"]), String(r.summary.completed), String(r.summary.failed), spread(r.summary.downtime), spread(r.summary["guest-visible-downtime"]), spread(r.summary["service-downtime"])]),
    ),
  );
  for (const r of runs) {
    const plots = [
      plotHtml("gantt", await specToSvg(ganttSpec(`${r.variant}: migrations (red: downtime)`, r.run))),
      plotHtml("links", await specToSvg(linksSpec(`${r.variant}: average link utilisation`, r.run, r.summary["drain-time"]))),
      plotHtml("utilisation", await specToSvg(utilisationSpec(`${r.variant}: link utilisation per second`, r.run))),
      plotHtml("downtimes", await specToSvg(downtimeSpec(`${r.variant}: downtime distribution`, r.run))),
    ];
    parts.push(`<section class="run" data-run="${escapeHtml(r.variant)}"><h2>${escapeHtml(r.variant)}</h2><div class="plots">${plots.join("\n")}</div></section>`);
  }
  return documentHtml(`livemig evacuate ${fleet}`, parts.join("\n"));
}

export async function writeFleetHtml(file: string, fleet: string, runs: Run[]): Promise<void> {
  writeFileSync(file, await renderFleetHtml(fleet, runs));
}
