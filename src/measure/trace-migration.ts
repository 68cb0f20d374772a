// What a source trace says about the migration as a whole, from migrate_set_state and the
// bitmap syncs: its final status, total and setup time, and the number of dirty-bitmap syncs.

import type { Trace, TraceEvent } from "./trace.js";

export interface TraceMigration {
  status?: string;
  /** ms from "setup" to the final state, and from "setup" to "active". */
  totalTime?: number;
  setupTime?: number;
  dirtySyncCount: number;
  /** Lines the figures come from. */
  lines: { setup?: number; active?: number; end?: number };
}

const FINAL = new Set(["completed", "failed", "cancelled"]);
const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function traceMigration(trace: Trace): TraceMigration {
  // The last migration in the trace: start from its last "setup".
  let setup: TraceEvent | undefined;
  let active: TraceEvent | undefined;
  let end: TraceEvent | undefined;
  let status: string | undefined;
  let syncs = 0;
  for (const e of trace.events) {
    const d = e.decoded;
    if (d?.name === "migrate_set_state") {
      status = d.state;
      if (d.state === "setup") {
        setup = e;
        active = end = undefined;
        syncs = 0;
      } else if (d.state === "active" && setup && !active) active = e;
      else if (FINAL.has(d.state) && setup) end = e;
    } else if (d?.name === "migration_bitmap_sync_end" && (!setup || !end)) syncs++;
  }
  const out: TraceMigration = { dirtySyncCount: syncs, lines: { setup: setup?.line, active: active?.line, end: end?.line } };
  if (status !== undefined) out.status = status;
  if (setup?.t !== undefined && end?.t !== undefined) out.totalTime = round3(end.t - setup.t);
  if (setup?.t !== undefined && active?.t !== undefined) out.setupTime = round3(active.t - setup.t);
  return out;
}
