// Migration parameters, with QEMU's names and defaults (migration/options.c).

import type { MultifdOptions } from "./multifd.js";
import type { PostcopyParams } from "./postcopy.js";

export interface ThrottleParams {
  /** cpu-throttle-initial, as a fraction. */
  initial: number;
  /** cpu-throttle-increment. */
  increment: number;
  /** max-cpu-throttle. */
  max: number;
  /** cpu-throttle-tailslow: past the first step, raise the throttle only as far as the dirty rate needs. */
  tailslow: boolean;
  /** throttle-trigger-threshold: dirtied bytes above this share of sent bytes count as "too fast". */
  triggerThreshold: number;
}

export interface AnnounceParams {
  initialMs: number;
  maxMs: number;
  rounds: number;
  stepMs: number;
}

export interface MigrationParams {
  downtimeLimitMs: number;
  /** Bytes per second; 0 = unlimited. */
  maxBandwidth: number;
  autoConverge: boolean;
  throttle: ThrottleParams;
  /** `byDefault`: the scenario set no bound and these are livemig's (QEMU itself never gives up). */
  giveUp: { passes?: number; timeMs?: number; byDefault?: boolean };
  announce: AnnounceParams;
  /** multifd capability with multifd-channels; the host cores the channel threads share. Absent: one stream. */
  multifd?: MultifdOptions;
  /** postcopy-ram, switched to by migrate-start-postcopy. */
  postcopy?: PostcopyParams;
  /** xbzrle capability with xbzrle-cache-size (bytes). */
  xbzrle?: { cacheSize: number };
  /** dirty-limit capability: vcpu-dirty-limit (bytes/s per vCPU) and KVM's dirty-ring-size. */
  dirtyLimit?: { bytesPerSecond: number; ringSize: number };
  /**
   * How long one ram_save_iterate may send (QEMU: qemuIterationMs). Only between two
   * iterations does migration_iteration_run compare what is left with the threshold, and
   * migration_rate_limit close a 100 ms window. Absent: both after every slice (livemig's
   * finer default, which the shipped scenarios' figures were made with).
   */
  iterationMs?: number;
  /**
   * With auto-converge, QEMU 9.2 and later also sync the dirty bitmap from a timer every this
   * many ms when no sync happened since its last tick (and pass 1 is over), so a long pass
   * still gets auto-converge's checks (cpu_throttle_dirty_sync_timer_tick,
   * migration/cpu-throttle.c; not in 7.2). Absent: syncs only below the threshold.
   */
  autoConvergeSyncMs?: number;
}

/**
 * QEMU's ram_save_iterate stops sending after MAX_WAIT, 50 ms (migration/ram.c, the same in
 * 7.2 and 10.0), or once the rate limit's budget is used up or nothing is left to send.
 */
export const qemuIterationMs = 50;

/** CPU_THROTTLE_DIRTY_SYNC_TIMESLICE_MS (QEMU 10.0.2 migration/cpu-throttle.c), since QEMU 9.2. */
export const qemuAutoConvergeSyncMs = 5000;

/** The periodic auto-converge sync of a QEMU release ("10.0.2"): QEMU 9.2 and later have it. */
export function autoConvergeSyncMsOf(release: string): number | undefined {
  const [major, minor] = release.split(".").map(Number);
  return major > 9 || (major === 9 && minor >= 2) ? qemuAutoConvergeSyncMs : undefined;
}

/**
 * The bound applied when a scenario sets no giveUp: QEMU migrates until cancelled, but a
 * prediction has to end. 30 passes (what every shipped scenario sets) or an hour of
 * migration, whichever comes first; the hour ends a pass that would take longer.
 */
export const defaultGiveUp = { passes: 30, timeMs: 3_600_000 } as const;

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export const qemuDefaults: MigrationParams = {
  downtimeLimitMs: 300,
  maxBandwidth: 128 * MiB,
  autoConverge: false,
  throttle: { initial: 0.2, increment: 0.1, max: 0.99, triggerThreshold: 0.5, tailslow: false },
  giveUp: {},
  announce: { initialMs: 50, maxMs: 550, rounds: 5, stepMs: 100 },
};

/** Delays of the announce rounds after resume: 0, 50, 200, 450, 800 ms with QEMU's defaults. */
export function announceSchedule(a: AnnounceParams): number[] {
  const out: number[] = [];
  let t = 0;
  for (let round = 0; round < a.rounds; round++) {
    out.push(t);
    // QEMU counts rounds down: the k-th gap is initial + k * step, capped at max.
    t += Math.min(a.initialMs + round * a.stepMs, a.maxMs);
  }
  return out;
}
