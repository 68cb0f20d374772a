// Where a live run's CPU goes, thread by thread (issue 13: does early pinning overlapping the
// precopy slow both because the threads outnumber the cores?). Runs `livemig run FILE --json`
// with bench/thread-names.cjs preloaded into every thread of the source and its destination,
// reads each thread's schedstat (time run on a CPU, time waited runnable for one) every
// `intervalMs`, and prints per thread, for each phase of each run's timeline, the CPU ms it ran
// and the ms it waited for a core.
//
//   node dist/bench/thread-cpu.js FILE [--runs N] [--out samples.json]
//   node dist/bench/thread-cpu.js --from samples.json
//
// Under flock /tmp/livemig-measure.lock when its figures are reported (it is a measurement).

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TimelineEvent } from "../src/core/timeline.js";
import { snapshotThreads } from "../src/qemu/thread-times.js";

const intervalMs = 25;
const preload = fileURLToPath(new URL("../../bench/thread-names.cjs", import.meta.url));
const mainJs = fileURLToPath(new URL("../cli/main.js", import.meta.url));

interface Sample {
  t: number;
  /** Per "pid/tid": [ran ns, waited ns]. */
  threads: Record<string, [number, number]>;
  /** The whole machine (/proc/stat, all CPUs): [busy ns, of which niced processes' ns]. */
  machine: [number, number];
}

/** /proc/stat's first line: every CPU's busy and niced time, ns. */
function machineTimes(): [number, number] {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  const tick = 1e9 / 100; // USER_HZ
  return [(user + nice + system + irq + softirq + steal) * tick, nice * tick];
}

