import { describe, expect, it } from "vitest";
import { bottleneckWait, migrationThreads, snapshotThreads, ThreadClock, threadTimesBetween } from "../../src/qemu/thread-times.js";

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

describe("the run's bottleneck thread and its wait", () => {
  const thread = (role: string, name: string, cpu: number, wait: number) => ({ role, thread: name, "cpu-ms": cpu, "wait-ms": wait });
  it("is the migration thread running or runnable longer, its wait a share of the run", () => {
    // destination: 3000 + 800 = 3800 ms of 4000 (>= 90 %): the bottleneck, waited 800 / 4000
    const cold = { result: { "total-time": 4000 }, host: { threads: [thread("destination", "qemu-system-x86", 3000, 800), thread("source", "mig/src/main", 2000, 500), thread("source", "CPU 0/TCG", 3900, 0)] } };
    expect(bottleneckWait(cold)).toBeCloseTo(0.2, 12);
    // QEMU 7.2's migration thread: 1700 + 200 of 2000 ms
    const warm72 = { result: { "total-time": 2000 }, host: { threads: [thread("source", "live_migration", 1700, 200), thread("destination", "qemu-system-x86", 300, 10)] } };
    expect(bottleneckWait(warm72)).toBeCloseTo(0.1, 12);
  });

  it("is none where no thread ran or waited for 90 % of the run (a cap's sleeps), or nothing was recorded", () => {
    const capped = { result: { "total-time": 10_000 }, host: { threads: [thread("source", "mig/src/main", 1000, 200), thread("destination", "qemu-system-x86", 300, 100)] } };
    expect(bottleneckWait(capped)).toBeUndefined();
    expect(bottleneckWait({ result: { "total-time": 10_000 } })).toBeUndefined();
    // the vCPU and the source's main thread are not migration threads
    expect(migrationThreads({ role: "source", thread: "qemu-system-x86" })).toBe(false);
    expect(migrationThreads({ role: "source", thread: "CPU 0/TCG" })).toBe(false);
    expect(migrationThreads({ role: "destination", thread: "qemu-system-x86" })).toBe(true);
  });
});
