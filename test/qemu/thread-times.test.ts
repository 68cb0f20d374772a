import { describe, expect, it } from "vitest";
import { snapshotThreads, ThreadClock, threadTimesBetween } from "../../src/qemu/thread-times.js";

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

describe("a process's threads followed through a run", () => {
  it("keeps a thread that used CPU and ended before the last sample (QEMU's migration thread)", async () => {
    const { Worker } = await import("node:worker_threads");
    const clock = new ThreadClock("source", process.pid);
    const sampling = setInterval(() => clock.sample(), 5);
    // A thread that spins ~80 ms of CPU, then ends.
    const worker = new Worker("const t = process.cpuUsage().user; let x = 0; while (process.cpuUsage().user - t < 80000) x += Math.sqrt(x + 1);", { eval: true });
    await new Promise((resolve) => worker.once("exit", resolve));
    clearInterval(sampling);
    clock.sample();
    const now = snapshotThreads("source", process.pid);
    const { before, after } = clock.pair();
    const gone = [...after.byTid].filter(([tid]) => !now.byTid.has(tid) && !before.byTid.has(tid));
    // the worker's thread is gone now, and the clock still holds what it used
    expect(gone.some(([, t]) => t.cpuNs >= 40e6)).toBe(true);
    const total = threadTimesBetween([clock.pair()]).reduce((a, t) => a + t["cpu-ms"], 0);
    expect(total).toBeGreaterThanOrEqual(40);
  });
});
