// A drain's figures from its VMs' results, worked out by hand: the drain ends with the last VM
// (resume or failure); percentiles are over the VMs that did not fail, by linear interpolation
// between order statistics (p at (n - 1) x q); bytes count every VM, the failed included.

import { describe, expect, it } from "vitest";
import type { MigrationResult } from "../src/core/result.js";
import type { FleetRun, VmRun } from "../src/sim/fleet.js";
import { summarize } from "../src/sim/fleet-summary.js";

const vm = (name: string, end: number, result: Partial<MigrationResult> & { transferred: number }): VmRun => ({
  vm: name,
  from: "a",
  to: "b",
  start: 0,
  end,
  actions: [],
  result: { status: "completed", ...result, ram: { transferred: result.transferred } } as unknown as MigrationResult,
});

describe("fleet summary", () => {
  it("drain time, counts, p50/p95/max over the completed VMs, bytes over all", () => {
    const run: FleetRun = {
      links: [],
      vms: [
        vm("a", 5000, { transferred: 1000, downtime: 100, "guest-visible-downtime": 150, "service-downtime": 120 }),
        // Ends last, and its downtime is the largest: 300.0004 shows as 300 (ms to 3 decimals).
        vm("b", 7000.5004, { transferred: 2000, downtime: 300.0004 }),
        // Failed: out of every spread, in the counts and the bytes; ends before b.
        vm("c", 6000, { status: "failed", transferred: 500, downtime: 999, "guest-visible-downtime": 999 }),
      ],
    };
    const s = summarize(run);
    // downtime over {100, 300.0004}: p50 at 0.5 -> 200.0002; p95 at 0.95 -> 100 + 0.95 x 200.0004.
    expect(s).toEqual({
      "drain-time": 7000.5,
      completed: 2,
      failed: 1,
      downtime: { p50: 200, p95: 290, max: 300 },
      "guest-visible-downtime": { p50: 150, p95: 150, max: 150 },
      "service-downtime": { p50: 120, p95: 120, max: 120 },
      bytes: 3500,
    });
    expect(Object.keys(s)).toEqual(["drain-time", "completed", "failed", "downtime", "guest-visible-downtime", "service-downtime", "bytes"]);
  });

  it("five VMs: p95 between the two largest; a figure no VM has is left out; an empty drain is 0", () => {
    const downtimes = [40, 10, 50, 20, 30];
    const run: FleetRun = { links: [], vms: downtimes.map((d, i) => vm(`v${i}`, 100 * (i + 1), { transferred: 1, downtime: d })) };
    const s = summarize(run);
    // Sorted 10..50: p50 the third (30); p95 at 4 x 0.95 = 3.8: 40 + 0.8 x 10 = 48.
    expect(s.downtime).toEqual({ p50: 30, p95: 48, max: 50 });
    expect(s["drain-time"]).toBe(500);
    expect(s).not.toHaveProperty("guest-visible-downtime");
    expect(s).not.toHaveProperty("service-downtime");
    expect(summarize({ links: [], vms: [] })).toEqual({ "drain-time": 0, completed: 0, failed: 0, bytes: 0 });
  });
});
