// The three downtime windows of a result, as intervals on its timeline. Their lengths are the
// result's own figures (src/core/result.ts); the ends are the same events result.ts reads.

import type { MigrationResult } from "../../core/result.js";
import { Timeline, type EventOf } from "../../core/timeline.js";

export type WindowName = "downtime" | "guest-visible-downtime" | "service-downtime";

export interface DowntimeWindow {
  name: WindowName;
  /** Where it starts and ends, ms since the migration started. */
  t: number;
  end: number;
  /** The result's figure for it, ms. */
  ms: number;
  /** What bounds it, for the legend. */
  from: string;
}

export function timelineOf(result: MigrationResult): Timeline {
  const timeline = new Timeline();
  for (const e of result.timeline) timeline.add(e);
  return timeline;
}

/** The windows the result has a figure for, in the order downtime, guest-visible, service. */
export function downtimeWindows(result: MigrationResult): DowntimeWindow[] {
  const timeline = timelineOf(result);
  const out: DowntimeWindow[] = [];
  const stop = timeline.first("vm-stop");
  const resume = timeline.first("vm-resume");
  if (result.downtime !== undefined && stop && resume) {
    out.push({ name: "downtime", t: stop.t, end: resume.t, ms: result.downtime, from: "vm-stop -> vm-resume" });
  }
  const suspend = timeline.last("nic-suspend");
  const ready = timeline.last("nic-ready");
  if (result["guest-visible-downtime"] !== undefined && suspend && ready) {
    out.push({ name: "guest-visible-downtime", t: suspend.t, end: ready.t, ms: result["guest-visible-downtime"], from: "last nic-suspend -> last nic-ready" });
  }
  const service = result["service-downtime"];
  const gap = longestGap(timeline);
  if (service !== undefined && service > 0 && gap) {
    out.push({ name: "service-downtime", t: gap.t, end: gap.end, ms: service, from: `longest prober gap (${gap.lost} replies lost)` });
  }
  return out;
}

/** The first of the longest probe gaps: the one service-downtime measures. */
export function longestGap(timeline: Timeline): EventOf<"probe-gap"> | undefined {
  let best: EventOf<"probe-gap"> | undefined;
  for (const g of timeline.all("probe-gap")) if (!best || g.end - g.t > best.end - best.t) best = g;
  return best;
}
