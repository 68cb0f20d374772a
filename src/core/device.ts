// The Device port: a strategy's hooks at each phase of the migration. A strategy is one
// file in strategies/; its costs are a table a scenario may override.

import type { PageBitmap } from "./bitmap.js";
import type { Clock } from "./ports.js";
import type { NetState, Side, Timeline } from "./timeline.js";

export interface DeviceContext {
  readonly clock: Clock;
  readonly timeline: Timeline;
  /** Guest RAM size in bytes (all of it is mapped for DMA). */
  readonly ramBytes: number;
  readonly pageCount: number;
  /**
   * A piece of work recorded as a span. `work` is a duration in ms (modelled) or a function
   * doing it for real (live runtime).
   */
  work(name: string, component: string, side: Side, work: number | (() => Promise<void>)): Promise<void>;
  /** The guest's network as a prober sees it. */
  net(state: NetState, reason: string): void;
  /** Receive frames per second reaching this NIC (for costs per packet). */
  readonly rxFramesPerSecond: number;
  /**
   * Pins (faults in and maps) all of the destination's guest RAM for real. Absent in the
   * simulator, where pinning is a modelled duration; the live runtime provides it.
   */
  readonly pin?: () => Promise<void>;
  /**
   * The destination's host memory, where the simulator models it (the scenario says whether
   * the destination preallocates, or the machine profile has a first-touch cost).
   */
  readonly destinationMemory?: DestinationMemory;
}

/** Which destination pages are backed by host memory yet (faulted in and zeroed). */
export interface DestinationMemory {
  /** Populates every page not yet populated; returns the work it takes, ms. */
  populateAll(): number;
  /** Resolves once the destination has applied all the stream it took (its thread may lag behind the source). */
  applied?(): Promise<void>;
}

export interface Device {
  readonly kind: string;
  /**
   * A VFIO device that migrates (VFIO migration v2): its state counts in query-migrate's
   * `vfio.transferred`, and QEMU refuses post-copy with it.
   */
  readonly vfioMigration?: boolean;
  /** Whether the NIC's DMA writes reach the dirty log right now. */
  dmaLogged(): boolean;
  /** Set when migration must not start, with QEMU's reason. */
  blockedReason?(): string | undefined;
  /** Pins all guest RAM for DMA at the destination (vhost-vDPA, a hot-plugged VF): post-copy cannot vouch for it. */
  readonly pinsDestinationMemory?: boolean;
  /** Migration setup on the source (unplug, shadow virtqueues, early pinning at the destination). */
  setup?(ctx: DeviceContext): Promise<void>;
  /** True while a hot-unplug requested in setup has not completed (QEMU's wait-unplug). */
  unplugPending?(): boolean;
  /** At each dirty-log sync: read the device's own log (cost) and mark pages in `bitmap`. */
  sync?(ctx: DeviceContext, bitmap: PageBitmap, final: boolean): Promise<void>;
  /** Device state sent while the guest still runs (VFIO PRE_COPY initial data). */
  preCopyBytes?(): number;
  /**
   * Device state changed since it was last sent in precopy (VFIO_MIG_GET_PRECOPY_INFO `dirty_bytes`), bytes,
   * at `now`; counted in the pending amount the switch-over waits for.
   */
  preCopyDirtyBytes?(now: number): number;
  /** The source sent `bytes` of the dirty bytes reported at `now`. */
  preCopyDirtySent?(now: number, bytes: number): void;
  /** Destination: the PRE_COPY data has arrived; the device may prepare for the switch-over (allocate resources). */
  preCopyArrived?(ctx: DeviceContext): void;
  /** Whether the destination approves the switch-over yet (QEMU's switchover-ack); absent: always. */
  switchoverAcked?(): boolean;
  /** Source, vCPUs stopped: suspend or quiesce the device. */
  stop?(ctx: DeviceContext): Promise<void>;
  /** Bytes of device state sent in the downtime. */
  stateBytes(): number;
  /** Source, after stop: read the STOP_COPY data out of the device before it can be sent. */
  save?(ctx: DeviceContext): Promise<void>;
  /**
   * The STOP_COPY data goes over the multifd channels (QEMU 10.0 `x-migration-multifd-transfer=on`):
   * saved, sent and loaded by the device's own threads, beside the final RAM and the other devices.
   */
  readonly multifdDeviceState?: boolean;
  /** Destination: load the device state. */
  load?(ctx: DeviceContext): Promise<void>;
  /** Destination: start the device so its queues move data (runs before vCPUs resume). */
  start?(ctx: DeviceContext): Promise<void>;
  /** Destination, after resume: hot-plug, link-up, fail back (may run past the migration's end). */
  afterResume?(ctx: DeviceContext): Promise<void>;
  /** Migration failed or was cancelled: give the source its device back. */
  abort?(ctx: DeviceContext): Promise<void>;
}

/** Marks the instant a NIC stops moving guest data on the source (guest-visible downtime starts). */
export function nicSuspended(ctx: DeviceContext, device: string): void {
  ctx.timeline.add({ t: ctx.clock.now(), kind: "nic-suspend", device });
}

/** Marks the instant a NIC's last queue can move data on the destination (guest-visible downtime ends). */
export function nicReady(ctx: DeviceContext, device: string): void {
  ctx.timeline.add({ t: ctx.clock.now(), kind: "nic-ready", device });
}