/** Thread names from the preload's log: "pid/tid" -> name; unnamed threads (V8, libuv) by process. */
function threadNames(log: string): { names: Map<string, string>; pids: Set<string> } {
  const tidOf = new Map<string, string>(); // "pid threadId" -> tid
  const nameOf = new Map<string, string>(); // "pid threadId" -> name
  const pids = new Set<string>();
  let text = "";
  try {
    text = readFileSync(log, "utf8");
  } catch {
    // not written yet
  }
  for (const l of text.split("\n")) {
    const f = l.split(" ");
    if (f.length < 3) continue;
    pids.add(f[0]);
    if (f[1] === "tid") tidOf.set(`${f[0]} ${f[2]}`, f[3]);
    else nameOf.set(`${f[0]} ${f[1]}`, f[2]);
  }
  const names = new Map<string, string>();
  for (const [k, tid] of tidOf) names.set(`${k.split(" ")[0]}/${tid}`, nameOf.get(k) ?? "thread");
  return { names, pids };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const file = args[0];
  if (args.includes("--from")) {
    // Report again from a file --out wrote.
    const saved = JSON.parse(readFileSync(args[args.indexOf("--from") + 1], "utf8")) as { names: [string, string][]; samples: Sample[]; runs: { variant: string; timeline: TimelineEvent[] }[] };
    for (const run of saved.runs) report(run.variant, run.timeline, saved.samples, new Map(saved.names));
    return;
  }
  if (!file) {
    console.error("livemig: thread-cpu: usage: node dist/bench/thread-cpu.js FILE [--runs N] [--out samples.json]");
    process.exit(2);
  }
  const runs = args.includes("--runs") ? args[args.indexOf("--runs") + 1] : "1";
  const out = args.includes("--out") ? args[args.indexOf("--out") + 1] : undefined;
  const log = join(mkdtempSync(join(tmpdir(), "livemig-threads-")), "threads.log");
  const load0 = loadavg()[0];
  const child = spawn(process.execPath, [mainJs, "run", file, "--json", "--runs", runs], {
    env: { ...process.env, LIVEMIG_THREAD_LOG: log, NODE_OPTIONS: `--require ${preload}` },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  child.stdout.on("data", (d) => (stdout += d));
  const samples: Sample[] = [];
  const timer = setInterval(() => {
    const { pids } = threadNames(log);
    const threads: Sample["threads"] = {};
    for (const pid of pids) for (const [tid, t] of snapshotThreads("", Number(pid)).byTid) threads[`${pid}/${tid}`] = [t.cpuNs, t.waitNs];
    samples.push({ t: Date.now(), threads, machine: machineTimes() });
  }, intervalMs);
  await new Promise<void>((resolve) => child.once("exit", () => resolve()));
  clearInterval(timer);
  const load1 = loadavg()[0];
  const { names } = threadNames(log);
  const parsed = JSON.parse(stdout) as { runs: { variant: string; result: LiveResult; results?: LiveResult[] }[] };
  const runList = parsed.runs.flatMap((v) => (v.results ?? [v.result]).map((r) => ({ variant: v.variant, timeline: onWallClock(r) })));
  console.log(`load average ${load0.toFixed(2)} -> ${load1.toFixed(2)}; ${samples.length} samples every ${intervalMs} ms`);
  for (const run of runList) report(run.variant, run.timeline, samples, names);
  if (out) writeFileSync(`${out}.run.json`, stdout); // the run's own --json output
  if (out) writeFileSync(out, JSON.stringify({ names: [...names], samples, runs: runList.map((r) => ({ variant: r.variant, timeline: r.timeline })) }));
}

type LiveResult = { timeline: TimelineEvent[]; "started-at": number };

/** The result's timeline (from 0 at the migration's start) on the wall clock the samples are on. */
function onWallClock(r: LiveResult): TimelineEvent[] {
  const t0 = r["started-at"];
  return r.timeline.map((e) => (e.kind === "span" ? { ...e, t: e.t + t0, end: e.end + t0 } : { ...e, t: e.t + t0 }));
}

/** A thread's [ran, waited] ns at time t ("machine": the whole machine's busy, niced): the last sample at or before t. */
function at(samples: Sample[], t: number, key: string): [number, number] | undefined {
  let best: [number, number] | undefined;
  for (const s of samples) {
    if (s.t > t) break;
    best = (key === "machine" ? s.machine : s.threads[key]) ?? best;
  }
  return best;
}

function report(variant: string, timeline: TimelineEvent[], samples: Sample[], names: Map<string, string>): void {
  const start = timeline[0].t;
  const find = (pred: (e: TimelineEvent) => boolean) => timeline.find(pred);
  const pin = find((e) => e.kind === "span" && e.component === "pinning");
  const stop = find((e) => e.kind === "vm-stop")?.t;
  const resume = find((e) => e.kind === "vm-resume")?.t;
  const end = find((e) => e.kind === "end")?.t ?? Math.max(...timeline.map((e) => e.t));
  const marks: [string, number][] = [["start", start]];
  if (pin && pin.kind === "span") marks.push(["pin start", pin.t], ["pin end", pin.end]);
  if (stop !== undefined) marks.push(["vm-stop", stop]);
  if (resume !== undefined) marks.push(["vm-resume", resume]);
  marks.push(["end", end]);
  marks.sort((a, b) => a[1] - b[1]);
  console.log(`\n${variant}: ${marks.map(([n, t]) => `${n} +${(t - start).toFixed(0)}`).join(", ")} ms`);
  const keys = new Set<string>();
  for (const s of samples) if (s.t >= start && s.t <= end) for (const k of Object.keys(s.threads)) keys.add(k);
  const rows: string[][] = [];
  for (const k of keys) {
    const cells: string[] = [];
    let total = 0;
    for (let i = 0; i + 1 < marks.length; i++) {
      const a = at(samples, marks[i][1], k) ?? [0, 0];
      const b = at(samples, marks[i + 1][1], k) ?? a;
      const ran = (b[0] - a[0]) / 1e6;
      const waited = (b[1] - a[1]) / 1e6;
      total += ran;
      cells.push(`${ran.toFixed(0)}/${waited.toFixed(0)}`);
    }
    if (total < 5) continue; // threads that did nearly nothing
    rows.push([`${names.get(k) ?? "unnamed"} ${k}`, ...cells]);
  }
  const header = ["thread (pid/tid)", ...marks.slice(0, -1).map(([n], i) => `${n} -> ${marks[i + 1][0]} (${(marks[i + 1][1] - marks[i][1]).toFixed(0)} ms)`)];
  console.log(header.join(" | "));
  for (const r of rows.sort()) console.log(r.join(" | "));
  // The run's own threads against all the machine ran: the rest is other processes (niced or not).
  const ours: string[] = ["all threads above"];
  const machine: string[] = ["machine busy (niced)"];
  for (let i = 0; i + 1 < marks.length; i++) {
    let sum = 0;
    for (const k of keys) {
      const a = at(samples, marks[i][1], k) ?? [0, 0];
      sum += ((at(samples, marks[i + 1][1], k) ?? a)[0] - a[0]) / 1e6;
    }
    const a = at(samples, marks[i][1], "machine") ?? [0, 0];
    const b = at(samples, marks[i + 1][1], "machine") ?? a;
    ours.push(sum.toFixed(0));
    machine.push(`${((b[0] - a[0]) / 1e6).toFixed(0)} (${((b[1] - a[1]) / 1e6).toFixed(0)})`);
  }
  console.log(ours.join(" | "));
  console.log(machine.join(" | "));
  console.log("(thread cells: CPU ms ran / ms waited runnable for a core; the machine has 2 CPU ms per ms of a phase)");
}

void main();
