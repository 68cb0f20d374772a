// Fits a machine profile from measured idle runs. An idle guest's migration is all machine:
// its precopy time is a cost per zero page (read 4 KiB and find it zero, send a 9-byte
// header), a cost per normal page (read it and push 4 KiB through the stream), and, where the
// destination did not preallocate its RAM, a cost per page on its first arrival there (the
// destination faults in and zeroes fresh memory). The rest is fixed setup and switch-over
// work. Busy runs are what the profile must then predict, so they are never used here.
//
// The per-page costs come from the query-migrate polls (every ~50 ms). A set max-bandwidth
// is not a binding one: each poll interval is judged on its own, and only intervals where the
// rate limiter cannot have slept give page costs (see capMayHaveBound). An idle guest's first
// pass has long stretches of either kind (kernel pages, then hundreds of MiB of zero pages),
// so the intervals separate the costs where the run totals cannot (every run has about the
// same mix). Cumulative points rather than per-interval differences: the destination works
// through a run of zero pages after the source has sent them (9 bytes each, a few MiB of
// socket buffer hold ~100k), so the cost of a zero run lands in the next interval's normal
// pages; summing the kept intervals carries that lag as a bounded error instead. Least
// absolute deviations, since the two cores are shared and a run slowed by another process
// is an outlier. When the runs cannot determine a figure, calibration says which and stops.

import type { MigrationResult } from "../core/result.js";
import type { Scenario } from "../scenario/schema.js";
import { median, quantile } from "../measure/stats.js";
import { coreMemoryBytesPerSecond, type MachineProfile } from "../sim/simulate.js";
import { normalPageBytes, zeroPageBytes } from "../core/wire.js";
import type { Sample } from "./migration.js";
import { measurementOf } from "./runs-file.js";
import { bottleneckWait, type ThreadTime } from "./thread-times.js";

/** What calibration reads of one measured run. */
export interface IdleRun {
  label: string;
  scenario: Scenario;
  result: MigrationResult;
  /** The run's query-migrate polls; without them the whole precopy is one interval. */
  samples?: Sample[];
  /** Whether the destination's RAM was preallocated (no first-touch cost); absent: it was not. */
  destinationPrealloc?: boolean;
  /** The QEMU that ran it, its --version line (absent in files from before it was kept). */
  qemu?: string;
  /** The QEMU threads' CPU and run-queue wait while it ran (absent in files from before they were kept). */
  host?: { threads: ThreadTime[] };
}

/** One fitted figure and what supports it. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** How many poll intervals (or runs, for the fixed costs) it was fitted from. */
  support: number;
  supportUnit: "intervals" | "runs";
}

export interface Fit {
  profile: MachineProfile;
  figures: Figure[];
  /** Per run: the precopy time measured and as the fitted costs (and the run's cap) give it. */
  residuals: { label: string; measuredMs: number; fittedMs: number }[];
  /** Per-page costs, microseconds, and how many poll intervals (where the cap did not bind) gave them. */
  perPage: { zeroUs: number; normalUs: number; firstTouchUs?: number; destinationFirstReadUs?: number; points: number };
  /** Poll intervals left out because the rate limiter may have slept in them. */
  capBoundIntervals: number;
  /**
   * How much slower or faster than the fit the training runs went (measured / fitted precopy,
   * 90th and 10th percentile): the shared machine's pace varies with its load, and a
   * prediction at these paces (atPace) brackets what the fit alone cannot promise.
   */
  paceSpread: { slow: number; fast: number };
  /** Each training run's pace (measured / fitted precopy), in ascending order. */
  paces: number[];
  notes: string[];
}

/** The runs cannot give a profile (bad or too little input): the user's to fix, exit 2. */
export class CalibrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CalibrationError";
  }
}

/**
 * Whether a guest writes nothing while it migrates: an idle guest, or one whose working set
 * was filled before the migration and is not rewritten (`uniform` at rate 0). The filled ones
 * give the normal-page cost that an idle guest's few kernel pages cannot pin down.
 */
export function isIdle(scenario: Scenario): boolean {
  const w = scenario.vm.workload;
  return w.kind === "idle" || w.rate === 0;
}

