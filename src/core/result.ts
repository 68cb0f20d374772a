// A migration result, shaped like QEMU's query-migrate reply, and the one place where its
// figures are computed from the timeline.

import { formatMs } from "./format.js";
import { modeParameters, modeRamStats, modeResultFields, type ModeParameters, type ModeRamStats, type ModeResultFields } from "./mode-results.js";
import type { MigrationParams } from "./params.js";
import type { MigrationStatus, Timeline, TimelineEvent } from "./timeline.js";

export interface RamStats extends ModeRamStats {
  transferred: number;
  remaining: number;
  total: number;
  duplicate: number;
  normal: number;
  "normal-bytes": number;
  "dirty-sync-count": number;
  mbps: number;
  /** Pages (zero and normal) sent per second, over the same interval as mbps. */
  "pages-per-second": number;
  "dirty-pages-rate": number;
  "precopy-bytes": number;
  "downtime-bytes": number;
  "page-size": number;
}

export interface PassRecord {
  pass: number;
  /** ms since the migration started. */
  t: number;
  "dirty-pages": number;
  "remaining-bytes": number;
  "newly-dirty": number;
  /** Bandwidth estimate in bytes/s and the switch-over threshold in bytes, at the sync. */
  bandwidth: number;
  threshold: number;
  "cpu-throttle-percentage": number;
  transferred: number;
}

export interface NetworkStats {
  /** Time the guest's network ran degraded (failover standby, shadow-virtqueue relay), ms. */
  "degraded-time": number;
  "lost-replies": number;
  "probe-interval": number;
}

/** The migrate parameters a run used, with QEMU's names (query-migrate-parameters); percent for the throttle. */
export interface MigrationParameters extends ModeParameters {
  "downtime-limit": number;
  "max-bandwidth": number;
  "cpu-throttle-initial": number;
  "cpu-throttle-increment": number;
  "cpu-throttle-tailslow": boolean;
  "max-cpu-throttle": number;
}

/** How busy the machine was during a live run (src/live/host-load.ts). */
export interface HostLoad {
  cpus: number;
  /** Share of all CPUs' time spent busy during the migration (0..1), every process counted. */
  "cpu-busy": number;
  /** 1-minute load average at the start and at the end. */
  "load-average": [number, number];
  /** The migration thread's event loop: how late its callbacks ran (ms). */
  "loop-delay-p99": number;
  "loop-delay-max": number;
  /** vCPU naps that ended more than 10 ms (a thread that waited for a core) late, and the latest (ms). */
  "vcpu-late-naps": number;
  "vcpu-late-max": number;
}

/** Live runs: the destination host's memory, measured when the migration's Config arrived (src/live/first-touch.ts). */
export interface DestinationHost {
  /** A page's first touch (fault in and zero fresh memory): us of CPU, and of wall time, over a probe of this many pages. */
  "first-touch-us": number;
  "first-touch-wall-us": number;
  "first-touch-probe-pages": number;
  /**
   * Checking and copying a data page of the stream into memory already populated (the Memory
   * frame's GMAC check and the copy into guest RAM, src/live/apply-probe.ts): us of CPU, and of wall time.
   */
  "apply-us": number;
  "apply-wall-us": number;
  /** With migration.destinationPrealloc: how long faulting in all guest RAM took before the migration (ms). */
  "prealloc-ms"?: number;
  /**
   * vDPA, live, without preallocation: what pinning all guest RAM took the destination's pinning
   * thread (ms): wall time, CPU, and time it waited runnable for a core (Linux schedstat).
   */
  "pin-ms"?: number;
  "pin-cpu-ms"?: number;
  "pin-wait-ms"?: number;
  /** The page faults the pinning thread took: the pages it found unpopulated and faulted in. */
  "pin-faults"?: number;
  /** multifd, live: what the destination applied from each channel's connection (Memory frames, the pages they named, sync points). */
  "multifd-channels"?: { frames: number; pages: number; syncs: number }[];
}

