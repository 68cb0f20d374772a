// QEMU's post-copy (migration/postcopy-ram.c, migration/migration.c postcopy_start,
// migration/ram.c, docs/devel/migration/postcopy.rst). After the switch the guest runs on the
// destination before all of its memory is there: a vCPU touching a page that has not arrived
// faults (userfaultfd), the destination asks the source for it over the return path
// (MIG_RP_MSG_REQ_PAGES), and the source sends requested pages before the rest, which it keeps
// pushing in the background. Without postcopy-preempt a requested page waits behind the
// background data already on the socket; with it, the page goes on its own channel at once.
// A failure of either side or the link before the last page arrives loses the VM.
// docs/model.md has the rules and their sources.

import { PageBitmap, PageRuns } from "./bitmap.js";
import type { Device } from "./device.js";
import type { Clock, GuestRam } from "./ports.js";

export interface PostcopyParams {
  /** migrate-start-postcopy once dirty-sync-count exceeds this, or once the migration has run this long (ms). */
  afterPasses?: number;
  afterMs?: number;
  /** postcopy-preempt: requested pages on their own channel. */
  preempt: boolean;
}

/** Why QEMU refuses the migration with post-copy on (vfio_save_prepare), or nothing. */
export function postcopyRefusal(devices: Device[]): string | undefined {
  const vfio = devices.find((d) => d.vfioMigration);
  return vfio ? `${vfio.kind}: VFIO migration is not supported with postcopy migration` : undefined;
}

/** What livemig cannot vouch for: a device that pins guest RAM for DMA at the destination. */
export function postcopyPinningWarning(devices: Device[]): string | undefined {
  const pins = devices.filter((d) => d.pinsDestinationMemory).map((d) => d.kind);
  if (pins.length === 0) return undefined;
  return (
    `post-copy with ${pins.join(", ")}: the device pins guest RAM for DMA at the destination while pages are still missing there; ` +
    `QEMU 10.0 does not refuse it (only VFIO migration is refused), but a page pinned before it arrives is either faulted in through userfaultfd ` +
    `one request at a time or mapped as a fresh page the device keeps after post-copy replaces it. livemig does not model that: treat this result as unverified`
  );
}

/** The risk every post-copy result carries. */
export function postcopyRiskWarning(switchMs: number, endMs: number): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return (
    `post-copy: from the switch at ${s(switchMs)} to the last page at ${s(endMs)} (${s(endMs - switchMs)}) the guest's memory was split ` +
    `between source and destination: a failure of either host or of the link in that window loses the VM (QEMU pauses in postcopy-paused; only postcopy recovery can save it)`
  );
}

export interface PostcopyPhaseEnv {
  clock: Clock;
  ram: GuestRam;
  /** Pages the destination does not have yet; whoever sends a page clears it. */
  missing: PageBitmap;
  /** Sends the next slice of missing pages in walk order (the background push); its bytes. */
  push(): Promise<number>;
  /** Sends these pages now (requested). */
  sendRequested(pages: PageRuns): Promise<void>;
  vcpus: number;
  /** One-way latency of the link (the request goes back, the page comes over), ms. */
  latencyMs: number;
  /** Without preempt, the bytes in flight ahead of a requested page; absent: half the slice being pushed. */
  queuedBytes?: number;
  preempt: boolean;
}

export interface PostcopyStats {
  /** postcopy-requests: pages the destination faulted on and asked for. */
  requests: number;
  /** postcopy-blocktime: time all vCPUs were blocked on faults at once, ms. */
  blocktime: number;
  /** postcopy-vcpu-blocktime: each vCPU's time blocked on faults, ms (vCPUs taken alike). */
  vcpuBlocktime: number;
}

/**
 * The post-copy phase, from the destination's resume until no page is missing. It steps by
 * background slices; the pages the guest touched during a step that were still missing are
 * its faults, served after it. A faulting vCPU waits a round trip, the background data ahead
 * of its page on the socket (no preempt: what the socket buffers hold, at the push's rate, or
 * without that figure half a slice on average) and the requested pages ahead of
 * its own; while it waits it does not run, so the guest's own writes slow by the share of vCPU
 * time blocked (taken for the next step from the rate and miss share just seen).
 */