/** Whether a run may calibrate: an idle guest whose migration completed. */
export function idleProblem(run: IdleRun): string | undefined {
  if (!isIdle(run.scenario)) return `workload "${run.scenario.vm.workload.kind}" writes during the migration (busy runs are what a profile must predict)`;
  const m = run.scenario.migration;
  const modes = [m.multifd && "multifd", m.xbzrle && "xbzrle", m.postcopy && "postcopy"].filter(Boolean);
  if (modes.length) return `migration.${modes.join(", ")}: the profile is of plain precopy (the modes are what it must predict)`;
  if (run.result.status !== "completed") return `status ${run.result.status}`;
  if (run.result.downtime === undefined) return "no downtime reported";
  return undefined;
}

/** QEMU's BUFFER_DELAY: the rate limiter's budget is max-bandwidth / 10 per 100 ms window. */
export const rateLimitWindowMs = 100;

/** Where a run stood at one poll: precopy time so far, the pages and bytes it had sent, its pass. */
export interface Point {
  ms: number;
  zero: number;
  normal: number;
  bytes: number;
  sync: number;
}

/** A run's polls as points from the end of setup, and its end of precopy (before the downtime). */
export function pointsOf(result: MigrationResult, samples: Sample[]): Point[] {
  const setup = result["setup-time"];
  const out: Point[] = [{ ms: 0, zero: 0, normal: 0, bytes: 0, sync: 1 }];
  for (const s of samples) if (s.t > setup) out.push({ ms: s.t - setup, zero: s.duplicate, normal: s.normal, bytes: s.transferred, sync: s.sync });
  if (result.downtime !== undefined) {
    // The run's counters include the final pass; its pages are nearly all normal ones.
    const finalBytes = result.ram["downtime-bytes"] ?? 0;
    const last = out[out.length - 1];
    out.push({
      // total-time is on QEMU's clock, so its own downtime marks where precopy ended.
      ms: Math.max(last.ms, result["total-time"] - setup - (result["qemu-downtime"] ?? result.downtime)),
      zero: Math.max(last.zero, result.ram.duplicate),
      normal: Math.max(last.normal, result.ram.normal - Math.floor(finalBytes / normalPageBytes(4096))),
      bytes: Math.max(last.bytes, result.ram.transferred - finalBytes),
      sync: last.sync,
    });
  }
  return out;
}

/** One poll interval: its duration, what it sent, and whether the rate limiter may have slept in it. */
interface Interval {
  ms: number;
  zero: number;
  /** Normal pages the destination already held memory for (preallocated, or a re-send). */
  warm: number;
  /** Normal pages arriving for the first time at a destination that did not preallocate. */
  cold: number;
  /** Zero pages arriving for the first time there: the zero check reads fresh memory. */
  coldZero: number;
  bytes: number;
  capBound: boolean;
}

/**
 * Whether QEMU's rate limiter may have slept during [start, end] of a run capped at `cap`
 * bytes/s. It sleeps only once a 100 ms window has carried its budget (cap / 10), and then
 * until that window ends; so a sleep inside the interval needs a budget's worth of bytes
 * sent between 100 ms before the interval and its end. Where that is not so, the interval's
 * time is all page cost, whatever the cap is set to.
 */
function capMayHaveBound(points: Point[], i: number, capBytesPerSecond: number): boolean {
  if (capBytesPerSecond <= 0) return false;
  const budget = (capBytesPerSecond * rateLimitWindowMs) / 1000;
  const from = points[i - 1].ms - rateLimitWindowMs;
  let j = i - 1;
  while (j > 0 && points[j].ms > from) j--; // the interval ending at points[j + 1] overlaps the span
  return points[i].bytes - points[j].bytes >= budget;
}

function intervalsOf(points: Point[], capBytesPerSecond: number, coldDestination: boolean): Interval[] {
  const out: Interval[] = [];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    const normal = b.normal - a.normal;
    const zero = b.zero - a.zero;
    // Pass 1 (sync count 1) sends each page for the first time; later passes re-send.
    const first = coldDestination && a.sync <= 1;
    out.push({
      ms: b.ms - a.ms,
      zero: first ? 0 : zero,
      coldZero: first ? zero : 0,
      warm: first ? 0 : normal,
      cold: first ? normal : 0,
      bytes: b.bytes - a.bytes,
      capBound: capMayHaveBound(points, i, capBytesPerSecond),
    });
  }
  return out;
}

interface RunIntervals {
  label: string;
  cap: number;
  prealloc: boolean;
  measuredMs: number;
  intervals: Interval[];
}

