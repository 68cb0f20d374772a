// What each QEMU thread did while a migration ran: CPU time, and time it was runnable but
// waited for a CPU (the kernel's schedstat run-queue wait). On a shared machine this is the
// load a run saw, measured where it acts: a migration whose threads waited for a CPU for a
// tenth of the run went slower than the per-page costs say, whatever caused the wait.

import { readdirSync, readFileSync } from "node:fs";

export interface ThreadTime {
  /** "source" or "destination". */
  role: string;
  /** The thread's name (QEMU names the migration thread `mig/src/main`, vCPUs `CPU n/TCG`). */
  thread: string;
  "cpu-ms": number;
  "wait-ms": number;
}

interface Snapshot {
  role: string;
  byTid: Map<string, { thread: string; cpuNs: number; waitNs: number }>;
}

/** Every thread of a process now; empty where /proc or schedstat is not there. */
export function snapshotThreads(role: string, pid: number | undefined): Snapshot {
  const byTid = new Map<string, { thread: string; cpuNs: number; waitNs: number }>();
  if (pid === undefined) return { role, byTid };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { role, byTid };
  }
  for (const tid of tids) {
    try {
      const [cpuNs, waitNs] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").trim().split(/\s+/).map(Number);
      const thread = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      if (Number.isFinite(cpuNs) && Number.isFinite(waitNs)) byTid.set(tid, { thread, cpuNs, waitNs });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return { role, byTid };
}

/**
 * A process's threads followed through a migration: sampled while it runs, since QEMU's
 * migration thread ends with the migration (and a destination that gave up exits), so a
 * snapshot taken afterwards would miss them. Each thread keeps its last sampled figures.
 */
export class ThreadClock {
  private readonly first: Snapshot;
  private readonly last: Snapshot;

  constructor(role: string, private readonly pid: number | undefined) {
    this.first = snapshotThreads(role, pid);
    this.last = { role, byTid: new Map(this.first.byTid) };
  }

  sample(): void {
    for (const [tid, t] of snapshotThreads(this.last.role, this.pid).byTid) this.last.byTid.set(tid, t);
  }

  pair(): { before: Snapshot; after: Snapshot } {
    return { before: this.first, after: this.last };
  }
}

/** Per thread name and role, what was used between two snapshots (threads born since count whole). */
export function threadTimesBetween(pairs: { before: Snapshot; after: Snapshot }[]): ThreadTime[] {
  const sums = new Map<string, ThreadTime>();
  for (const { before, after } of pairs) {
    for (const [tid, now] of after.byTid) {
      const then = before.byTid.get(tid);
      const key = `${after.role}\0${now.thread}`;
      const t = sums.get(key) ?? { role: after.role, thread: now.thread, "cpu-ms": 0, "wait-ms": 0 };
      t["cpu-ms"] += (now.cpuNs - (then?.cpuNs ?? 0)) / 1e6;
      t["wait-ms"] += (now.waitNs - (then?.waitNs ?? 0)) / 1e6;
      sums.set(key, t);
    }
  }
  return [...sums.values()]
    .map((t) => ({ ...t, "cpu-ms": Math.round(t["cpu-ms"]), "wait-ms": Math.round(t["wait-ms"]) }))
    .filter((t) => t["cpu-ms"] > 0 || t["wait-ms"] > 0)
    .sort((a, b) => b["cpu-ms"] - a["cpu-ms"]);
}

/** The migration's own two threads: the source's migration thread (QEMU 10 `mig/src/main`, 7.2 `live_migration`) and the destination's main thread, which loads the stream. */
export const migrationThreads = (t: { role: string; thread: string }) =>
  t.role === "source" ? /^(mig\/src\/main|live_migration)/.test(t.thread) : t.thread.startsWith("qemu-system");

/**
 * How long the run's bottleneck thread waited for a CPU, as a share of the run: of the two
 * migration threads, the one running or runnable for longer. Only a thread that was running or
 * runnable for most of the run (cpuBoundShare) set the run's pace; one that also slept (the
 * rate limiter's sleeps, a faster peer) would have turned less wait into more sleep.
 */
export function bottleneckWait(run: { result: { "total-time": number }; host?: { threads: ThreadTime[] } }): number | undefined {
  const total = run.result["total-time"];
  if (!run.host || !(total > 0)) return undefined;
  const sides = ["source", "destination"].map((role) => run.host!.threads.filter((t) => t.role === role && migrationThreads(t)));
  const [busiest] = sides
    .map((ts) => ({ busy: ts.reduce((a, t) => a + t["cpu-ms"] + t["wait-ms"], 0), wait: ts.reduce((a, t) => a + t["wait-ms"], 0) }))
    .sort((a, b) => b.busy - a.busy);
  return busiest.busy >= cpuBoundShare * total ? Math.min(busiest.wait / total, 0.9) : undefined;
}

/** Running or runnable for at least this share of the run: the thread was the run's bottleneck. */
export const cpuBoundShare = 0.9;

