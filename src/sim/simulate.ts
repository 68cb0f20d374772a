// The simulator: the controller on a virtual clock, with guest RAM, NIC and link models.

import { migrate, type MigrationEnv } from "../core/controller.js";
import type { Device } from "../core/device.js";
import type { Channel, Clock } from "../core/ports.js";
import type { Timeline } from "../core/timeline.js";
import { buildResult, type MigrationResult } from "../core/result.js";
import { normalPageBytes } from "../core/wire.js";
import { autoConvergeSyncMsOf, qemuIterationMs } from "../core/params.js";
import { createDevices, migrationParams } from "../scenario/assemble.js";
import type { Scenario } from "../scenario/schema.js";
import { VirtualClock } from "./clock.js";
import { SimDestinationMemory } from "./destination.js";
import { SimLink } from "./link.js";
import { probe } from "./prober.js";
import { Random } from "./random.js";
import { SimGuestRam, type RxTraffic } from "./ram.js";
import { writeModel, type WorkloadSpec } from "./workload.js";

/** Receive descriptors per queue: the Linux default ring size of ixgbevf, mlx5 and virtio-net. */
const rxRingEntries = 512;
/** Receive buffer per descriptor for a standard MTU (a page holds two). */
const rxBufferBytes = 2048;
/**
 * One core streaming through memory: ~15 GB/s is a server core's read (and rep-stos clear)
 * bandwidth. The migration thread zero-checks and copies every page at about this rate.
 */
export const coreMemoryBytesPerSecond = 15e9;
/**
 * Faulting in and zeroing a page of fresh host memory, without a profile: one core's clear
 * rate, the figure vDPA's pinningMsPerGiB comes from (71.6 ms/GiB).
 */
const coldPageBytesPerSecond = coreMemoryBytesPerSecond;

/**
 * Stream bytes the socket buffers hold while the destination lags behind the source: the
 * sender's buffer grows to Linux's net.ipv4.tcp_wmem maximum (4 MiB by default) under a bulk
 * stream, while the receiver's stays near tcp_rmem's default (128 KiB), as its autotuning
 * grows it only with what the reader copies out per round trip, and the reader is the slow
 * end. A traced QEMU 10.0 switch-over found ~10 ms of first arrivals (~3 MB at 13.5 us a page)
 * still to load (docs/validation.md, eighth round).
 */
export const laggingStreamBufferBytes = 4 * 2 ** 20 + 128 * 2 ** 10;

/**
 * A machine profile (fitted by `livemig calibrate` from real runs): physical rates and fixed
 * costs of one host that replace the simulator's defaults. Absent fields keep the defaults.
 */
export interface MachineProfile {
  /** Replaces coreMemoryBytesPerSecond: how fast the migration thread reads and zero-checks pages. */
  pageReadBytesPerSecond?: number;
  /** Bytes/s the stream can carry end to end (copy, socket, destination load); caps the link. */
  copyBytesPerSecond?: number;
  /**
   * What a page costs on its first arrival at a destination that did not preallocate its RAM
   * (the kernel faults in and zeroes fresh memory), microseconds. Fitted where the calibration
   * runs' destinations were not preallocated.
   */
  firstTouchUsPerPage?: number;
  /**
   * What the source's first read of a page the guest never touched costs, microseconds: on a
   * host without the kernel's shared zero page (`pvm_no_zero_page=1`, docs/validation.md) that
   * read populates fresh memory, in whichever thread reads it (the migration thread's zero
   * check, or a multifd channel's). Fitted where idle runs' zero pages cost more than normal ones.
   */
  sourceFirstReadUsPerPage?: number;
  /**
   * The same first read at a destination that did not preallocate, microseconds a page: QEMU's
   * zero check of each arriving zero page reads destination memory, which on such a host
   * populates it. The destination's thread works beside the source's, so this is what that
   * read adds to a zero page's time, not the read's whole cost. Fitted where idle runs' zero
   * pages went slower into a destination without preallocation than into a preallocated one.
   */
  destinationFirstReadUsPerPage?: number;
  /**
   * Where an idle guest's non-zero pages lie: shares per equal slice of RAM, bottom first
   * (fitted from idle runs' first-pass polls). Absent: packed at the bottom of RAM.
   */
  idleLayout?: number[];
  /** Fixed work in the setup phase (before the first pass), ms. */
  setupMs?: number;
  /** Fixed work inside the downtime (device state save and load, VM start), ms. */
  switchoverMs?: number;
  /** Cores the migration's threads may use (multifd), where the scenario does not say. */
  hostCores?: number;
  /** multifd: the migration thread's time per page it walks and queues for a channel, us. */
  multifdQueueUsPerPage?: number;
  /**
   * Bytes one TCP stream holds in flight between the two ends (their socket buffers at
   * Linux's autotuning maxima): a post-copy page requested without preempt waits behind them.
   */
  socketBufferBytes?: number;
  /**
   * Bytes the socket buffers hold while the destination lags (the calibrating host's tcp_wmem
   * maximum and tcp_rmem default); absent: laggingStreamBufferBytes, Linux's defaults.
   */
  laggingBufferBytes?: number;
  /** multifd: one channel's rate for its packets (zero check, writev from guest memory, socket, the destination's readv), bytes/s. */
  multifdSendBytesPerSecond?: number;
  /**
   * The QEMU release the profile was measured on (e.g. "10.0.2"). The simulator then follows
   * QEMU's iteration cadence (params.iterationMs); absent: livemig's per-slice checks.
   */
  qemu?: string;
  /**
   * The share of a run the calibrating runs' bottleneck thread waited for a CPU (their
   * median), which the per-page costs include. Not read here: `simulate --cpu-wait` rescales
   * the costs from it to another host's wait (atCpuWait, src/qemu/calibrate.ts).
   */
  cpuWaitShare?: number;
}