export function fitProfile(runs: IdleRun[]): Fit {
  if (runs.length === 0) throw new CalibrationError("no idle, completed run to calibrate from");
  const notes: string[] = [];
  const pageSize = 4096;
  const setupMs = median(runs.map((r) => r.result["setup-time"]));

  // Each run's poll intervals at the training runs' typical CPU wait: a run whose bottleneck
  // thread waited for a CPU longer than the median (another job on the cores) took longer for
  // the same pages, and without this its intervals would count as dearer pages.
  const waits = runs.map((r) => bottleneckWait(r));
  const recorded = waits.filter((w): w is number => w !== undefined);
  // A run that did not record its threads ran at an unknown wait: its costs cannot be brought
  // to the others', so with any such run none is, and the profile names no wait.
  const unrecorded = runs.filter((r) => !r.host).length;
  const typicalWait = recorded.length && !unrecorded ? median(recorded) : undefined;
  if (recorded.length && unrecorded) notes.push(`${unrecorded} of ${runs.length} runs did not record their threads' CPU wait: no run's intervals were brought to a common wait, and the profile names none (cpuWaitShare)`);
  const atTypicalWait = (i: number) => (typicalWait === undefined || waits[i] === undefined ? 1 : (1 - waits[i]!) / (1 - typicalWait));
  const perRun: RunIntervals[] = runs.map((r, n) => {
    const extra = measurementOf(r.result);
    // Without polls the whole precopy is one interval.
    const samples = r.samples ?? extra.samples ?? [];
    const prealloc = r.destinationPrealloc ?? extra.destinationPrealloc ?? r.scenario.migration.destinationPrealloc ?? false;
    const points = pointsOf(r.result, samples);
    const scale = atTypicalWait(n);
    return {
      label: r.label,
      cap: r.scenario.migration.maxBandwidth,
      prealloc,
      measuredMs: points[points.length - 1].ms * scale,
      intervals: intervalsOf(points, r.scenario.migration.maxBandwidth, !prealloc).map((i) => ({ ...i, ms: i.ms * scale })),
    };
  });
  if (typicalWait !== undefined)
    notes.push(`each run's intervals at the training runs' median CPU wait (${(typicalWait * 100).toFixed(1)} % of a run, the bottleneck thread's run-queue wait; ${recorded.length} of ${runs.length} runs CPU-bound with waits recorded)`);
  const countSupport = () => {
    const kept = perRun.flatMap((r) => r.intervals.filter((i) => !i.capBound));
    return Object.fromEntries(allKinds.map((kind) => [kind, kept.filter((i) => i[kind] > 0).length])) as Record<PageKind, number>;
  };
  let support = countSupport();
  const warmZero = perRun.some((r) => r.prealloc && r.intervals.some((i) => !i.capBound && i.zero > 0));
  if (support.coldZero > 0 && !warmZero) {
    // Only destinations without preallocation took zero pages (the few a later pass re-sends
    // aside): what the zero check there adds cannot be told from the source's cost, and is
    // priced with it.
    for (const r of perRun) for (const i of r.intervals) [i.zero, i.coldZero] = [i.zero + i.coldZero, 0];
    support = countSupport();
    notes.push("no preallocated destination took zero pages: the destination's first read is priced inside the zero-page cost (add idle runs with migration.destinationPrealloc: true to tell them apart)");
  }
  const capBoundIntervals = perRun.reduce((s, r) => s + r.intervals.filter((i) => i.capBound).length, 0);
  const fullyBound = perRun.filter((r) => r.intervals.length > 0 && r.intervals.every((i) => i.capBound)).map((r) => r.label);
  if (fullyBound.length) notes.push(`the cap may have bound in every interval of ${fullyBound.join(", ")}: no page cost from ${fullyBound.length > 1 ? "them" : "it"}`);
  const missing: string[] = [];
  if (support.zero === 0) missing.push("no poll interval where the cap did not bind sent zero pages (the zero-page cost)");
  if (support.warm === 0) {
    missing.push(
      support.cold > 0
        ? "every normal page in an interval where the cap did not bind arrived for the first time at a destination without preallocation, so the normal-page cost cannot be told from the first-touch cost (add idle runs with migration.destinationPrealloc: true)"
        : "no poll interval where the cap did not bind sent normal pages (the normal-page cost; add an uncapped idle run, or one whose guest filled memory first)",
    );
  }
  if (missing.length) throw new CalibrationError(`cannot calibrate: ${missing.join("; ")}`);

  // Cumulative points per run over its kept intervals: ms = a zero + k warm + (k + f) cold
  // + (a + d) coldZero. Each run weighs the same in the fit: a run slowed by the machine's
  // other work lasts longer and so has more polls, and must not get more say for it.
  const kinds = allKinds.filter((kind) => kind === "zero" || kind === "warm" || support[kind] > 0);
  const columns = kinds.length;
  const points: { x: number[]; y: number; weight: number }[] = [];
  for (const r of perRun) {
    const kept = r.intervals.filter((i) => !i.capBound);
    let ms = 0;
    const sum = kinds.map(() => 0);
    for (const i of kept) {
      ms += i.ms;
      kinds.forEach((kind, j) => (sum[j] += i[kind]));
      points.push({ x: [...sum], y: ms, weight: 1 / kept.length });
    }
  }
  if (points.length <= columns) {
    throw new CalibrationError(`cannot calibrate: ${points.length} poll interval(s) where the cap did not bind, at least ${columns + 1} needed for ${columns} per-page costs`);
  }
  const joint = leastAbsolute(points, columns);
  if (!joint) throw new CalibrationError("cannot calibrate: in the intervals where the cap did not bind, zero and normal pages come in the same proportion, so their costs cannot be told apart (add an idle guest that filled memory first, or one of another size)");
  // Where poll intervals carried one kind of page only, they price that kind directly; the
  // joint fit splits the time between kinds that come mixed (an idle guest's kernel pages
  // among its zero pages), and here it made a normal page nearly twice what the filled guests'
  // pure intervals show, which doubled every busy final pass. A kind without such intervals is
  // fitted over all intervals with the others fixed.
  const pure = pureCosts(perRun, kinds);
  const fixed: (number | undefined)[] = kinds.map((kind) => pure[kind]?.ms);
  const c = fixed.some((f) => f !== undefined) ? fitGiven(points, fixed) ?? joint : joint;
  const costOf = (kind: PageKind) => (kinds.includes(kind) ? c[kinds.indexOf(kind)] : undefined);
  const a = costOf("zero")!;
  const k = costOf("warm")!;
  const kindName = {
    zero: "zero pages",
    warm: "normal pages",
    cold: "normal pages arriving first at a destination without preallocation",
    coldZero: "zero pages arriving first at a destination without preallocation",
  };
  const fromPure = kinds.filter((kind) => pure[kind]);
  if (fromPure.length) notes.push(`from poll intervals that carried one kind of page, after one of the same kind (each run's time per page, the median over the runs): ${fromPure.map((kind) => `${kindName[kind]} ${(pure[kind]!.ms * 1000).toFixed(2)} us (${pure[kind]!.intervals} intervals of ${pure[kind]!.runs} runs)`).join(", ")}; the joint fit over all intervals gave zero ${(joint[0] * 1000).toFixed(2)} us, normal ${(joint[1] * 1000).toFixed(2)} us`);
  // a = page/R + zeroBytes/C and k = page/R + normalBytes/C, in ms per page.
  const zeroBytes = zeroPageBytes();
  const normalBytes = normalPageBytes(pageSize);
  const documentedReadMs = (pageSize * 1000) / coreMemoryBytesPerSecond;
  let copyMsPerByte: number;
  let readMsPerPage: number;
  let sourceFirstRead: number | undefined;
  if (a > 0 && k > a) {
    copyMsPerByte = (k - a) / (normalBytes - zeroBytes);
    readMsPerPage = Math.max(a - zeroBytes * copyMsPerByte, a * 0.01);
  } else if (a > 0 && k > documentedReadMs) {
    // A zero page dearer than a read and a 4 KiB copy: the source populates the pages the guest
    // never touched as it reads them (a host without the kernel's shared zero page), so
    // a = page/R + P + zeroBytes/C. The runs cannot split the read from P (every zero page of
    // an idle guest is untouched): R is the documented per-thread rate.
    readMsPerPage = documentedReadMs;
    copyMsPerByte = (k - readMsPerPage) / normalBytes;
    sourceFirstRead = a - readMsPerPage - zeroBytes * copyMsPerByte;
    notes.push(
      `a zero page (${(a * 1000).toFixed(2)} us) costs more than a normal page (${(k * 1000).toFixed(2)} us): read as the source populating the pages the guest never touched (${(sourceFirstRead * 1000).toFixed(2)} us each, sourceFirstReadUsPerPage), with the page read at the documented ${coreMemoryBytesPerSecond / 1e9} GB/s a thread`,
    );
  } else {
    throw new CalibrationError(`cannot calibrate: the fit gives a zero page ${(a * 1000).toFixed(2)} us and a normal page ${(k * 1000).toFixed(2)} us; the runs do not determine positive per-page costs`);
  }
  // The destination's own thread copies a first arrival out of the stream and populates its
  // page, while the source reads the next (the simulator's load thread): where it is the slower
  // end, a first arrival costs that copy and the population, and the source's read is hidden.
  const destinationCopy = k - readMsPerPage;
  let firstTouch = costOf("cold") === undefined ? undefined : costOf("cold")! - destinationCopy;
  if (firstTouch !== undefined && firstTouch < 0) {
    notes.push(`the first-touch cost fitted negative (${(firstTouch * 1000).toFixed(2)} us a page): taken as 0`);
    firstTouch = 0;
  }
  // A zero page's check at a destination without preallocation reads fresh memory: on a host
  // with the kernel's shared zero page that maps it (nothing to pay); on one without, it
  // populates the page, beside the source's own work.
  let destinationFirstRead = costOf("coldZero") === undefined ? undefined : costOf("coldZero")! - a;
  if (destinationFirstRead !== undefined && destinationFirstRead < 0) {
    notes.push(`zero pages went faster into a destination without preallocation (${(destinationFirstRead * 1000).toFixed(2)} us a page): the destination's first read taken as 0`);
    destinationFirstRead = 0;
  }

  // The downtime is the guest's pause: stop, final pass, device state, the destination's load
  // and vm start (a run from before livemig timed it from traces has QEMU's source-side
  // figure, without the destination's part). Even an idle guest can
  // have tens of MiB left for the final pass (QEMU switches over once what is left fits the
  // limit at the last window's rate), so the fixed part shows only in runs whose final pass
  // carried next to nothing; without any, the final pass's pages come off at their cost.
  // A destination without preallocation may still be loading the stream's last first
  // arrivals when the guest stops (the simulator's load thread models that backlog), so where
  // preallocated runs have bare final passes, they alone give the fixed part.
  const bareAll = runs.filter((r) => (r.result.ram["downtime-bytes"] ?? Infinity) <= bareFinalPassBytes);
  const bareWarm = bareAll.filter((r) => r.destinationPrealloc ?? measurementOf(r.result).destinationPrealloc ?? r.scenario.migration.destinationPrealloc);
  const bare = bareWarm.length ? bareWarm : bareAll;
  const switchoverMs = bare.length
    ? median(bare.map((r) => r.result.downtime ?? 0))
    : median(runs.map((r) => Math.max(0, (r.result.downtime ?? 0) - k * finalPassNormalPages(r.result, normalBytes))));
  const profile: MachineProfile = { pageReadBytesPerSecond: (pageSize * 1000) / readMsPerPage, setupMs, switchoverMs };
  if (copyMsPerByte > 0) profile.copyBytesPerSecond = 1000 / copyMsPerByte;
  if (firstTouch !== undefined) profile.firstTouchUsPerPage = firstTouch * 1000;
  if (sourceFirstRead !== undefined) profile.sourceFirstReadUsPerPage = sourceFirstRead * 1000;
  if (destinationFirstRead !== undefined) profile.destinationFirstReadUsPerPage = destinationFirstRead * 1000;
  const layout = fitIdleLayout(runs);
  if (layout) profile.idleLayout = layout;
  if (typicalWait !== undefined) profile.cpuWaitShare = typicalWait;
  const qemu = qemuRelease(runs);
  if (qemu) profile.qemu = qemu;
  else notes.push("the runs do not say which QEMU ran them: the profile names none, and the simulator checks the threshold after every slice instead of QEMU's 50 ms iterations");

  const cost = (i: Interval) => a * i.zero + k * i.warm + Math.max(k, destinationCopy + (firstTouch ?? 0)) * i.cold + (a + (destinationFirstRead ?? 0)) * i.coldZero;
  // Where the limiter may have slept, the interval took at least what its bytes take at the cap.
  const fittedMs = (r: RunIntervals) => r.intervals.reduce((s, i) => s + (i.capBound ? Math.max(cost(i), (i.bytes * 1000) / r.cap) : cost(i)), 0);
  const residuals = perRun.map((r) => ({ label: r.label, measuredMs: r.measuredMs, fittedMs: fittedMs(r) }));
  const paces = residuals.filter((r) => r.fittedMs > 0 && r.measuredMs > 0).map((r) => r.measuredMs / r.fittedMs).sort((x, y) => x - y);
  const paceSpread = paces.length ? { slow: Math.max(1, quantile(paces, 0.9)), fast: Math.min(1, quantile(paces, 0.1)) } : { slow: 1, fast: 1 };
  const supportOf = (kind: PageKind) => pure[kind]?.intervals ?? support[kind];
  const figures: Figure[] = [
    { name: "zero page", value: a * 1000, unit: "us", support: supportOf("zero"), supportUnit: "intervals" },
    { name: "normal page", value: k * 1000, unit: "us", support: supportOf("warm"), supportUnit: "intervals" },
    ...(firstTouch !== undefined ? [{ name: "first touch at the destination", value: firstTouch * 1000, unit: "us a page", support: supportOf("cold"), supportUnit: "intervals" as const }] : []),
    ...(sourceFirstRead !== undefined ? [{ name: "first read of a never-touched page at the source", value: sourceFirstRead * 1000, unit: "us a page", support: supportOf("zero"), supportUnit: "intervals" as const }] : []),
    ...(destinationFirstRead !== undefined ? [{ name: "a zero page's first arrival at the destination adds", value: destinationFirstRead * 1000, unit: "us", support: supportOf("coldZero"), supportUnit: "intervals" as const }] : []),
    { name: "setup", value: setupMs, unit: "ms", support: runs.length, supportUnit: "runs" },
    { name: "switch-over", value: switchoverMs, unit: "ms", support: bare.length || runs.length, supportUnit: "runs" },
  ];
  if (!bare.length) notes.push("no run had a bare final pass: the switch-over cost is each downtime less its final pass at the normal-page cost");
  return {
    profile,
    figures,
    residuals,
    perPage: {
      zeroUs: a * 1000,
      normalUs: k * 1000,
      ...(firstTouch !== undefined ? { firstTouchUs: firstTouch * 1000 } : {}),
      ...(destinationFirstRead !== undefined ? { destinationFirstReadUs: destinationFirstRead * 1000 } : {}),
      points: points.length,
    },
    capBoundIntervals,
    paceSpread,
    paces,
    notes,
  };
}

