// The modes' result fields from a hand-built timeline, each worked out from its definition:
// QEMU's query-migrate names and units (vcpu-dirty-limit in MB/s of 2^20 bytes), post-copy's
// window from the switch to the last page, the share of its writes a dirty-limited guest keeps.

import { describe, expect, it } from "vitest";
import { modeParameters, modeRamStats, modeResultFields } from "../../src/core/mode-results.js";
import { qemuDefaults } from "../../src/core/params.js";
import { postcopyRiskWarning } from "../../src/core/postcopy.js";
import { Timeline, type Counters } from "../../src/core/timeline.js";

const counters = (extra: Partial<Counters> = {}): Counters => ({ transferred: 0, duplicate: 0, normal: 0, normalBytes: 0, precopyBytes: 0, downtimeBytes: 0, ...extra });
const rel = (t: number) => t - 1000;

describe("the modes' result fields", () => {
  it("parameters: only the modes in use, in QEMU's units", () => {
    expect(modeParameters(qemuDefaults)).toEqual({});
    const p = { ...qemuDefaults, multifd: { channels: 8, hostCores: 4 }, xbzrle: { cacheSize: 64 * 2 ** 20 }, dirtyLimit: { bytesPerSecond: 48 * 2 ** 20, ringSize: 4096 } };
    expect(modeParameters(p)).toEqual({ "multifd-channels": 8, "xbzrle-cache-size": 64 * 2 ** 20, "vcpu-dirty-limit": 48 });
  });

  it("ram stats: multifd-bytes and post-copy's bytes only when counted; requests from the last post-copy record, 0 without one", () => {
    const empty = new Timeline();
    // Strictly: an absent mode has no key at all, not one set to undefined.
    expect(modeRamStats(counters(), empty)).toStrictEqual({});
    expect(modeRamStats(counters({ multifdBytes: 1234 }), empty)).toStrictEqual({ "multifd-bytes": 1234 });
    expect(modeRamStats(counters({ postcopyBytes: 0 }), empty)).toEqual({ "postcopy-requests": 0, "postcopy-bytes": 0 });
    const tl = new Timeline();
    tl.add({ t: 5, kind: "postcopy", requests: 3, blocktime: 0, vcpuBlocktime: 0, vcpus: 2 });
    tl.add({ t: 9, kind: "postcopy", requests: 17, blocktime: 0, vcpuBlocktime: 0, vcpus: 2 });
    expect(modeRamStats(counters({ postcopyBytes: 4096 }), tl)).toEqual({ "postcopy-requests": 17, "postcopy-bytes": 4096 });
  });

  it("no mode: no field and no warning", () => {
    const tl = new Timeline();
    tl.add({ t: 1000, kind: "status", status: "active" });
    const warnings: string[] = [];
    expect(modeResultFields(tl, rel, warnings)).toEqual({});
    expect(warnings).toEqual([]);
  });

  it("post-copy: active from the switch to the last page; block times per vCPU; the risk window in the warnings, times since the start", () => {
    const tl = new Timeline();
    tl.add({ t: 1000, kind: "status", status: "active" });
    tl.add({ t: 3500.25, kind: "status", status: "postcopy-active" });
    tl.add({ t: 4000, kind: "status", status: "postcopy-active" });
    tl.add({ t: 5750.5, kind: "postcopy", requests: 40, blocktime: 12.5, vcpuBlocktime: 30, vcpus: 3 });
    tl.add({ t: 6000, kind: "end", counters: counters() });
    tl.add({ t: 6000, kind: "warning", message: "from the run" });
    const warnings: string[] = [];
    expect(modeResultFields(tl, rel, warnings)).toEqual({
      "postcopy-active-time": 5750.5 - 3500.25,
      "postcopy-blocktime": 12.5,
      "postcopy-vcpu-blocktime": [30, 30, 30],
    });
    // The switch 2500.25 ms and the last page 4750.5 ms after the start.
    expect(warnings).toEqual([postcopyRiskWarning(2500.25, 4750.5), "from the run"]);
    expect(warnings[0]).toContain("from the switch at 2.50 s to the last page at 4.75 s (2.25 s)");
  });

  it("post-copy that failed before its last page: the window runs to the end; without an end it is empty", () => {
    const tl = new Timeline();
    tl.add({ t: 2000, kind: "status", status: "postcopy-active" });
    tl.add({ t: 2600.0004, kind: "end", counters: counters() });
    const warnings: string[] = [];
    expect(modeResultFields(tl, rel, warnings)).toEqual({ "postcopy-active-time": 600 });
    expect(warnings).toEqual([postcopyRiskWarning(1000, 1600.0004)]);
    const open = new Timeline();
    open.add({ t: 2000, kind: "status", status: "postcopy-active" });
    expect(modeResultFields(open, rel, [])).toEqual({ "postcopy-active-time": 0 });
  });

  it("xbzrle's cache stats and dirty-limit's last adjustment; the guest keeps 1 - its sleep share of its writes", () => {
    const tl = new Timeline();
    const stats = { "cache-size": 4096, bytes: 10, pages: 1, "cache-miss": 2, "cache-miss-rate": 0.6667, "encoding-rate": 409.6, overflow: 0 };
    tl.add({ t: 1, kind: "xbzrle", stats: { ...stats, pages: 0 } });
    tl.add({ t: 2, kind: "xbzrle", stats });
    tl.add({ t: 1, kind: "dirty-limit", fraction: 0.5, throttleUsPerFull: 1, ringFullUs: 1 });
    tl.add({ t: 2, kind: "dirty-limit", fraction: 0.726, throttleUsPerFull: 2650, ringFullUs: 1000 });
    expect(modeResultFields(tl, rel, [])).toEqual({
      "xbzrle-cache": stats,
      "dirty-limit-throttle-time-per-round": 2650,
      "dirty-limit-ring-full-time": 1000,
      // 1 - 0.726 = 27.4 % -> 27
      "dirty-limit-guest-write-percentage": 27,
    });
  });
});