export interface SimulateOptions {
  seed?: number;
  profile?: MachineProfile;
  /**
   * Look at the threshold between iterations of this many ms (params.iterationMs), whatever the
   * profile: the live engine does (src/live/migration.ts), so its prediction must too.
   */
  iterationMs?: number;
  onProgress?: (p: { pass: number; remainingBytes: number; bandwidth: number; t: number }) => void;
}

export async function simulate(scenario: Scenario, options: SimulateOptions = {}): Promise<MigrationResult> {
  const clock = new VirtualClock();
  const copy = streamCap(scenario, options.profile);
  const bandwidth = copy !== undefined && copy > 0 ? Math.min(scenario.link.bandwidth, copy) : scenario.link.bandwidth;
  const channel = new SimLink(clock, { bandwidth, latencyMs: scenario.link.latency });
  const m = prepareMigration(scenario, clock, channel, options);
  const result = m.finish(await clock.run(() => migrate(m.env)));
  m.ram.release();
  return result;
}

/**
 * What caps the link besides its bandwidth: the profile's one precopy stream, unless multifd
 * channels with their own send rate carry the pages.
 */
export function streamCap(scenario: Scenario, profile: MachineProfile | undefined): number | undefined {
  if (scenario.migration.multifd && profile?.multifdSendBytesPerSecond !== undefined) return undefined;
  return profile?.copyBytesPerSecond;
}

/** One VM's migration, ready to run on a clock that other migrations may share (sim/fleet.ts). */
export interface PreparedMigration {
  env: MigrationEnv;
  ram: SimGuestRam;
  /** The result from the migration's timeline, with the prober's gaps. */
  finish(timeline: Timeline): MigrationResult;
}