type PageKind = "zero" | "warm" | "cold" | "coldZero";
const allKinds: readonly PageKind[] = ["zero", "warm", "cold", "coldZero"];

/** Share of an interval's pages that must be of one kind for it to price that kind alone. */
export const pureShare = 0.99;

/**
 * Each kind's cost from the intervals that carried (nearly) only that kind, where the interval
 * before carried it too: after a change of kind the destination is still working through the
 * previous one (a run of zero pages is 9 bytes each, so ~100k of them sit in the socket
 * buffers), and that lag would land in the interval. The runs that carry mostly this kind
 * vote, each once (a run slowed by other work has more polls, not more say), with its time per
 * page over those intervals (a slow interval sends fewer pages, and a prediction adds up time
 * per page over all of them) where they hold at least half its pages of the kind; the figure
 * is the median vote.
 */
function pureCosts(runs: RunIntervals[], kinds: readonly PageKind[]): Partial<Record<PageKind, { ms: number; intervals: number; runs: number }>> {
  const kindOf = (i: Interval): PageKind | undefined => {
    const pages = pagesOf(i);
    if (pages === 0 || i.capBound) return undefined;
    return kinds.find((kind) => i[kind] >= pureShare * pages);
  };
  const out: Partial<Record<PageKind, { ms: number; intervals: number; runs: number }>> = {};
  for (const kind of kinds) {
    const votes: number[] = [];
    let intervals = 0;
    let carriers = 0;
    for (const r of runs) {
      const kept = r.intervals.filter((i) => !i.capBound);
      const pages = (of: PageKind) => kept.reduce((s, i) => s + i[of], 0);
      if (pages(kind) === 0 || kinds.some((other) => pages(other) > pages(kind))) continue;
      carriers++;
      const own = r.intervals.filter((i, n) => n > 0 && kindOf(i) === kind && kindOf(r.intervals[n - 1]) === kind);
      const ownPages = own.reduce((s, i) => s + pagesOf(i), 0);
      if (ownPages < pages(kind) / 2) continue;
      votes.push(own.reduce((s, i) => s + i.ms, 0) / ownPages);
      intervals += own.length;
    }
    // A stretch of one kind is seen alone only where it outlasts two polls, so a run slowed by
    // other work shows more of it alone: where fewer than half the runs that carry mostly this
    // kind show most of it alone, the few that do lean slow, and the joint fit prices it.
    if (votes.length && votes.length >= carriers / 2) out[kind] = { ms: median(votes), intervals, runs: votes.length };
  }
  return out;
}

