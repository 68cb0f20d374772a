// The report as one self-contained HTML document: inline CSS and inline SVG, no script, no
// network access needed to open it.

import { formatMs } from "../../core/format.js";
import type { MigrationResult } from "../../core/result.js";
import { unitOf } from "../../measure/figures.js";
import { formatValue } from "../../measure/render.js";
import type { MeasuredComparison, MeasuredGroup } from "./measured.js";
import type { DowntimeWindow } from "./windows.js";

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

const style = `
body { font: 14px/1.45 Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1180px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 36px; border-bottom: 1px solid #ccc; } h3 { font-size: 15px; }
.warnings { border: 3px solid #c00; background: #fff0f0; color: #900; padding: 8px 14px; font-weight: bold; font-size: 16px; }
.warnings li { margin: 4px 0; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
td:first-child, th:first-child { text-align: left; font-family: monospace; }
td.unsafe { color: #c00; font-weight: bold; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
figure.plot { margin: 6px 0; } figure.plot svg { max-width: 100%; height: auto; }
.windows li b { color: #d62728; }
.muted { color: #666; }
`;

export function documentHtml(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${style}</style></head>
<body><h1>${escapeHtml(title)}</h1>
<p class="muted">livemig report. Times in ms since the migration started; downtime = vm-stop to vm-resume,
guest-visible = last NIC suspend to last NIC ready, service = the prober's longest gap.</p>
${body}
</body></html>
`;
}

export function plotHtml(kind: string, svg: string): string {
  return `<figure class="plot" data-plot="${escapeHtml(kind)}">${svg}</figure>`;
}

/** Failed migrations and lost guest data, at the top, hard to miss. */
export function warningsHtml(items: { name: string; result: MigrationResult }[]): string {
  const lines: string[] = [];
  for (const { name, result } of items) {
    if (result.status === "failed") lines.push(`${name}: migration FAILED: ${result["error-desc"] ?? "unknown reason"}`);
    for (const w of result.warnings) lines.push(`${name}: ${w}`);
  }
  if (lines.length === 0) return "";
  return `<div class="warnings" role="alert"><ul>${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join("")}</ul></div>`;
}

export function tableHtml(head: string[], rows: string[][]): string {
  const cell = (v: string) => `<td${/UNSAFE|FAILED|^failed$|^completed-unsafe$/.test(v) ? ' class="unsafe"' : ""}>${escapeHtml(v)}</td>`;
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead>
<tbody>${rows.map((r) => `<tr>${r.map(cell).join("")}</tr>`).join("\n")}</tbody></table>`;
}

export function windowsHtml(windows: DowntimeWindow[]): string {
  if (windows.length === 0) return `<p class="muted">No downtime: the VM was never stopped.</p>`;
  const item = (w: DowntimeWindow) =>
    `<li><b>${w.name} ${escapeHtml(formatMs(w.ms))}</b>: ${escapeHtml(w.from)}, ${w.t} ms -> ${w.end} ms</li>`;
  return `<ul class="windows">${windows.map(item).join("")}</ul>`;
}

/** Every measured figure per run, with where it comes from or why it is missing. */
export function measuredTablesHtml(groups: MeasuredGroup[]): string {
  return groups
    .map((g) =>
      g.runs
        .map((run) => {
          const rows = run.figures.map((f) => [f.name, formatValue(f.value, unitOf[f.name]), f.value !== undefined ? f.how : `cannot derive: ${f.why}`]);
          const notes = run.notes.length ? `<ul>${run.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>` : "";
          return `<h3>${escapeHtml(run.label)}${run.status ? ` (status ${escapeHtml(run.status)})` : ""}</h3>${tableHtml(["figure", "value", "from"], rows)}${notes}`;
        })
        .join("\n"),
    )
    .join("\n");
}

export function comparisonHtml(c: MeasuredComparison): string {
  const rows = c.rows.map((r) => {
    const v = (x: number) => formatValue(x, r.unit);
    const interval = r.interval ? `[${v(r.interval.lo)}, ${v(r.interval.hi)}]` : "-";
    const pct = r.a.median !== 0 ? `${Math.round((r.difference / r.a.median) * 100)} %` : "-";
    return [r.name, v(r.a.median), v(r.b.median), `${r.difference >= 0 ? "+" : "-"}${v(Math.abs(r.difference))}`, pct, interval, r.beyondNoise === undefined ? "-" : r.beyondNoise ? "yes" : "no"];
  });
  return tableHtml(["figure", `median ${c.a}`, `median ${c.b}`, "difference", "change", "95 % interval", "beyond noise"], rows);
}
