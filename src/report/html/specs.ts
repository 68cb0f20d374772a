// The report's plots as vega-lite specs, built from the prepared data. The same specs are
// rendered to SVG in Node (the HTML report) and drawn live in the browser (the what-if page).

import type { TopLevelSpec } from "vega-lite";
import { formatMs } from "../../core/format.js";
import type { BreakdownRow, DowntimeRow } from "./figures.js";
import type { PassRow, ThrottleRow } from "./passes.js";
import { lanes, windowLane, type PhaseBar, type PhaseMark } from "./phases.js";
import type { ProberSeries } from "./prober.js";

const width = 820;
const config = { font: "Helvetica, Arial, sans-serif", view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 11 } };
const red = "#d62728";
const windowLanes: string[] = Object.values(windowLane);
const seconds = [{ calculate: "datum.t / 1000", as: "ts" }, { calculate: "datum.end / 1000", as: "te" }];

/** Phases, device spans, network state and the three downtime windows, on one time axis. */
export function timelineSpec(title: string, bars: PhaseBar[], marks: PhaseMark[], categories: string[], range?: [number, number]): TopLevelSpec {
  const x = {
    field: "ts",
    type: "quantitative" as const,
    title: "seconds since the migration started",
    ...(range ? { scale: { domain: [range[0] / 1000, range[1] / 1000], nice: false } } : {}),
  };
  const y = { field: "lane", type: "nominal" as const, sort: [...lanes], title: null, scale: { domain: [...lanes] } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width,
    config,
    layer: [
      {
        data: { values: bars.filter((b) => !windowLanes.includes(b.lane)) },
        transform: seconds,
        mark: { type: "bar", clip: true, height: { band: 0.7 } },
        encoding: {
          y,
          x,
          x2: { field: "te" },
          color: { field: "category", type: "nominal", title: "phase / component", scale: { domain: categories, scheme: "tableau20" }, legend: { orient: "bottom", columns: 6 } },
          tooltip: [{ field: "label" }, { field: "category" }, { field: "t", title: "from (ms)" }, { field: "end", title: "to (ms)" }],
        },
      },
      {
        data: { values: bars.filter((b) => windowLanes.includes(b.lane)) },
        transform: seconds,
        layer: [
          { mark: { type: "bar", clip: true, color: red, height: { band: 0.7 } }, encoding: { y, x, x2: { field: "te" }, tooltip: [{ field: "label" }] } },
          {
            mark: { type: "text", align: "left", dx: 4, color: red, fontWeight: "bold" },
            encoding: { y, x: { ...x, field: "te" }, text: { field: "label" } },
          },
        ],
      },
      {
        data: { values: marks },
        transform: [{ calculate: "datum.t / 1000", as: "ts" }],
        mark: { type: "tick", clip: true, color: "black", thickness: 1.5 },
        encoding: { y, x, tooltip: [{ field: "label" }, { field: "t", title: "at (ms)" }] },
      },
    ],
  };
}

/** The frame of the small per-run plots, side by side in pairs. */
function smallPlot(title: string, values: unknown[]) {
  return { $schema: "https://vega.github.io/schema/vega-lite/v6.json", title, width: 380, height: 220, config, data: { values } };
}

/**
 * Remaining dirty memory and the switch-over threshold (on a symlog scale: pass 1 holds all of
 * RAM and would flatten the rest), against the bandwidth estimate, per pass.
 */
export function passesSpec(title: string, rows: PassRow[]): TopLevelSpec {
  const x = { field: "pass", type: "ordinal" as const, title: "pass (dirty-log sync)" };
  const mib = { field: "value", type: "quantitative" as const, title: "MiB, symlog scale (remaining dirty, threshold)", scale: { type: "symlog" as const } };
  const colour = { field: "series", type: "nominal" as const, title: null, scale: { domain: ["remaining dirty", "threshold", "bandwidth estimate"], range: ["#4c78a8", red, "#f58518"] } };
  return {
    ...smallPlot(title, rows),
    layer: [
      {
        // Remaining dirty and the threshold on one scale: a bar that ends below the line may switch over.
        encoding: { x, y: mib, color: colour, tooltip: [{ field: "pass" }, { field: "series" }, { field: "value", format: ".1f", title: "MiB" }] },
        layer: [
          { transform: [{ filter: "datum.series === 'remaining dirty'" }], mark: { type: "bar" } },
          { transform: [{ filter: "datum.series === 'threshold'" }], mark: { type: "line", point: true, strokeDash: [4, 2], interpolate: "monotone" } },
        ],
      },
      {
        transform: [{ filter: "datum.series === 'bandwidth estimate'" }],
        mark: { type: "line", point: true, color: "#f58518" },
        encoding: {
          x,
          y: { field: "value", type: "quantitative", title: "bandwidth estimate (MiB/s)", axis: { orient: "right", titleColor: "#f58518" } },
          tooltip: [{ field: "pass" }, { field: "value", format: ".1f", title: "MiB/s" }],
        },
      },
    ],
    resolve: { scale: { y: "independent" } },
  };
}

