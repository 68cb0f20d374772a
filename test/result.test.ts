// A result's figures from a timeline written by hand, every field worked out by hand.

import { describe, expect, it } from "vitest";
import { qemuDefaults } from "../src/core/params.js";
import { buildResult, downtimeOverLimit, formatDowntime, overLimitWarning } from "../src/core/result.js";
import { Timeline, type Counters } from "../src/core/timeline.js";

const counters = (transferred: number, rest: Partial<Counters> = {}): Counters => ({
  transferred, duplicate: 0, normal: 0, normalBytes: 0, precopyBytes: 0, downtimeBytes: 0, ...rest,
});

const sync = (t: number, pass: number, dirtyPages: number, newlyDirty: number, bandwidth: number, throttle: number, dirtyRate: number, expectedDowntime: number, transferred: number) =>
  ({ t, kind: "sync", pass, dirtyPages, newlyDirty, bandwidth, threshold: bandwidth * 0.3, throttle, dirtyRate, expectedDowntime, counters: counters(transferred) }) as const;

/** A migration that starts at t = 1000 ms: setup 10 ms, two passes, 30 ms of downtime. */
function completed(): Timeline {
  const tl = new Timeline();
  tl.add({ t: 1000, kind: "status", status: "setup" });
  tl.add({ t: 1000, kind: "span", end: 1010, name: "setup", component: "setup", side: "source" });
  tl.add(sync(1010, 1, 100, 100, 0, 0, 0, 300, 0));
  tl.add({ t: 1010, kind: "setup-done" });
  tl.add({ t: 1010, kind: "status", status: "active" });
  tl.add({ t: 1010, kind: "net", state: "degraded", reason: "standby" });
  tl.add(sync(2010, 2, 10, 5, 1e6, 0.2, 50, 40, 500_000));
  tl.add({ t: 2010, kind: "throttle", fraction: 0.2 });
  tl.add(sync(2500, 3, 2, 2, 2e6, 0.2, 0, 12, 900_000));
  tl.add({ t: 2500, kind: "status", status: "device" });
  tl.add({ t: 2500, kind: "vm-stop" });
  tl.add({ t: 2500, kind: "span", end: 2502, name: "final sync", component: "final-sync", side: "source" });
  tl.add({ t: 2501, kind: "span", end: 2502, name: "device log", component: "dirty-log-read", side: "source" });
  tl.add({ t: 2502, kind: "span", end: 2510, name: "final RAM", component: "final-ram", side: "source" });
  tl.add({ t: 2505, kind: "nic-suspend", device: "vf" });
  tl.add({ t: 2510, kind: "span", end: 2512, name: "device state", component: "device-state", side: "source" });
  tl.add({ t: 2520, kind: "nic-ready", device: "vf" });
  tl.add({ t: 2530, kind: "verify", stalePages: 3, pages: [7, 8, 9] });
  tl.add({ t: 2530, kind: "vm-resume" });
  tl.add({ t: 2530, kind: "status", status: "completed-unsafe" });
  tl.add({ t: 2540, kind: "net", state: "up", reason: "failed back" });
  tl.add({ t: 2540, kind: "frames-dropped", frames: 12, reason: "rings dropped at stop" });
  tl.add({ t: 2600, kind: "end", counters: counters(1_000_000, { duplicate: 50, normal: 52, normalBytes: 52 * 4096, precopyBytes: 900_000, downtimeBytes: 100_000 }) });
  // The prober's gaps come last, as src/sim/prober.ts adds them after the run.
  tl.add({ t: 1500, kind: "probe-gap", end: 1520, lost: 20 });
  tl.add({ t: 2500, kind: "probe-gap", end: 2600, lost: 100 });
  return tl;
}