const pagesOf = (i: Interval) => i.zero + i.warm + i.cold + i.coldZero;

/** leastAbsolute with some coefficients fixed (given) and the others fitted; undefined if those cannot be. */
function fitGiven(points: { x: number[]; y: number; weight: number }[], given: (number | undefined)[]): number[] | undefined {
  const free = given.flatMap((g, j) => (g === undefined ? [j] : []));
  const reduced = points.map((p) => ({ x: free.map((j) => p.x[j]), y: p.y - given.reduce<number>((s, g, j) => s + (g ?? 0) * p.x[j], 0), weight: p.weight }));
  const fit = free.length ? leastAbsolute(reduced, free.length) : [];
  if (!fit) return undefined;
  return given.map((g, j) => g ?? fit[free.indexOf(j)]);
}

/**
 * The QEMU release all the runs were made with, from their --version lines ("QEMU emulator
 * version 10.0.2 (Debian ...)" -> "10.0.2"); undefined when none says. Runs of different
 * releases cannot make one profile.
 */
export function qemuRelease(runs: IdleRun[]): string | undefined {
  const releases = new Set<string>();
  for (const r of runs) {
    const release = r.qemu?.match(/version (\d+\.\d+(?:\.\d+)?)/)?.[1];
    if (release) releases.add(release);
  }
  if (releases.size > 1) throw new CalibrationError(`cannot calibrate: the runs come from QEMU ${[...releases].join(" and ")}; a profile describes one, so calibrate each on its own runs`);
  return [...releases][0];
}