export async function postcopyPhase(env: PostcopyPhaseEnv): Promise<PostcopyStats> {
  const { clock, ram, missing } = env;
  const touched = new PageBitmap(missing.size);
  // When each vCPU's wait for a page that takes longer than a slice ends: a vCPU blocked on a
  // fault raises no other until its page is in. A wait starts within the step that raised it, or
  // right after the vCPU's earlier one, so within a step it runs from the step's start.
  const freeAt = new Float64Array(env.vcpus);
  let requests = 0;
  let vcpuBlocked = 0;
  let allBlocked = 0;
  let stall = 0;
  while (missing.count > 0) {
    ram.setThrottle(stall);
    const t0 = clock.now();
    const pushed = await env.push();
    const pushMs = clock.now() - t0;
    const seen = ram.syncDirtyLog(touched);
    const waitMs = 2 * env.latencyMs + (env.preempt ? 0 : queueAheadMs(env.queuedBytes, pushed, pushMs));
    const faults = faultedPages(touched, missing, faultsRaised(freeAt, t0, clock.now(), waitMs));
    touched.clearAll();
    let sendMs = 0;
    if (faults.pages > 0) {
      const t1 = clock.now();
      await env.sendRequested(faults);
      sendMs = clock.now() - t1;
    }
    const k = faults.pages;
    const stepMs = pushMs + sendMs;
    const long = waitMs > stepMs;
    if (k > 0 && long) blockUntil(freeAt, t0, k, waitMs);
    // The long waits, where they overlap this step (all vCPUs at once: the shortest overlap).
    let overlapSum = 0;
    let overlapMin = Infinity;
    for (let v = 0; v < env.vcpus; v++) {
      const overlap = Math.max(0, Math.min(clock.now(), freeAt[v]) - t0);
      overlapSum += overlap;
      overlapMin = Math.min(overlapMin, overlap);
    }
    vcpuBlocked += overlapSum;
    allBlocked += overlapMin;
    if (k === 0 || stepMs <= 0) {
      // No fault raised: the miss share just seen is 0, so the next step runs at full speed, unless a
      // vCPU is still waiting for a page it asked for earlier (it raised none because it is blocked).
      if (!freeAt.some((free) => free > clock.now())) stall = 0;
      continue;
    }
    requests += k;
    // The k-th requested page waits for the k - 1 before it: on average (k + 1) / 2 page times.
    const blocked = k * waitMs + (sendMs * (k + 1)) / 2;
    if (!long) {
      // No vCPU waits longer than the step: faults beyond that were not raised (the guest slowed sooner).
      const share = Math.min(1, blocked / (env.vcpus * stepMs));
      vcpuBlocked += share * env.vcpus * stepMs;
      allBlocked += stepMs * Math.pow(share, env.vcpus);
    }
    // Next step: at the full-speed touch rate and miss share just seen, the blocked share x / (1 + x).
    const touchPerMs = seen / ((1 - stall) * stepMs);
    const latency = blocked / k;
    const x = (touchPerMs * (k / seen) * latency) / env.vcpus;
    stall = Math.min(maxStall, x / (1 + x));
  }
  ram.setThrottle(0);
  return { requests, blocktime: round3(allBlocked), vcpuBlocktime: round3(vcpuBlocked / env.vcpus) };
}

/**
 * How many faults the vCPUs can have raised in [from, to]: a vCPU raises at most one a wait
 * and none while it waits for an earlier one. Unbounded when a fault costs no wait.
 */
function faultsRaised(freeAt: Float64Array, from: number, to: number, waitMs: number): number {
  if (!(waitMs > 0)) return Infinity;
  let n = 0;
  for (const free of freeAt) n += Math.max(0, Math.ceil((to - Math.max(free, from)) / waitMs));
  return n;
}

/** Gives the step's k faults to the vCPUs free soonest, each blocking its vCPU for the wait. */
function blockUntil(freeAt: Float64Array, from: number, k: number, waitMs: number): void {
  for (let i = 0; i < k; i++) {
    let v = 0;
    for (let j = 1; j < freeAt.length; j++) if (freeAt[j] < freeAt[v]) v = j;
    // A vCPU still waiting takes this wait right after that one.
    freeAt[v] = Math.max(freeAt[v], from) + waitMs;
  }
}

/** How long a requested page waits behind the background data on the one socket. */
function queueAheadMs(queuedBytes: number | undefined, pushedBytes: number, pushMs: number): number {
  if (queuedBytes === undefined || pushedBytes <= 0) return pushMs / 2;
  return (queuedBytes * pushMs) / pushedBytes;
}

/** A vCPU always gets to run a little between faults. */
const maxStall = 0.99;

/** The touched pages still missing, as runs: the first `most` of them (the faults raised). */
function faultedPages(touched: PageBitmap, missing: PageBitmap, most: number): PageRuns {
  const list: number[] = [];
  for (let p = touched.nextSet(0); p >= 0 && list.length < most; p = touched.nextSet(p + 1)) if (missing.test(p)) list.push(p);
  const runs = new PageRuns(Math.max(1, list.length));
  for (const p of list) runs.add(p, 1);
  return runs;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