/** Auto-converge's throttle and the guest's vCPU time left, over the migration. */
export function throttleSpec(title: string, rows: ThrottleRow[]): TopLevelSpec {
  return {
    ...smallPlot(title, rows),
    mark: { type: "line", interpolate: "step-after", point: true },
    encoding: {
      x: { field: "ts", type: "quantitative", title: "seconds since the migration started" },
      y: { field: "value", type: "quantitative", title: "% of each vCPU time slice", scale: { domain: [0, 100] } },
      color: { field: "series", type: "nominal", title: null, scale: { domain: ["cpu-throttle-percentage", "guest vCPU time left"], range: [red, "#4c78a8"] }, legend: { orient: "bottom", labelLimit: 260 } },
      tooltip: [{ field: "ts", title: "s" }, { field: "series" }, { field: "value", title: "%" }],
    },
  };
}

/** Share of the prober's pings answered over time, with each gap and the service gap marked. */
export function proberSpec(title: string, series: ProberSeries): TopLevelSpec {
  const service = series.gaps.filter((g) => g.service).map((g) => ({ ...g, label: `service downtime ${Math.round(g.end - g.t)} ms` }));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `${title} (a ping every ${series.interval} ms)`,
    width: 380,
    height: 220,
    config,
    layer: [
      {
        data: { values: series.gaps },
        transform: seconds,
        mark: { type: "rect", color: red, opacity: 0.25 },
        encoding: { x: { field: "ts", type: "quantitative" }, x2: { field: "te" }, tooltip: [{ field: "t" }, { field: "end" }, { field: "lost" }] },
      },
      {
        data: { values: series.bins },
        transform: seconds,
        mark: { type: "line", interpolate: "step-after", color: "#4c78a8" },
        encoding: {
          x: { field: "ts", type: "quantitative", title: "seconds since the migration started" },
          y: { field: "answered", type: "quantitative", title: "% of pings answered", scale: { domain: [0, 100] } },
        },
      },
      {
        data: { values: service },
        transform: seconds,
        mark: { type: "text", color: red, fontWeight: "bold", align: "left", dx: 3, y: 12 },
        encoding: { x: { field: "ts", type: "quantitative" }, text: { field: "label" } },
      },
    ],
  };
}

/** Downtime components stacked, one bar per run, side by side. */
export function breakdownSpec(title: string, rows: BreakdownRow[], order: string[], categories: string[]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: { step: 70 },
    height: 260,
    config,
    data: { values: rows },
    mark: { type: "bar" },
    encoding: {
      // Names longer than a bar is wide are slanted, so they do not run into each other.
      x: { field: "run", type: "nominal", sort: order, title: null, axis: order.some((n) => n.length > 10) ? { labelAngle: -30, labelAlign: "right", labelLimit: 160 } : { labelAngle: 0, labelLimit: 70 } },
      y: { field: "ms", type: "quantitative", aggregate: "sum", stack: "zero", title: "downtime (ms)" },
      // The report-wide colours, but a legend of this plot's components only.
      color: { field: "component", type: "nominal", scale: { domain: categories, scheme: "tableau20" }, legend: { values: [...new Set(rows.map((r) => r.component))] } },
      tooltip: [{ field: "run" }, { field: "component" }, { field: "ms", aggregate: "sum", format: ".1f" }],
    },
  };
}

/** The three downtimes of every run, grouped by definition, with each downtime-limit as a line. */
export function downtimesSpec(title: string, rows: DowntimeRow[], order: string[], limits: number[] = []): TopLevelSpec {
  const bars = {
    data: { values: rows },
    encoding: {
      x: { field: "figure", type: "nominal" as const, title: null, sort: ["downtime", "guest-visible-downtime", "service-downtime"], axis: { labelAngle: 0, labelLimit: 200 } },
      xOffset: { field: "run", type: "nominal" as const, sort: order },
      y: { field: "ms", type: "quantitative" as const, title: "ms" },
      color: { field: "run", type: "nominal" as const, sort: order, scale: { scheme: "tableau10" } },
    },
    layer: [
      { mark: { type: "bar" as const }, encoding: { tooltip: [{ field: "run" }, { field: "figure" }, { field: "ms" }] } },
      { mark: { type: "text" as const, dy: -5, fontSize: 9 }, encoding: { text: { field: "ms", format: ".0f" } } },
    ],
  };
  const y = { field: "ms", type: "quantitative" as const };
  const limit = {
    data: { values: limits.map((ms) => ({ ms, label: `downtime-limit ${formatMs(ms)}` })) },
    layer: [
      { mark: { type: "rule" as const, color: red, strokeDash: [5, 3] }, encoding: { y } },
      { mark: { type: "text" as const, color: red, align: "left" as const, baseline: "bottom" as const, x: 2, dy: -2, fontSize: 10 }, encoding: { y, text: { field: "label" } } },
    ],
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    // Each figure's band holds its bars and its label ("guest-visible-downtime"), one run or ten.
    width: { step: Math.max(150, 30 * order.length), for: "position" },
    height: 260,
    config,
    layer: limits.length > 0 ? [bars, limit] : [bars],
  } as TopLevelSpec;
}