export function prepareMigration(scenario: Scenario, clock: Clock, channel: Channel, options: SimulateOptions = {}): PreparedMigration {
  const seed = options.seed ?? scenario.seed ?? 1;
  const { vm } = scenario;
  const pageSize = vm.pageSize;
  const pageCount = Math.floor(vm.memory / pageSize);
  const vmShape = { ramBytes: pageCount * pageSize, pageSize, vcpus: vm.vcpus };
  const devices: Device[] = createDevices(scenario, vmShape);
  const profile = options.profile;
  if (profile && (profile.setupMs || profile.switchoverMs)) devices.push(machineCosts(profile.setupMs ?? 0, profile.switchoverMs ?? 0));
  const w = vm.workload;
  const workload: WorkloadSpec =
    w.kind === "idle"
      ? { kind: "idle" }
      : { ...w, workingSetPages: Math.max(1, Math.min(pageCount, Math.floor(w.workingSet / pageSize))) };
  const rxSpec = w.rx;
  const trafficRate = rxSpec && rxSpec.rate > 0 ? rxSpec.rate : 0;
  // The prober's echo requests are received frames too, DMA-written into the guest's receive
  // buffers like any other (the live NIC takes them so: 292 dirty pages at an idle guest's final
  // sync, docs/live.md). One flow: without other traffic they fill one queue's ring.
  const pingRate = scenario.probe ? 1000 / scenario.probe.interval : 0;
  let rx: RxTraffic | undefined;
  if (trafficRate + pingRate > 0) {
    const queues = trafficRate > 0 ? Number(scenario.devices[0].options.queuePairs ?? 1) : 1;
    const buffersPerPage = Math.max(1, Math.floor(pageSize / Math.max(rxBufferBytes, rxSpec?.size ?? 0)));
    const poolPages = Math.min(pageCount, Math.ceil((rxRingEntries * queues) / buffersPerPage));
    rx = {
      framesPerSecond: trafficRate + pingRate,
      bufferPages: distinctPages(new Random(seed ^ 0x5eed), pageCount, poolPages),
      buffersPerPage,
      logged: () => devices[0].dmaLogged(),
    };
  }
  // The destination's memory is modelled where the scenario says how it is populated or the
  // profile has a first-touch cost (absent field: not preallocated, QEMU's default).
  const prealloc = scenario.migration.destinationPrealloc;
  const firstTouchMs = profile?.firstTouchUsPerPage !== undefined ? profile.firstTouchUsPerPage / 1000 : (pageSize * 1000) / coldPageBytesPerSecond;
  // Its load thread works behind the one precopy stream (multifd's channels each have their own).
  const copyBytesPerSecond = profile?.copyBytesPerSecond ?? scenario.link.bandwidth;
  const load = scenario.migration.multifd ? undefined : { clock, bufferBytes: profile?.laggingBufferBytes ?? laggingStreamBufferBytes, copyMsPerNormalPage: (normalPageBytes(pageSize) * 1000) / copyBytesPerSecond };
  const destination =
    prealloc !== undefined || profile?.firstTouchUsPerPage !== undefined
      ? new SimDestinationMemory(pageCount, firstTouchMs, prealloc ?? false, (profile?.destinationFirstReadUsPerPage ?? 0) / 1000, load)
      : undefined;
  const ram = new SimGuestRam({
    clock,
    pageCount,
    pageSize,
    usedPages: Math.floor((vm.used ?? vm.memory) / pageSize),
    ...(profile?.idleLayout ? { layout: { shares: profile.idleLayout, workingSetPages: workload.kind === "idle" ? 0 : workload.workingSetPages } } : {}),
    writes: writeModel(workload, 0, new Random(seed)),
    rx,
    memoryReadBytesPerSecond: scenario.migration.multifd ? multifdPageReadBytesPerSecond(profile) : (profile?.pageReadBytesPerSecond ?? coreMemoryBytesPerSecond),
    ...(profile?.sourceFirstReadUsPerPage ? { firstReadMs: profile.sourceFirstReadUsPerPage / 1000 } : {}),
    destination,
  });
  const params = migrationParams(scenario);
  if (params.multifd && profile) {
    if (scenario.migration.hostCores === undefined && profile.hostCores) params.multifd.hostCores = profile.hostCores;
    if (profile.multifdQueueUsPerPage !== undefined) params.multifd.queueMsPerPage = profile.multifdQueueUsPerPage / 1000;
    if (profile.multifdSendBytesPerSecond !== undefined) params.multifd.sendBytesPerMs = profile.multifdSendBytesPerSecond / 1000;
  }
  // A profile measured on a QEMU predicts that QEMU, which looks at the threshold between iterations only.
  if (profile?.qemu) params.iterationMs = qemuIterationMs;
  if (options.iterationMs !== undefined) params.iterationMs = options.iterationMs;
  const autoConvergeSyncMs = profile?.qemu ? autoConvergeSyncMsOf(profile.qemu) : undefined;
  if (autoConvergeSyncMs) params.autoConvergeSyncMs = autoConvergeSyncMs;
  const memoryReadBytesPerSecond = profile?.pageReadBytesPerSecond ?? coreMemoryBytesPerSecond;
  const modeCosts = {
    vcpus: vm.vcpus,
    bytesPerWrite: w.kind === "idle" ? pageSize : Math.min(pageSize, w.bytesPerWrite ?? pageSize),
    memoryBytesPerMs: memoryReadBytesPerSecond / 1000,
    latencyMs: scenario.link.latency,
    ...(profile?.socketBufferBytes !== undefined ? { streamQueueBytes: profile.socketBufferBytes } : {}),
  };
  const env: MigrationEnv = { clock, ram, channel, devices, params, rxFramesPerSecond: rxSpec?.rate ?? 0, destinationMemory: destination, onProgress: options.onProgress, modeCosts };
  const finish = (timeline: Timeline) => {
    const probeInterval = scenario.probe?.interval;
    if (probeInterval !== undefined) probe(timeline, probeInterval, scenario.link.latency);
    return buildResult(timeline, { ramBytes: vmShape.ramBytes, pageSize, probeIntervalMs: probeInterval, params });
  };
  return { env, ram, finish };
}

/**
 * How fast multifd's channels read pages. A profile with multifd's fitted costs has the zero
 * check inside them (calibrate-multifd.ts): the read is free here, or it would count twice.
 */
function multifdPageReadBytesPerSecond(profile: MachineProfile | undefined): number {
  if (profile?.multifdSendBytesPerSecond !== undefined) return 0;
  return profile?.pageReadBytesPerSecond ?? coreMemoryBytesPerSecond;
}

/** The profile's fixed costs, as a participant with a setup and a switch-over hook. */
function machineCosts(setupMs: number, switchoverMs: number): Device {
  return {
    kind: "machine",
    dmaLogged: () => true,
    stateBytes: () => 0,
    setup: (ctx) => ctx.work("machine setup", "setup", "source", setupMs),
    load: (ctx) => ctx.work("machine switch-over", "switch-over", "destination", switchoverMs),
  };
}

function distinctPages(random: Random, pageCount: number, n: number): Uint32Array {
  const chosen = new Set<number>();
  while (chosen.size < n) chosen.add(random.below(pageCount));
  return Uint32Array.from(chosen);
}