describe("buildResult", () => {
  it("computes every figure of a completed migration from its timeline", () => {
    const r = buildResult(completed(), { ramBytes: 1 << 20, pageSize: 4096, probeIntervalMs: 1, params: qemuDefaults });
    expect(r.status).toBe("completed-unsafe");
    expect(r["error-desc"]).toBeUndefined();
    expect(r["total-time"]).toBe(1530); // 1000 -> resume at 2530
    expect(r["setup-time"]).toBe(10);
    expect(r["expected-downtime"]).toBe(12); // the last sync's
    expect(r["cpu-throttle-percentage"]).toBe(20);
    expect(r.ram).toEqual({
      transferred: 1_000_000,
      remaining: 0,
      total: 1 << 20,
      duplicate: 50,
      normal: 52,
      "normal-bytes": 52 * 4096,
      "dirty-sync-count": 3,
      mbps: 5.263, // 1e6 B x 8 / (1530 - 10) ms / 1000
      "pages-per-second": 67, // (50 + 52) pages x 1000 / (1530 - 10) ms
      "dirty-pages-rate": 50, // the last non-zero rate
      "precopy-bytes": 900_000,
      "downtime-bytes": 100_000,
      "page-size": 4096,
    });
    expect(r.passes).toEqual([
      { pass: 1, t: 10, "dirty-pages": 100, "remaining-bytes": 409_600, "newly-dirty": 100, bandwidth: 0, threshold: 0, "cpu-throttle-percentage": 0, transferred: 0 },
      { pass: 2, t: 1010, "dirty-pages": 10, "remaining-bytes": 40_960, "newly-dirty": 5, bandwidth: 1e6, threshold: 3e5, "cpu-throttle-percentage": 20, transferred: 500_000 },
      { pass: 3, t: 1500, "dirty-pages": 2, "remaining-bytes": 8192, "newly-dirty": 2, bandwidth: 2e6, threshold: 6e5, "cpu-throttle-percentage": 20, transferred: 900_000 },
    ]);
    expect(r.downtime).toBe(30);
    // Each instant to the innermost span: the device log inside the final sync; 2512..2530 is no span's.
    expect(r["downtime-breakdown"]).toEqual({ "final-sync": 1, "dirty-log-read": 1, "final-ram": 8, "device-state": 2, other: 18 });
    expect(r["guest-visible-downtime"]).toBe(15); // last nic-suspend 2505 -> last nic-ready 2520
    expect(r["service-downtime"]).toBe(100);
    expect(r.network).toEqual({ "degraded-time": 1530, "lost-replies": 120, "probe-interval": 1 }); // degraded 1010 -> up 2540
    expect(r["stale-pages"]).toBe(3);
    expect(r["stale-page-list"]).toEqual([7, 8, 9]);
    expect(r.warnings).toEqual([
      "UNSAFE: 3 guest pages on the destination differ from the source (DMA writes the dirty log never saw); QEMU resumes the guest with corrupted memory",
      "12 received frames dropped: rings dropped at stop",
    ]);
    // Times relative to the start, spans' and gaps' ends too.
    expect(r.timeline[0].t).toBe(0);
    expect(r.timeline[1]).toEqual({ t: 0, kind: "span", end: 10, name: "setup", component: "setup", side: "source" });
    expect(r.timeline[r.timeline.length - 1]).toEqual({ t: 1500, kind: "probe-gap", end: 1600, lost: 100 });
  });

  it("reports the throttle parameters in percent, as query-migrate-parameters does", () => {
    // 0.35, 0.05, 0.8 as fractions are 35, 5 and 80 percent (integers in QEMU's QAPI).
    const params = { ...qemuDefaults, throttle: { ...qemuDefaults.throttle, initial: 0.35, increment: 0.05, max: 0.8, tailslow: true } };
    const r = buildResult(completed(), { ramBytes: 1 << 20, pageSize: 4096, probeIntervalMs: 1, params });
    expect(r.parameters).toMatchObject({ "cpu-throttle-initial": 35, "cpu-throttle-increment": 5, "max-cpu-throttle": 80, "cpu-throttle-tailslow": true });
  });

  it("gives a piece covered by two spans of the same extent to the one recorded first (the inner: spans are recorded as they end)", () => {
    // The device log read fills the whole final sync [2500, 2502]; the inner work ends first,
    // so it is recorded first (as the controller's `work` records a span at its end).
    const tl = completed();
    const at = tl.events.findIndex((e) => e.kind === "span" && e.component === "final-sync");
    tl.events.splice(at, 2,
      { t: 2500, kind: "span", end: 2502, name: "device log", component: "dirty-log-read", side: "source" },
      { t: 2500, kind: "span", end: 2502, name: "final sync", component: "final-sync", side: "source" });
    const r = buildResult(tl, { ramBytes: 1 << 20, pageSize: 4096, probeIntervalMs: 1, params: qemuDefaults });
    expect(r["downtime-breakdown"]).toEqual({ "dirty-log-read": 2, "final-ram": 8, "device-state": 2, other: 18 });
  });

  it("a network still degraded at the end counts until the end", () => {
    const tl = completed();
    tl.events.splice(tl.events.findIndex((e) => e.kind === "net" && e.state === "up"), 1);
    const r = buildResult(tl, { ramBytes: 1 << 20, pageSize: 4096, probeIntervalMs: 1, params: qemuDefaults });
    expect(r.network!["degraded-time"]).toBe(1590); // 1010 -> end at 2600
  });

  it("a failed migration: its reason, what remained, no downtime and no service figure", () => {
    const tl = new Timeline();
    tl.add({ t: 0, kind: "status", status: "setup" });
    tl.add(sync(0, 1, 256, 256, 0, 0, 0, 300, 0));
    tl.add({ t: 5, kind: "setup-done" });
    tl.add(sync(900, 2, 64, 64, 1e6, 0, 70, 0.2, 800_000));
    tl.add({ t: 1000, kind: "status", status: "failed", reason: "did not converge" });
    tl.add({ t: 1000, kind: "end", counters: counters(900_000) });
    tl.add({ t: 10, kind: "probe-gap", end: 20, lost: 10 });
    const r = buildResult(tl, { ramBytes: 1 << 20, pageSize: 4096, probeIntervalMs: 1, params: qemuDefaults });
    expect(r.status).toBe("failed");
    expect(r["error-desc"]).toBe("did not converge");
    expect(r["total-time"]).toBe(1000); // no resume: until the end
    expect(r.ram.remaining).toBe(64 * 4096);
    expect(r.ram.mbps).toBe(7.236); // 0.9e6 B x 8 / 995 ms / 1000
    expect(r.downtime).toBeUndefined();
    expect(r["downtime-breakdown"]).toBeUndefined();
    expect(r["service-downtime"]).toBeUndefined();
    expect(r.network).toBeUndefined();
    expect(r.warnings).toEqual([]);
    expect(r["stale-page-list"]).toBeUndefined();
  });

  it("a migration blocked before it began: no setup-done, nothing sent", () => {
    const tl = new Timeline();
    tl.add({ t: 0, kind: "status", status: "setup" });
    tl.add({ t: 0, kind: "status", status: "failed", reason: "blocked" });
    tl.add({ t: 0, kind: "end", counters: counters(0) });
    const r = buildResult(tl, { ramBytes: 1 << 20, pageSize: 4096, params: qemuDefaults });
    expect(r["setup-time"]).toBe(0);
    expect(r.ram.mbps).toBe(0);
    expect(r.ram["pages-per-second"]).toBe(0); // no time after setup: no rate, not a division by 0
    expect(r.ram["dirty-sync-count"]).toBe(0);
    expect(r["expected-downtime"]).toBe(0);
    expect(r.passes).toEqual([]);
  });

  it("an empty or cut-short timeline (a run that died before its end event): failed, zero figures, no crash", () => {
    const empty = buildResult(new Timeline(), { ramBytes: 1 << 20, pageSize: 4096, probeIntervalMs: 1, params: qemuDefaults });
    expect(empty.status).toBe("failed");
    expect(empty["error-desc"]).toBeUndefined();
    expect(empty["total-time"]).toBe(0);
    expect(empty.ram.transferred).toBe(0);
    expect(empty.ram.normal).toBe(0);
    expect(empty.timeline).toEqual([]);
    // Started, a sync, then nothing: until the last event there is, counters unknown (0).
    const tl = new Timeline();
    tl.add({ t: 50, kind: "status", status: "active" });
    tl.add(sync(80, 1, 10, 10, 0, 0, 0, 300, 0));
    const cut = buildResult(tl, { ramBytes: 1 << 20, pageSize: 4096, probeIntervalMs: 1, params: qemuDefaults });
    expect(cut.status).toBe("active");
    expect(cut["total-time"]).toBe(0); // no resume, no end: nothing to measure to
    expect(cut.ram["precopy-bytes"]).toBe(0);
    expect(cut.ram["downtime-bytes"]).toBe(0);
    expect(cut.network!["degraded-time"]).toBe(0);
  });

  it("the downtime's parts: spans over the stop or the resume count only inside them; an instant goes to the innermost span however they were recorded", () => {
    const tl = new Timeline();
    tl.add({ t: 0, kind: "status", status: "active" });
    tl.add({ t: 100, kind: "vm-stop" });
    // Recorded when they end, as the controller records them: the inner span first.
    tl.add({ t: 95, kind: "span", end: 104, name: "pinning", component: "pinning", side: "destination" });
    tl.add({ t: 102, kind: "span", end: 103, name: "log", component: "dirty-log-read", side: "source" });
    tl.add({ t: 100, kind: "span", end: 110, name: "final RAM", component: "final-ram", side: "source" });
    tl.add({ t: 110, kind: "span", end: 110, name: "nothing", component: "empty", side: "source" });
    tl.add({ t: 20, kind: "span", end: 30, name: "before", component: "before", side: "source" });
    tl.add({ t: 115, kind: "span", end: 140, name: "vq restore", component: "restore", side: "destination" });
    tl.add({ t: 120, kind: "vm-resume" });
    tl.add({ t: 120, kind: "nic-suspend", device: "vf" });
    tl.add({ t: 150, kind: "status", status: "completed" });
    tl.add({ t: 150, kind: "end", counters: counters(0) });
    const r = buildResult(tl, { ramBytes: 1 << 20, pageSize: 4096, params: qemuDefaults });
    expect(r.downtime).toBe(20);
    // 100-102 pinning (inside final RAM, shorter), 102-103 log, 103-104 pinning, 104-110
    // final RAM, 110-115 no span, 115-120 restore (cut at the resume).
    expect(r["downtime-breakdown"]).toEqual({ pinning: 3, "dirty-log-read": 1, "final-ram": 6, other: 5, restore: 5 });
    // A suspend without a ready: no guest-visible downtime.
    expect(r["guest-visible-downtime"]).toBeUndefined();
  });

  it("the dirty rate is the last non-zero one, the first sync's too; no stale list or warning when verify found none; no end on events that have none", () => {
    const tl = new Timeline();
    tl.add({ t: 0, kind: "status", status: "setup" });
    tl.add(sync(0, 1, 100, 100, 0, 0, 42, 300, 0));
    tl.add(sync(10, 2, 100, 100, 0, 0, 0, 300, 0));
    tl.add({ t: 20, kind: "verify", stalePages: 0, pages: [] });
    tl.add({ t: 20, kind: "status", status: "completed" });
    tl.add({ t: 20, kind: "end", counters: counters(0) });
    const r = buildResult(tl, { ramBytes: 1 << 20, pageSize: 4096, params: qemuDefaults });
    expect(r.ram["dirty-pages-rate"]).toBe(42);
    expect(r["stale-pages"]).toBe(0);
    expect(r["stale-page-list"]).toBeUndefined();
    expect(r.warnings).toEqual([]);
    for (const e of r.timeline) expect("end" in e).toBe(e.kind === "span" || e.kind === "probe-gap");
  });

  it("VFIO state on the stream: the sum of every device-data event, pre-copy and stop-copy; no field when none was sent", () => {
    const tl = new Timeline();
    tl.add({ t: 0, kind: "status", status: "active" });
    tl.add({ t: 10, kind: "device-data", device: "vf0", phase: "pre-copy", bytes: 1000 });
    tl.add({ t: 20, kind: "device-data", device: "vf1", phase: "pre-copy", bytes: 30 });
    tl.add({ t: 30, kind: "device-data", device: "vf0", phase: "stop-copy", bytes: 204 });
    tl.add({ t: 40, kind: "status", status: "completed" });
    tl.add({ t: 40, kind: "end", counters: counters(0) });
    expect(buildResult(tl, { ramBytes: 1 << 20, pageSize: 4096, params: qemuDefaults }).vfio).toEqual({ transferred: 1234 });
    expect(buildResult(completed(), { ramBytes: 1 << 20, pageSize: 4096, params: qemuDefaults }).vfio).toBeUndefined();
  });

  it("degraded time: from the first degraded event to the next other state, repeated degraded events counted once", () => {
    const tl = new Timeline();
    tl.add({ t: 0, kind: "status", status: "active" });
    tl.add({ t: 5, kind: "net", state: "up", reason: "start" });
    tl.add({ t: 10, kind: "net", state: "degraded", reason: "standby" });
    tl.add({ t: 25, kind: "net", state: "degraded", reason: "relay" });
    tl.add({ t: 30, kind: "net", state: "up", reason: "back" });
    tl.add({ t: 40, kind: "net", state: "down", reason: "blip" });
    tl.add({ t: 50, kind: "net", state: "up", reason: "back" });
    tl.add({ t: 60, kind: "status", status: "completed" });
    tl.add({ t: 60, kind: "end", counters: counters(0) });
    const r = buildResult(tl, { ramBytes: 1 << 20, pageSize: 4096, probeIntervalMs: 1, params: qemuDefaults });
    expect(r.network!["degraded-time"]).toBe(20);
  });
});

