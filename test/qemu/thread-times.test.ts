import { describe, expect, it } from "vitest";
import { snapshotThreads, threadTimesBetween } from "../../src/qemu/thread-times.js";

describe("a process's thread times (schedstat)", () => {
  it("charges the CPU a thread used between two snapshots to it, by role and name", () => {
    const before = snapshotThreads("source", process.pid);
    expect(before.byTid.size).toBeGreaterThan(0);
    let x = 0;
    const until = process.cpuUsage().user + 50_000; // 50 ms of this thread's CPU
    while (process.cpuUsage().user < until) x += Math.sqrt(x + 1);
    const after = snapshotThreads("source", process.pid);
    const times = threadTimesBetween([{ before, after }]);
    // the busiest thread is the one that ran the loop (whichever thread runs this test)
    const busiest = times[0];
    expect(times.every((t) => t.role === "source")).toBe(true);
    // schedstat counts in ns what getrusage counts in us: most of the 50 ms, in one thread
    expect(busiest["cpu-ms"]).toBeGreaterThanOrEqual(25);
    expect(times.every((t) => t["wait-ms"] >= 0)).toBe(true);
    expect(x).toBeGreaterThan(0);
  });

  it("counts a thread born after the first snapshot whole, and gives nothing for a missing process", () => {
    const after = snapshotThreads("destination", process.pid);
    const times = threadTimesBetween([{ before: snapshotThreads("destination", undefined), after }]);
    const total = [...after.byTid.values()].reduce((a, t) => a + t.cpuNs, 0) / 1e6;
    expect(Math.abs(times.reduce((a, t) => a + t["cpu-ms"], 0) - total)).toBeLessThanOrEqual(times.length);
    expect(snapshotThreads("source", 2 ** 22 + 7).byTid.size).toBe(0);
  });
});
