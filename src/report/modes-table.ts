// The terminal table of QEMU's other ways to move RAM (multifd, post-copy, xbzrle,
// dirty-limit): one row per run that used one, QEMU's field names; nothing when none did.

import Table from "cli-table3";
import { formatBytes, formatMs } from "../core/format.js";
import { started, type NamedResult } from "./table.js";

const dash = "-";

export function modesTable(runs: NamedResult[]): string {
  const used = runs.filter(({ result: r }) => r.ram["multifd-bytes"] !== undefined || r.ram["postcopy-bytes"] !== undefined || r["xbzrle-cache"] || r["dirty-limit-ring-full-time"] !== undefined);
  if (used.length === 0) return "";
  const table = new Table({
    head: ["variant", "multifd-bytes", "postcopy-requests", "postcopy-bytes", "postcopy-blocktime", "xbzrle pages / cache-miss-rate / encoding-rate", "dirty-limit throttle per round / guest writes kept"],
    style: { head: [], border: [] },
  });
  for (const { variant, result: r } of used) {
    // A run refused before it started (post-copy with a VFIO device) moved nothing: "-", not zeros.
    if (!started(r)) {
      table.push([variant, ...Array(6).fill(dash)]);
      continue;
    }
    const x = r["xbzrle-cache"];
    const limit = r["dirty-limit-throttle-time-per-round"];
    table.push([
      variant,
      r.ram["multifd-bytes"] !== undefined ? formatBytes(r.ram["multifd-bytes"]) : dash,
      r.ram["postcopy-requests"] !== undefined ? String(r.ram["postcopy-requests"]) : dash,
      r.ram["postcopy-bytes"] !== undefined ? formatBytes(r.ram["postcopy-bytes"]) : dash,
      formatMs(r["postcopy-blocktime"]),
      x ? `${x.pages} / ${x["cache-miss-rate"].toFixed(2)} / ${x["encoding-rate"].toFixed(1)}` : dash,
      limit !== undefined ? `${(limit / 1000).toFixed(1)} ms / ${r["dirty-limit-guest-write-percentage"]} %` : dash,
    ]);
  }
  return table.toString();
}