describe("a downtime far above the downtime-limit", () => {
  const result = (downtime: number | undefined, breakdown?: Record<string, number>, limit: number | null = 300) => {
    const r = buildResult(new Timeline(), { ramBytes: 4096, pageSize: 4096, params: qemuDefaults });
    return { ...r, downtime, "downtime-breakdown": breakdown, parameters: limit === null ? undefined : { ...r.parameters!, "downtime-limit": limit } };
  };
  // In no particular order, as a strategy's spans give them.
  const breakdown = { "cvq-restore": 50, "final-ram": 120, "vring-enable": 30, announce: 0, "device-state": 300, pinning: 3000, "vq-create": 1200 };

  it("is more than twice the limit; the limit governs the final RAM, the rest is device work, largest first", () => {
    expect(downtimeOverLimit(result(4700, breakdown))).toEqual({
      limit: 300,
      downtime: 4700,
      governed: 120,
      ungoverned: [["pinning", 3000], ["vq-create", 1200], ["device-state", 300], ["cvq-restore", 50], ["vring-enable", 30]],
    });
    expect(downtimeOverLimit(result(600, breakdown))).toBeUndefined(); // twice: not far above
    expect(downtimeOverLimit(result(601, breakdown))!.downtime).toBe(601);
    expect(downtimeOverLimit(result(undefined, breakdown))).toBeUndefined(); // failed: no downtime
    expect(downtimeOverLimit(result(4700, breakdown, null))).toBeUndefined(); // a measured reply: no limit known
    expect(downtimeOverLimit(result(4700, undefined))).toEqual({ limit: 300, downtime: 4700, governed: 0, ungoverned: [] });
  });

  it("shows in tables as the downtime and its multiple of the limit, and as a warning naming the four largest parts", () => {
    expect(formatDowntime(result(4700, breakdown))).toBe("4.70 s (16x limit)"); // 15.67 rounded
    expect(formatDowntime(result(600, breakdown))).toBe("600.0 ms");
    expect(overLimitWarning(downtimeOverLimit(result(4700, breakdown))!)).toBe(
      "downtime 4.70 s is 15.7x the downtime-limit of 300.0 ms: the limit governs only the RAM sent after stop (120.0 ms); " +
        "4.58 s is device work after stop that it does not govern (pinning 3.00 s, vq-create 1.20 s, device-state 300.0 ms, cvq-restore 50.0 ms)",
    );
    expect(overLimitWarning(downtimeOverLimit(result(4700, { "final-ram": 4700 }))!)).toBe(
      "downtime 4.70 s is 15.7x the downtime-limit of 300.0 ms: the limit governs only the RAM sent after stop (4.70 s); 0.0 ms is device work after stop that it does not govern",
    );
  });

  it("is a warning of the result built from a timeline", () => {
    const tl = new Timeline();
    tl.add({ t: 0, kind: "status", status: "active" });
    tl.add({ t: 100, kind: "vm-stop" });
    tl.add({ t: 100, kind: "span", end: 110, name: "final RAM", component: "final-ram", side: "source" });
    tl.add({ t: 110, kind: "span", end: 900, name: "pinning", component: "pinning", side: "destination" });
    tl.add({ t: 900, kind: "vm-resume" });
    tl.add({ t: 900, kind: "status", status: "completed" });
    tl.add({ t: 900, kind: "end", counters: counters(0) });
    const r = buildResult(tl, { ramBytes: 1 << 20, pageSize: 4096, params: qemuDefaults });
    expect(r.warnings).toEqual(["downtime 800.0 ms is 2.7x the downtime-limit of 300.0 ms: the limit governs only the RAM sent after stop (10.0 ms); 790.0 ms is device work after stop that it does not govern (pinning 790.0 ms)"]);
  });
});

