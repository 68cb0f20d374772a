// Everything the controller and the devices do is recorded here as typed events; every
// figure of a result is computed from this record (see result.ts).

import type { XbzrleCacheStats } from "./xbzrle.js";

export type MigrationStatus =
  | "setup" | "wait-unplug" | "active" | "postcopy-active" | "device" | "completed" | "completed-unsafe" | "failed";

/** Cumulative stream counters, snapshotted at each sync and at the end. */
export interface Counters {
  transferred: number;
  duplicate: number;
  normal: number;
  normalBytes: number;
  precopyBytes: number;
  downtimeBytes: number;
  /** Only with multifd: bytes the channels sent (packet headers, offsets, pages). */
  multifdBytes?: number;
  /** Only with post-copy: bytes sent after the destination resumed. */
  postcopyBytes?: number;
}

export type Side = "source" | "destination";

/** The guest network as the rest of the world sees it. */
export type NetState = "up" | "degraded" | "down";

export type TimelineEvent =
  /** `blocked`: a device forbids migration (QEMU's blocked-reasons), before anything was sent. */
  | { t: number; kind: "status"; status: MigrationStatus; reason?: string; blocked?: true }
  | { t: number; kind: "setup-done" }
  | {
      t: number; kind: "sync"; pass: number; dirtyPages: number; newlyDirty: number;
      bandwidth: number; threshold: number; throttle: number; dirtyRate: number;
      expectedDowntime: number; counters: Counters;
    }
  | { t: number; kind: "throttle"; fraction: number }
  | { t: number; kind: "vm-stop" }
  | { t: number; kind: "vm-resume" }
  /** A piece of work with a duration; `component` names its share of the downtime. */
  | { t: number; kind: "span"; end: number; name: string; component: string; side: Side; device?: string }
  | { t: number; kind: "nic-suspend"; device: string }
  | { t: number; kind: "nic-ready"; device: string }
  | { t: number; kind: "net"; state: NetState; reason: string }
  | { t: number; kind: "frames-dropped"; frames: number; reason: string }
  | { t: number; kind: "announce"; round: number }
  | { t: number; kind: "probe-gap"; end: number; lost: number }
  | { t: number; kind: "verify"; stalePages: number; pages: number[] }
  /** A VFIO device's state put on the stream (PRE_COPY while the guest runs, STOP_COPY after stop). */
  | { t: number; kind: "device-data"; device: string; phase: "pre-copy" | "stop-copy"; bytes: number }
  /** dirty-limit (re)applied: each vCPU's sleep share, per ring full and its ring's fill time (us). */
  | { t: number; kind: "dirty-limit"; fraction: number; throttleUsPerFull: number; ringFullUs: number }
  /** Post-copy done: the destination has every page. */
  | { t: number; kind: "postcopy"; requests: number; blocktime: number; vcpuBlocktime: number; vcpus: number }
  | { t: number; kind: "xbzrle"; stats: XbzrleCacheStats }
  | { t: number; kind: "warning"; message: string }
  | { t: number; kind: "end"; counters: Counters };

export type EventKind = TimelineEvent["kind"];
export type EventOf<K extends EventKind> = Extract<TimelineEvent, { kind: K }>;

export class Timeline {
  readonly events: TimelineEvent[] = [];

  add(event: TimelineEvent): void {
    this.events.push(event);
  }

  all<K extends EventKind>(kind: K): EventOf<K>[] {
    return this.events.filter((e): e is EventOf<K> => e.kind === kind);
  }

  first<K extends EventKind>(kind: K): EventOf<K> | undefined {
    return this.events.find((e): e is EventOf<K> => e.kind === kind);
  }

  last<K extends EventKind>(kind: K): EventOf<K> | undefined {
    const all = this.all(kind);
    return all[all.length - 1];
  }
}
