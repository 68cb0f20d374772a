// The result fields of QEMU's other ways to move RAM (multifd, post-copy, xbzrle, dirty-limit),
// with QEMU's query-migrate names, computed from the timeline. Absent modes add nothing.

import type { MigrationParams } from "./params.js";
import { postcopyRiskWarning } from "./postcopy.js";
import type { Counters, Timeline } from "./timeline.js";
import type { XbzrleCacheStats } from "./xbzrle.js";

export interface ModeRamStats {
  "multifd-bytes"?: number;
  "postcopy-requests"?: number;
  "postcopy-bytes"?: number;
}

export interface ModeResultFields {
  /** ms all vCPUs were blocked on post-copy faults at once (QEMU: measured on the destination). */
  "postcopy-blocktime"?: number;
  /** ms each vCPU was blocked on post-copy faults. */
  "postcopy-vcpu-blocktime"?: number[];
  /** livemig: ms from the switch to post-copy to the last page's arrival, when the guest runs degraded and a failure loses it. */
  "postcopy-active-time"?: number;
  "xbzrle-cache"?: XbzrleCacheStats;
  /** us each vCPU sleeps per full dirty ring (the largest), at the last adjustment. */
  "dirty-limit-throttle-time-per-round"?: number;
  /** us a vCPU takes to fill its dirty ring at the highest rate seen. */
  "dirty-limit-ring-full-time"?: number;
  /** livemig: the share of its own page writes the guest keeps under the limit, percent. */
  "dirty-limit-guest-write-percentage"?: number;
}

/** The migrate parameters of the modes in use (query-migrate-parameters' names and units). */
export interface ModeParameters {
  "multifd-channels"?: number;
  "xbzrle-cache-size"?: number;
  /** MB/s (QEMU's unit, 2^20 bytes). */
  "vcpu-dirty-limit"?: number;
}

export function modeParameters(params: MigrationParams): ModeParameters {
  const out: ModeParameters = {};
  if (params.multifd) out["multifd-channels"] = params.multifd.channels;
  if (params.xbzrle) out["xbzrle-cache-size"] = params.xbzrle.cacheSize;
  if (params.dirtyLimit) out["vcpu-dirty-limit"] = params.dirtyLimit.bytesPerSecond / 2 ** 20;
  return out;
}

export function modeRamStats(counters: Counters, timeline: Timeline): ModeRamStats {
  const out: ModeRamStats = {};
  if (counters.multifdBytes !== undefined) out["multifd-bytes"] = counters.multifdBytes;
  if (counters.postcopyBytes !== undefined) {
    out["postcopy-requests"] = timeline.last("postcopy")?.requests ?? 0;
    out["postcopy-bytes"] = counters.postcopyBytes;
  }
  return out;
}

/** The top-level fields, and the warnings the modes give. `rel` turns a timeline time into ms since the start. */
export function modeResultFields(timeline: Timeline, rel: (t: number) => number, warnings: string[]): ModeResultFields {
  const out: ModeResultFields = {};
  const postcopy = timeline.last("postcopy");
  const switched = timeline.all("status").find((s) => s.status === "postcopy-active");
  if (switched) {
    const end = postcopy?.t ?? timeline.last("end")?.t ?? switched.t;
    out["postcopy-active-time"] = round3(end - switched.t);
    if (postcopy) {
      out["postcopy-blocktime"] = postcopy.blocktime;
      out["postcopy-vcpu-blocktime"] = new Array<number>(postcopy.vcpus).fill(postcopy.vcpuBlocktime);
    }
    warnings.push(postcopyRiskWarning(rel(switched.t), rel(end)));
  }
  const xbzrle = timeline.last("xbzrle");
  if (xbzrle) out["xbzrle-cache"] = xbzrle.stats;
  const limit = timeline.last("dirty-limit");
  if (limit) {
    out["dirty-limit-throttle-time-per-round"] = limit.throttleUsPerFull;
    out["dirty-limit-ring-full-time"] = limit.ringFullUs;
    out["dirty-limit-guest-write-percentage"] = Math.round((1 - limit.fraction) * 100);
  }
  for (const w of timeline.all("warning")) warnings.push(w.message);
  return out;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
