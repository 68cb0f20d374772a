// The simulated prober of the 2015 thread: a ping every `interval` ms. A ping is answered
// when the guest's vCPUs run, its network is not down, and the fabric knows where it is
// (after resume, from the first announce on). Gaps become probe-gap events.

import type { Timeline } from "../core/timeline.js";

export function probe(timeline: Timeline, intervalMs: number, fabricLearnMs: number): void {
  const outages: [number, number][] = [];
  const stop = timeline.first("vm-stop");
  const resume = timeline.first("vm-resume");
  const firstAnnounce = timeline.first("announce");
  if (stop) {
    const found = firstAnnounce ? firstAnnounce.t + fabricLearnMs : Infinity;
    outages.push([stop.t, Math.max(resume?.t ?? Infinity, found)]);
  }
  let downSince: number | undefined;
  for (const e of timeline.all("net")) {
    if (e.state === "down" && downSince === undefined) downSince = e.t;
    else if (e.state !== "down" && downSince !== undefined) {
      outages.push([downSince, e.t]);
      downSince = undefined;
    }
  }
  const end = timeline.last("end")?.t ?? 0;
  if (downSince !== undefined) outages.push([downSince, end]);

  outages.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [a, b] of outages) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  for (const [a, b] of merged) {
    const first = Math.ceil(a / intervalMs - 1e-9);
    const next = Math.ceil(b / intervalMs - 1e-9);
    if (next <= first) continue;
    timeline.add({ t: first * intervalMs, kind: "probe-gap", end: next * intervalMs, lost: next - first });
  }
}
