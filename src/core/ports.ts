// The ports the migration controller is written against. The simulator implements them on
// a virtual clock with models; the live runtime on the wall clock with real memory and sockets.

import type { PageBitmap, PageRuns } from "./bitmap.js";

export interface Clock {
  /** Milliseconds since the clock's origin. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Starts `body` as a process running beside the caller. Wait for it with `join`, never a bare await. */
  spawn<T>(body: () => Promise<T>): Promise<T>;
  /** Waits until every spawned task has ended; rejects with the first failure. */
  join<T>(tasks: Promise<T>[]): Promise<T[]>;
  /** Waits until at least one of these spawned tasks has ended (a semaphore any of them posts); never rejects. */
  joinAny(tasks: Promise<unknown>[]): Promise<void>;
}

export interface GuestRam {
  readonly pageCount: number;
  readonly pageSize: number;
  startDirtyLog(): void;
  stopDirtyLog(): void;
  /** Read-and-clear of the dirty log (vCPU writes and tracked DMA) into `into`; returns pages newly set. */
  syncDirtyLog(into: PageBitmap): number;
  /** Whether a page is all zeroes (buffer_is_zero): sent as a header and one byte. */
  isZero(page: number): boolean;
  /**
   * How many pages from `from` on, at most `max`, are all zero (`zero`) or all non-zero (0 if
   * `from` is not). Optional: a runtime that keeps a map of non-zero pages answers a word of
   * it at a time, so that the sender need not ask `isZero` page by page.
   */
  runOfKind?(from: number, max: number, zero: boolean): number;
  /**
   * How many pages from `from` on, at most `max`, are quiet: their kind (zero or not) cannot
   * change and no write to them is seen before the next dirty-log sync (no DMA lands on them
   * untracked, no destination first touch races their arrival). Slices of quiet pages sent one
   * by one or as one send the same pages in the same order, so the sender may join them.
   * Optional: the simulator knows; a runtime with real memory does not say.
   */
  quietRun?(from: number, max: number): number;
  /**
   * Reads (and zero-checks) pages for sending, in the order of `runs`, which takes the
   * migration thread's time; from here on the sent copy is what the destination holds.
   * Resolves to their contents where a runtime moves real bytes (as the frames it sends them
   * in, each a list of chunks that may be views of guest RAM itself), to nothing in the simulator.
   * The caller awaits it before it does anything else on the clock (the simulator may then end
   * the read at once where nothing else would run before it ends).
   */
  readPages(runs: PageRuns): Promise<StreamPayload | undefined>;
  stopVcpus(): void;
  resumeVcpus(): void;
  /** Fraction of each vCPU time slice spent sleeping (auto-converge), 0..0.99. */
  setThrottle(fraction: number): void;
  /** Pages whose destination copy differs from the source, ascending. */
  stalePages(): number[];
}

/** Bytes of migration stream as a runtime sends them: frames, each a list of chunks. */
export type StreamPayload = readonly (readonly Uint8Array[])[];

export interface Channel {
  /**
   * Sends `bytes` of migration stream (counted at QEMU's sizes, what the link is charged for);
   * resolves when the link has taken them (back-pressure). `payload`: the bytes themselves, in chunks.
   * The caller awaits it before it does anything else on the clock, as for `GuestRam.readPages`.
   */
  send(bytes: number, payload?: StreamPayload): Promise<void>;
  /**
   * `count` sections of `bytes` each, back to back, without payload: the same as that many
   * `send`s one after another. Optional: the simulator's link takes them as one send (a fluid
   * link carries them in the same time, but for float sums); without it, each is a `send`.
   */
  sendSections?(bytes: number, count: number): Promise<void>;
  /** Resolves when everything sent so far has arrived at the destination. */
  drain(): Promise<void>;
  /**
   * A multifd channel's packet with MULTIFD_FLAG_SYNC, at the end of each round: the destination
   * applies nothing any channel sent after it until every channel's has arrived, so a page re-sent
   * in the next round never lands before its older copy on another socket. Absent where the
   * channels share one ordered link (the simulator).
   */
  syncPoint?(): Promise<void>;
}