/** Live runs: the source host, measured when the migration started (src/live/zero-probe.ts). */
export interface SourceHost {
  /** The zero check of a page the guest never wrote (mapped, read once): us of CPU, and of wall time. */
  "zero-check-us": number;
  "zero-check-wall-us": number;
  /** The migration's own walk: pages it found zero, and the wall time a check took (us a page). */
  "walk-zero-pages"?: number;
  "walk-zero-check-us"?: number;
}

export interface MigrationResult extends ModeResultFields {
  status: MigrationStatus;
  "error-desc"?: string;
  /** Why migration is not allowed at all (QEMU's blocked-reasons), e.g. a VF without dirty tracking. */
  "blocked-reasons"?: string[];
  "total-time": number;
  "setup-time": number;
  downtime?: number;
  /**
   * Real runs: the downtime as query-migrate reported it, on the source's clock alone (to its
   * last write, or with return-path to the destination's SHUT after its cleanup); `downtime`
   * is then the guest's pause, from QEMU's checkpoint traces.
   */
  "qemu-downtime"?: number;
  "expected-downtime": number;
  "guest-visible-downtime"?: number;
  "service-downtime"?: number;
  "downtime-breakdown"?: Record<string, number>;
  "stale-pages": number;
  "stale-page-list"?: number[];
  /** Live runs: the wall-clock time (epoch ms) of the timeline's 0, to line it up with other logs. */
  "started-at"?: number;
  "cpu-throttle-percentage": number;
  warnings: string[];
  ram: RamStats;
  /** VFIO devices' state sent (QEMU 8.1+ query-migrate `vfio`); present when a VFIO device sent any. */
  vfio?: { transferred: number };
  /** Of a predicted or live run; a measured reply does not carry them. */
  parameters?: MigrationParameters;
  network?: NetworkStats;
  /** Live runs: how busy the machine was meanwhile. */
  host?: HostLoad;
  /** Live runs: what the destination host's first touch of memory and apply of a page cost at the start. */
  destination?: DestinationHost;
  /** Live runs: what the source host's zero check of a page cost at the start. */
  source?: SourceHost;
  passes: PassRecord[];
  timeline: TimelineEvent[];
}

export interface ResultContext {
  ramBytes: number;
  pageSize: number;
  probeIntervalMs?: number;
  params: MigrationParams;
}

/** The only component of the downtime that QEMU's downtime-limit governs: the RAM sent after stop. */
const governedComponent = "final-ram";
/** A downtime beyond this multiple of the limit is flagged (QEMU's own estimate overshoots a little). */
const farAboveLimit = 2;

export interface DowntimeOverLimit {
  limit: number;
  downtime: number;
  /** ms of the downtime the limit governs (final RAM) and the components it does not, largest first. */
  governed: number;
  ungoverned: [string, number][];
}

/** A downtime far above the limit, and which part of it the limit does not govern; else undefined. */
export function downtimeOverLimit(result: MigrationResult): DowntimeOverLimit | undefined {
  const limit = result.parameters?.["downtime-limit"];
  const downtime = result.downtime;
  if (limit === undefined || downtime === undefined || !(downtime > farAboveLimit * limit)) return undefined;
  const breakdown = Object.entries(result["downtime-breakdown"] ?? {});
  const ungoverned = breakdown.filter(([c, ms]) => c !== governedComponent && ms > 0).sort((a, b) => b[1] - a[1]);
  return { limit, downtime, governed: result["downtime-breakdown"]?.[governedComponent] ?? 0, ungoverned };
}

/** The downtime as tables show it: "4.68 s (16x limit)" when far above the limit. */
export function formatDowntime(result: MigrationResult): string {
  const over = downtimeOverLimit(result);
  return over ? `${formatMs(result.downtime)} (${Math.round(over.downtime / over.limit)}x limit)` : formatMs(result.downtime);
}

