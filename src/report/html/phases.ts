// The bars of the phase timeline: one lane for the migration's own phases (setup, each pass,
// stop-and-copy, announce), one per side for the devices' spans (pinning among them), one
// for the guest network's state, and one per downtime window.

import type { MigrationResult } from "../../core/result.js";
import { formatMs } from "../../core/format.js";
import { downtimeWindows, timelineOf } from "./windows.js";

export const lanes = ["migration", "source", "destination", "network", "downtime", "guest-visible", "service"] as const;
/** The lanes of the downtime windows, by window. */
export const windowLane = { downtime: "downtime", "guest-visible-downtime": "guest-visible", "service-downtime": "service" } as const;
export type Lane = (typeof lanes)[number];

export interface PhaseBar {
  lane: Lane;
  /** What the bar is (a phase, a span's component, a network state, a window). */
  category: string;
  /** Its own name, e.g. "pass 2" or "pinning at device start". */
  label: string;
  t: number;
  end: number;
}

export interface PhaseMark {
  lane: Lane;
  label: string;
  t: number;
}

export function phaseBars(result: MigrationResult): PhaseBar[] {
  const timeline = timelineOf(result);
  const bars: PhaseBar[] = [];
  const endOfRun = timeline.last("end")?.t ?? result["total-time"];
  const stop = timeline.first("vm-stop");
  const resume = timeline.first("vm-resume");
  const setupEnd = timeline.first("setup-done")?.t ?? result["setup-time"];

  bars.push({ lane: "migration", category: "setup", label: "setup", t: 0, end: setupEnd });
  const unplug = timeline.all("status").find((s) => s.status === "wait-unplug");
  if (unplug) {
    const active = timeline.all("status").find((s) => s.status === "active" && s.t >= unplug.t);
    bars.push({ lane: "migration", category: "wait-unplug", label: "wait-unplug", t: unplug.t, end: active?.t ?? endOfRun });
  }
  // Pass N runs from its sync (or the end of setup) to the next sync, the stop, or the end.
  const syncs = timeline.all("sync");
  const precopyEnd = stop?.t ?? endOfRun;
  syncs.forEach((s, i) => {
    const t = Math.max(s.t, setupEnd);
    const end = Math.min(syncs[i + 1]?.t ?? precopyEnd, precopyEnd);
    if (end > t) bars.push({ lane: "migration", category: "pass", label: `pass ${s.pass}`, t, end });
  });
  if (stop && resume) bars.push({ lane: "migration", category: "stop-and-copy", label: "stop-and-copy", t: stop.t, end: resume.t });
  const announces = timeline.all("announce");
  if (resume && announces.length > 0) {
    bars.push({ lane: "migration", category: "announce", label: "announce (RARP)", t: resume.t, end: announces[announces.length - 1].t });
  }

  // Longest first, so that nested spans are drawn over the spans that hold them.
  const spans = timeline.all("span").filter((s) => s.component !== "setup" && s.end > s.t);
  spans.sort((a, b) => b.end - b.t - (a.end - a.t));
  for (const s of spans) bars.push({ lane: s.side, category: s.component, label: s.name, t: s.t, end: s.end });

  const net = timeline.all("net");
  net.forEach((n, i) => {
    const end = net[i + 1]?.t ?? endOfRun;
    if (end > n.t) bars.push({ lane: "network", category: `network ${n.state}`, label: n.reason, t: n.t, end });
  });

  for (const w of downtimeWindows(result)) {
    bars.push({ lane: windowLane[w.name], category: "downtime window", label: `${w.name} ${formatMs(w.ms)}`, t: w.t, end: w.end });
  }
  return bars;
}

/** Instants worth a tick: NIC suspend and ready, announce rounds. */
/** Every category in a stable order (phases, then components, then network states), so a
 * category has the same colour in every plot of a report. */
export function categoryOrder(allBars: PhaseBar[]): string[] {
  const phases = ["setup", "wait-unplug", "pass", "stop-and-copy", "announce"];
  const seen = [...new Set(allBars.filter((b) => !Object.values(windowLane).includes(b.lane as never)).map((b) => b.category))];
  const network = seen.filter((c) => c.startsWith("network ")).sort();
  const components = seen.filter((c) => !phases.includes(c) && !network.includes(c)).sort();
  return [...phases.filter((p) => seen.includes(p)), ...components, ...network];
}

export function phaseMarks(result: MigrationResult): PhaseMark[] {
  const marks: PhaseMark[] = [];
  for (const e of result.timeline) {
    if (e.kind === "nic-suspend") marks.push({ lane: "source", label: `nic-suspend ${e.device}`, t: e.t });
    else if (e.kind === "nic-ready") marks.push({ lane: "destination", label: `nic-ready ${e.device}`, t: e.t });
    else if (e.kind === "announce") marks.push({ lane: "migration", label: `announce ${e.round}`, t: e.t });
  }
  return marks;
}

/** The switch-over, where the downtimes are: from a little before vm-stop to the last event. */
export function switchOverRange(result: MigrationResult): [number, number] | undefined {
  const windows = downtimeWindows(result);
  if (windows.length === 0) return undefined;
  const timeline = timelineOf(result);
  const t = Math.min(...windows.map((w) => w.t));
  const end = Math.max(...windows.map((w) => w.end), timeline.last("announce")?.t ?? 0);
  const margin = Math.max(1, (end - t) * 0.05);
  return [Math.max(0, t - margin), end + margin];
}