/** The profile with every per-page cost scaled by `factor` (2 = the machine at half pace); fixed costs kept. */
export function atPace(profile: MachineProfile, factor: number): MachineProfile {
  const out: MachineProfile = { ...profile };
  if (profile.pageReadBytesPerSecond !== undefined) out.pageReadBytesPerSecond = profile.pageReadBytesPerSecond / factor;
  if (profile.copyBytesPerSecond !== undefined) out.copyBytesPerSecond = profile.copyBytesPerSecond / factor;
  if (profile.firstTouchUsPerPage !== undefined) out.firstTouchUsPerPage = profile.firstTouchUsPerPage * factor;
  if (profile.sourceFirstReadUsPerPage !== undefined) out.sourceFirstReadUsPerPage = profile.sourceFirstReadUsPerPage * factor;
  if (profile.destinationFirstReadUsPerPage !== undefined) out.destinationFirstReadUsPerPage = profile.destinationFirstReadUsPerPage * factor;
  return out;
}

/**
 * The profile on a host where the migration's bottleneck thread waits `share` of its time for
 * a CPU, from the share its costs were fitted at (`cpuWaitShare`): a page that takes c of CPU
 * takes c / (1 - wait share) of wall time, so each per-page cost scales by
 * (1 - cpuWaitShare) / (1 - share). Fixed costs are kept as atPace keeps them.
 */
