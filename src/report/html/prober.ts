// The prober's replies over time, from the result's probe gaps and probe interval: the
// share of probes answered per time bin (a 1 ms prober over minutes is too many points to
// draw one by one), and the gaps themselves.

import type { MigrationResult } from "../../core/result.js";
import { longestGap, timelineOf } from "./windows.js";

export interface ReplyBin {
  t: number;
  end: number;
  /** Share of the probes sent in the bin that were answered, 0..100. */
  answered: number;
}

export interface ReplyGap {
  t: number;
  end: number;
  lost: number;
  /** The longest gap: the service downtime. */
  service: boolean;
}

export interface ProberSeries {
  interval: number;
  bins: ReplyBin[];
  gaps: ReplyGap[];
}

/** At most this many bins, so the plot stays small whatever the migration's length. */
const maxBins = 400;

export function proberSeries(result: MigrationResult, range?: [number, number]): ProberSeries | undefined {
  const interval = result.network?.["probe-interval"];
  if (interval === undefined || interval <= 0) return undefined;
  const timeline = timelineOf(result);
  const all = timeline.all("probe-gap");
  const longest = longestGap(timeline);
  const gaps = all.map((g) => ({ t: g.t, end: g.end, lost: g.lost, service: g === longest }));
  const [from, to] = range ?? [0, timeline.last("end")?.t ?? result["total-time"]];
  if (to <= from) return { interval, bins: [], gaps };
  const width = Math.max(interval, Math.ceil((to - from) / maxBins / interval) * interval);
  const bins: ReplyBin[] = [];
  for (let t = from; t < to; t += width) {
    const end = Math.min(to, t + width);
    let lost = 0;
    for (const g of gaps) lost += Math.max(0, Math.min(end, g.end) - Math.max(t, g.t));
    bins.push({ t, end, answered: Math.round(1000 * Math.max(0, 1 - lost / (end - t))) / 10 });
  }
  return { interval, bins, gaps: gaps.filter((g) => g.end > from && g.t < to) };
}