/** "downtime 4.68 s is 15.6x the downtime-limit of 300.0 ms: ..." */
export function overLimitWarning(o: DowntimeOverLimit): string {
  const rest = round3(o.ungoverned.reduce((s, [, ms]) => s + ms, 0));
  const parts = o.ungoverned.slice(0, 4).map(([c, ms]) => `${c} ${formatMs(ms)}`).join(", ");
  return (
    `downtime ${formatMs(o.downtime)} is ${(o.downtime / o.limit).toFixed(1)}x the downtime-limit of ${formatMs(o.limit)}: ` +
    `the limit governs only the RAM sent after stop (${formatMs(o.governed)}); ${formatMs(rest)} is device work after stop that it does not govern` +
    (parts ? ` (${parts})` : "")
  );
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function buildResult(timeline: Timeline, ctx: ResultContext): MigrationResult {
  const start = timeline.events[0]?.t ?? 0;
  const rel = (t: number) => round3(t - start);
  const statuses = timeline.all("status");
  const final = statuses[statuses.length - 1];
  const end = timeline.last("end");
  const counters = end?.counters ?? { transferred: 0, duplicate: 0, normal: 0, normalBytes: 0, precopyBytes: 0, downtimeBytes: 0 };
  const setupDone = timeline.first("setup-done");
  const stop = timeline.first("vm-stop");
  const resume = timeline.first("vm-resume");
  const syncs = timeline.all("sync");
  const lastSync = syncs[syncs.length - 1];
  const verify = timeline.last("verify");
  const throttles = timeline.all("throttle");
  // Post-copy ends when the last page arrives, after the destination resumed.
  const totalEnd = timeline.last("postcopy")?.t ?? resume?.t ?? end?.t ?? start;
  const totalTime = rel(totalEnd);
  const setupTime = setupDone ? rel(setupDone.t) : totalTime;
  const warnings: string[] = [];

  const result: MigrationResult = {
    status: final?.status ?? "failed",
    ...(final?.reason ? { "error-desc": final.reason } : {}),
    ...(final?.blocked && final.reason ? { "blocked-reasons": [final.reason] } : {}),
    "total-time": totalTime,
    "setup-time": setupTime,
    "expected-downtime": round3(lastSync?.expectedDowntime ?? 0),
    "stale-pages": verify?.stalePages ?? 0,
    "cpu-throttle-percentage": Math.round((throttles[throttles.length - 1]?.fraction ?? 0) * 100),
    warnings,
    ram: {
      transferred: counters.transferred,
      remaining: final?.status === "failed" ? (lastSync?.dirtyPages ?? 0) * ctx.pageSize : 0,
      total: ctx.ramBytes,
      duplicate: counters.duplicate,
      normal: counters.normal,
      "normal-bytes": counters.normalBytes,
      "dirty-sync-count": syncs.length,
      mbps: totalTime > setupTime ? round3((counters.transferred * 8) / (totalTime - setupTime) / 1000) : 0,
      "pages-per-second": totalTime > setupTime ? Math.round(((counters.duplicate + counters.normal) * 1000) / (totalTime - setupTime)) : 0,
      "dirty-pages-rate": Math.round(lastNonZero(syncs.map((s) => s.dirtyRate))),
      "precopy-bytes": counters.precopyBytes,
      "downtime-bytes": counters.downtimeBytes,
      "page-size": ctx.pageSize,
      ...modeRamStats(counters, timeline),
    },
    parameters: {
      "downtime-limit": ctx.params.downtimeLimitMs,
      "max-bandwidth": ctx.params.maxBandwidth,
      "cpu-throttle-initial": Math.round(ctx.params.throttle.initial * 100),
      "cpu-throttle-increment": Math.round(ctx.params.throttle.increment * 100),
      "cpu-throttle-tailslow": ctx.params.throttle.tailslow,
      "max-cpu-throttle": Math.round(ctx.params.throttle.max * 100),
      ...modeParameters(ctx.params),
    },
    passes: syncs.map((s) => ({
      pass: s.pass,
      t: rel(s.t),
      "dirty-pages": s.dirtyPages,
      "remaining-bytes": s.dirtyPages * ctx.pageSize,
      "newly-dirty": s.newlyDirty,
      bandwidth: Math.round(s.bandwidth),
      threshold: Math.round(s.threshold),
      "cpu-throttle-percentage": Math.round(s.throttle * 100),
      transferred: s.counters.transferred,
    })),
    timeline: timeline.events.map((e) => shift(e, start)),
  };

  const deviceData = timeline.all("device-data");
  if (deviceData.length > 0) result.vfio = { transferred: deviceData.reduce((n, e) => n + e.bytes, 0) };
  if (stop && resume) {
    result.downtime = round3(resume.t - stop.t);
    result["downtime-breakdown"] = downtimeBreakdown(timeline, stop.t, resume.t);
    const suspend = timeline.last("nic-suspend");
    const ready = timeline.last("nic-ready");
    if (suspend && ready) result["guest-visible-downtime"] = round3(ready.t - suspend.t);
  }
  if (ctx.probeIntervalMs !== undefined && result.status !== "failed") {
    const gaps = timeline.all("probe-gap");
    result["service-downtime"] = round3(Math.max(0, ...gaps.map((g) => g.end - g.t)));
    result.network = {
      "degraded-time": round3(degradedTime(timeline, end?.t ?? totalEnd)),
      "lost-replies": gaps.reduce((n, g) => n + g.lost, 0),
      "probe-interval": ctx.probeIntervalMs,
    };
  }
  if (verify && verify.stalePages > 0) {
    result["stale-page-list"] = verify.pages;
    warnings.push(
      `UNSAFE: ${verify.stalePages} guest pages on the destination differ from the source ` +
        `(DMA writes the dirty log never saw); QEMU resumes the guest with corrupted memory`,
    );
  }
  Object.assign(result, modeResultFields(timeline, rel, warnings));
  const over = downtimeOverLimit(result);
  if (over) warnings.push(overLimitWarning(over));
  for (const d of timeline.all("frames-dropped")) warnings.push(`${d.frames} received frames dropped: ${d.reason}`);
  return result;
}

/**
 * Milliseconds per component in [stop, resume]. Spans nest (a device's log read inside the
 * final sync), so each instant goes to the innermost span covering it; none: "other".
 */
function downtimeBreakdown(timeline: Timeline, stop: number, resume: number): Record<string, number> {
  const spans = timeline.all("span").filter((s) => s.end > stop && s.t < resume && s.end > s.t);
  const cuts = [...new Set([stop, resume, ...spans.flatMap((s) => [s.t, s.end])])]
    .filter((t) => t >= stop && t <= resume)
    .sort((x, y) => x - y);
  const out: Record<string, number> = {};
  for (let i = 0; i + 1 < cuts.length; i++) {
    const a = cuts[i];
    const b = cuts[i + 1];
    let inner: (typeof spans)[number] | undefined;
    for (const s of spans) if (s.t <= a && s.end >= b && (!inner || s.end - s.t < inner.end - inner.t)) inner = s;
    const component = inner?.component ?? "other";
    out[component] = (out[component] ?? 0) + (b - a);
  }
  for (const k of Object.keys(out)) out[k] = round3(out[k]);
  return out;
}

function degradedTime(timeline: Timeline, end: number): number {
  let total = 0;
  let since: number | undefined;
  for (const e of timeline.all("net")) {
    if (e.state === "degraded" && since === undefined) since = e.t;
    else if (e.state !== "degraded" && since !== undefined) {
      total += e.t - since;
      since = undefined;
    }
  }
  if (since !== undefined) total += end - since;
  return total;
}

function lastNonZero(xs: number[]): number {
  for (let i = xs.length - 1; i >= 0; i--) if (xs[i] > 0) return xs[i];
  return 0;
}

function shift(e: TimelineEvent, start: number): TimelineEvent {
  const out = { ...e, t: round3(e.t - start) } as TimelineEvent & { end?: number };
  if ("end" in e && typeof e.end === "number") out.end = round3(e.end - start);
  return out;
}