export function atCpuWait(profile: MachineProfile, share: number): MachineProfile {
  if (profile.cpuWaitShare === undefined) throw new CalibrationError("the profile does not say the CPU wait its costs were fitted at (cpuWaitShare): calibrate it from runs that recorded their threads (livemig qemu records them)");
  return { ...atPace(profile, (1 - profile.cpuWaitShare) / (1 - share)), cpuWaitShare: share };
}

/** How finely an idle guest's memory map is kept: shares of its non-zero pages per 1/32 of RAM. */
export const layoutBins = 32;

/**
 * Where an idle guest's non-zero pages lie, from the first pass's polls: pass 1 walks RAM in
 * address order, so between two polls the pages walked (zero and normal) are an address
 * range and its normal pages lie in it; the final pass's, at the top. Each run's normal pages are spread evenly over the
 * ranges they were seen in, as shares of its non-zero pages per 1/32 of RAM; the map is the
 * mean over the runs. Filled guests are left out (their working set is placed separately).
 */
export function fitIdleLayout(runs: IdleRun[]): number[] | undefined {
  const maps: number[][] = [];
  for (const r of runs) {
    if (r.scenario.vm.workload.kind !== "idle") continue;
    const samples = r.samples ?? measurementOf(r.result).samples ?? [];
    const points = pointsOf(r.result, samples).filter((p) => p.sync <= 1);
    const pages = r.scenario.vm.memory / r.scenario.vm.pageSize;
    const bins = new Array<number>(layoutBins).fill(0);
    for (let i = 1; i < points.length; i++) {
      const from = (points[i - 1].zero + points[i - 1].normal) / pages;
      const to = Math.min(1, (points[i].zero + points[i].normal) / pages);
      const normal = points[i].normal - points[i - 1].normal;
      if (normal <= 0 || to <= from) continue;
      for (let b = Math.floor(from * layoutBins); b < layoutBins && b / layoutBins < to; b++) {
        const overlap = Math.min(to, (b + 1) / layoutBins) - Math.max(from, b / layoutBins);
        if (overlap > 0) bins[b] += (normal * overlap) / (to - from);
      }
    }
    // QEMU switched over during pass 1's walk (the exact count fell under the threshold), so
    // the final pass carried what pass 1 had not reached: the top of RAM, where the polls
    // cannot see it. Its normal pages go there, over at least the top slice.
    const finalNormal = finalPassNormalPages(r.result, normalPageBytes(r.scenario.vm.pageSize));
    const topBins = Math.min(layoutBins, Math.max(1, Math.ceil((finalNormal / pages) * layoutBins)));
    for (let b = layoutBins - topBins; b < layoutBins; b++) bins[b] += finalNormal / topBins;
    const total = bins.reduce((a, b) => a + b, 0);
    if (total > 0) maps.push(bins.map((x) => x / total));
  }
  if (!maps.length) return undefined;
  return Array.from({ length: layoutBins }, (_, b) => maps.reduce((s, m) => s + m[b], 0) / maps.length);
}

/** A final pass this small (device state and a few pages) costs under a millisecond here. */
export const bareFinalPassBytes = 2 ** 20;

/** Normal pages sent inside the downtime, from its bytes (a zero page's 9 bytes are noise here). */
function finalPassNormalPages(result: MigrationResult, normalBytes: number): number {
  return (result.ram["downtime-bytes"] ?? 0) / normalBytes;
}

/** y = c . x without intercept, least weighted absolute deviations (iteratively reweighted least squares). */
export function leastAbsolute(points: { x: number[]; y: number; weight: number }[], n: number): number[] | undefined {
  let weights = points.map((p) => p.weight);
  let fit: number[] | undefined;
  for (let round = 0; round < 50; round++) {
    const next = leastSquares(points, n, weights);
    if (!next) return undefined;
    fit = next;
    // 0.5 ms: below the polls' resolution a residual is as good as none.
    weights = points.map((p) => p.weight / Math.max(0.5, Math.abs(p.y - dot(next, p.x))));
  }
  return fit;
}

/** Weighted least squares of y = c . x without intercept (normal equations, Gaussian elimination). */
function leastSquares(points: { x: number[]; y: number }[], n: number, weights: number[]): number[] | undefined {
  const m = Array.from({ length: n }, () => new Array<number>(n + 1).fill(0));
  points.forEach((p, r) => {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) m[i][j] += weights[r] * p.x[i] * p.x[j];
      m[i][n] += weights[r] * p.x[i] * p.y;
    }
  });
  const scale = m.map((row, i) => Math.sqrt(row[i]) || 1);
  for (let i = 0; i < n; i++) for (let j = 0; j <= n; j++) m[i][j] /= scale[i] * (j < n ? scale[j] : 1);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    // Nearly collinear regressors (every interval has the same mix of pages): no separate answer.
    if (Math.abs(m[pivot][col]) < 1e-9) return undefined;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r][col] / m[col][col];
      for (let j = col; j <= n; j++) m[r][j] -= f * m[col][j];
    }
  }
  return m.map((row, i) => row[n] / row[i] / scale[i]);
}

const dot = (c: number[], x: number[]) => c.reduce((s, ci, i) => s + ci * x[i], 0);
