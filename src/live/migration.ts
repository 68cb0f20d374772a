// One live migration: the guest network, a running source guest with its NIC, a destination
// (a local process, or `--dest`), and QEMU's precopy driven by the same controller as the
// simulator, through the wall-clock ports. Every figure comes from the timeline, as in a
// simulation, plus what was measured for real: the prober's gaps and the page comparison.

import { migrate } from "../core/controller.js";
import type { Device } from "../core/device.js";
import { buildResult, type DestinationHost, type MigrationResult, type SourceHost } from "../core/result.js";
import { Timeline } from "../core/timeline.js";
import { qemuIterationMs } from "../core/params.js";
import { createDevices, migrationParams } from "../scenario/assemble.js";
import type { Scenario } from "../scenario/schema.js";
import type { WorkloadSpec } from "../sim/workload.js";
import { WallClock } from "./clock.js";
import { liveDevice } from "./device.js";
import { Fabric } from "./fabric.js";
import { Guest } from "./guest/guest.js";
import type { PinTimes } from "./guest/pinner.js";
import { RamHasher } from "./guest/hasher.js";
import { nicLayout, pageSize } from "./guest/layout.js";
import { startLocalDestination, type LocalDestination } from "./local-destination.js";
import { HostLoadMonitor, starvationWarning } from "./host-load.js";
import { Nic } from "./nic.js";
import { addProbeGaps, answered } from "./prober.js";
import { MultifdChannels, readMultifdStats } from "./multifd.js";
import { LiveChannel, LiveGuestRam, SourceSession } from "./source.js";
import { measureZeroCheck } from "./zero-probe.js";

export interface LiveRunOptions {
  /** A destination started with `livemig dest`; by default one is started on loopback. */
  dest?: { host: string; port: number };
  secret?: Buffer;
  seed?: number;
  onProgress?: (p: { pass: number; remainingBytes: number; bandwidth: number; t: number }) => void;
  /** For tests of the refusal path: speak another protocol version. */
  protocolVersion?: number;
  /**
   * Which of the scenario's link properties the sender emulates (token bucket, delay line).
   * Default both; across hosts whose network is itself the link (tc-shaped), fewer or none.
   */
  emulateLink?: LinkEmulation;
  /** The peer deadline on both sides (ms; default defaultPeerTimeoutMs): silence this long fails the migration. */
  peerTimeoutMs?: number;
  /** Wall-clock time (epoch ms) to start the migration at, after the warm-up: runs started together. */
  startAt?: number;
  /**
   * Compare every page at switch-over (`run --verify all`), hashing each page both sides move
   * beside the stream; by default only the NIC's pages, which is exact for stale pages (source.ts).
   */
  verifyAllPages?: boolean;
}

export type LinkEmulation = "both" | "bandwidth" | "latency" | "none";

export const guestMac = "52:54:00:12:34:56";
/** The guest runs (writing, answering pings) this long before the migration starts. */
const warmUpMs = 300;
/** After a failure: how long the prober checks that the source guest still answers. */
const livenessCheckMs = 300;

/**
 * The pinning thread is always runnable, so where it has a core it waits next to nothing; the
 * prediction gives it one. Waiting more than this share of its time, it shared a core with the
 * run's other threads (docs/live.md, eleventh round: 15-18 % on this 2-core machine).
 */
const pinWaitShare = 0.1;

function pinWaitWarning(t: PinTimes): string | undefined {
  if (t.waitMs <= pinWaitShare * t.wallMs) return undefined;
  return `the destination's pinning waited ${t.waitMs.toFixed(0)} ms for a core, ${((100 * t.waitMs) / t.wallMs).toFixed(0)} % of its ${t.wallMs.toFixed(0)} ms (${t.cpuMs.toFixed(0)} ms of CPU): a prediction gives the pinning a core of its own, so here it ends later than predicted`;
}

export async function runLive(scenario: Scenario, o: LiveRunOptions = {}): Promise<MigrationResult> {
  const clock = new WallClock();
  const { vm } = scenario;
  const seed = o.seed ?? scenario.seed ?? 1;
  const pageCount = Math.floor(vm.memory / pageSize);
  const layout = nicLayout(pageCount);
  const vmShape = { ramBytes: pageCount * pageSize, pageSize, vcpus: vm.vcpus };
  const devices: Device[] = createDevices(scenario, vmShape);
  const w = vm.workload;
  // The working set stays below the NIC's region: the driver's buffers are not the workload's.
  const workload: WorkloadSpec =
    w.kind === "idle" ? { kind: "idle" } : { ...w, workingSetPages: Math.max(1, Math.min(layout.base, Math.floor(w.workingSet / pageSize))) };
  const probeInterval = scenario.probe?.interval ?? 1;
  const cleanup: (() => unknown)[] = [];
  try {
    // This host's zero check now, before this process starts its other threads (the figure is its CPU time).
    const zeroCheck = await measureZeroCheck();
    const sourceHost: SourceHost = { "zero-check-us": zeroCheck.cpuUs, "zero-check-wall-us": zeroCheck.wallUs };
    const fabric = await Fabric.start(o.dest ? "0.0.0.0" : "127.0.0.1");
    cleanup.push(() => fabric.close());
    const mac = Uint8Array.from(guestMac.split(":").map((h) => parseInt(h, 16)));
    const guest = await Guest.create({ pageCount, vcpus: vm.vcpus, workload, seed, mac, boot: { usedPages: Math.floor((vm.used ?? vm.memory) / pageSize) } });
    cleanup.push(() => guest.shutdown());
    const nic = new Nic(guest, { mac, switchAddress: { host: "127.0.0.1", port: fabric.port }, dmaLogged: () => devices[0].dmaLogged() });
    await nic.open();
    cleanup.push(() => nic.close());
    nic.run();
    nic.announce(); // the switch learns where the guest is
    fabric.probe(guestMac, probeInterval);
    if (w.rx && w.rx.rate > 0) fabric.traffic(guestMac, w.rx.rate, w.rx.size);

    let local: LocalDestination | undefined;
    if (!o.dest) {
      local = await startLocalDestination("127.0.0.1", o.peerTimeoutMs);
      cleanup.push(async () => {
        const timer = setTimeout(() => local!.stop(), 2000);
        await local!.exited;
        clearTimeout(timer);
      });
    }
    await clock.sleep(warmUpMs);

    let timeline: Timeline;
    let monitor: HostLoadMonitor | undefined;
    let session: SourceSession | undefined;
    let ram: LiveGuestRam | undefined;
    let destination: DestinationHost | undefined;
    let multifd: MultifdChannels | undefined;
    try {
      const emulate = o.emulateLink ?? "both";
      const shape = {
        bandwidth: emulate === "both" || emulate === "bandwidth" ? scenario.link.bandwidth : Infinity,
        latencyMs: emulate === "both" || emulate === "latency" ? scenario.link.latency : 0,
        time: { nextFree: 0 }, // one link, whatever connections cross it (multifd's channels)
      };
      const address = o.dest ?? local!.address;
      const secret = o.secret ?? local!.secret;
      session = await SourceSession.open(address, secret, shape, o.protocolVersion, o.peerTimeoutMs);
      const switchHost = o.dest ? (session.conn.socket.localAddress ?? "127.0.0.1").replace(/^::ffff:/, "") : "127.0.0.1";
      const prealloc = scenario.migration.destinationPrealloc === true;
      const params = migrationParams(scenario);
      // QEMU looks at the threshold once ram_save_iterate returns (MAX_WAIT, 50 ms), not after
      // each slice: a live slice ends after 2 ms of walking (sliceBuildMs), so per-slice checks
      // met the threshold inside a pass's zero tail, which QEMU and the simulator walk past.
      params.iterationMs = qemuIterationMs;
      const channels = params.multifd?.channels;
      const dest = await session.config({
        pageCount, vcpus: vm.vcpus, workload, seed, mac: guestMac, switch: { host: switchHost, port: fabric.port },
        ...(prealloc ? { prealloc } : {}), ...(channels ? { multifdChannels: channels } : {}), ...(o.verifyAllPages ? { verifyAllPages: true } : {}),
      });
      destination = {
        "first-touch-us": dest.firstTouch.cpuUs,
        "first-touch-wall-us": dest.firstTouch.wallUs,
        "first-touch-probe-pages": dest.firstTouch.pages,
        "apply-us": dest.apply.cpuUs,
        "apply-wall-us": dest.apply.wallUs,
        ...(dest.preallocMs !== undefined ? { "prealloc-ms": dest.preallocMs } : {}),
      };
      if (params.multifd) {
        const opened = await MultifdChannels.open({ address, secret, shape, migrationId: session.migrationId, channels: params.multifd.channels, version: o.protocolVersion, deadlineMs: o.peerTimeoutMs });
        multifd = opened;
        cleanup.push(() => opened.close());
        // The channels' work runs on this machine's cores for real: no modelled sharing of cores on top.
        params.multifd.hostCores = Infinity;
      }
      const hasher = new RamHasher(guest, o.verifyAllPages === true);
      cleanup.push(() => hasher.close());
      const liveRam = new LiveGuestRam(guest, session, hasher, params.announce, o.verifyAllPages === true);
      ram = liveRam;
      const s = session;
      // Several guests evacuated at once start together, however long each took to boot and
      // its destination to set up (the session is open, the guest runs meanwhile).
      if (o.startAt !== undefined && o.startAt > clock.now()) await clock.sleep(o.startAt - clock.now());
      monitor = new HostLoadMonitor(guest);
      // multifd: every channel drained (all applied at the destination) before the pages are compared.
      const channel = new LiveChannel(session, () => nic.saveState(), async () => {
        await multifd?.drain();
        await liveRam.verify();
      });
      timeline = await migrate({
        clock,
        ram,
        channel,
        ...(multifd ? { multifdChannels: multifd.channels } : {}),
        devices: devices.map((d) => liveDevice(d, { guest, nic, session: s, applied: () => channel.applied() })),
        params,
        rxFramesPerSecond: w.rx?.rate ?? 0,
        onProgress: o.onProgress,
      });
    } catch (e) {
      timeline = failedTimeline(clock.now(), (e as Error).message);
    }
    const host = monitor?.stop();
    if (ram?.verifyWait) {
      // The page comparison is this engine's instrument, not QEMU's: shown as its own share of
      // the downtime (inside the device-state span, whose drain it follows).
      timeline.add({ t: ram.verifyWait.t, kind: "span", end: ram.verifyWait.end, name: "compare page hashes", component: "verify", side: "source" });
    }
    const start = timeline.events[0].t;
    const end = timeline.last("end")?.t ?? clock.now();
    const status = timeline.last("status")?.status;
    let liveness: { sent: number; answered: number } | undefined;
    let restoredAt = 0;
    let endProblem: string | undefined;
    if (status === "failed") {
      session?.abandon(timeline.last("status")?.reason ?? "failed");
      // A failed migration leaves the source running: vCPUs, throttle and NIC as before.
      guest.resume();
      guest.setThrottle(0);
      if (nic.state !== "running") nic.run();
      restoredAt = clock.now();
      await clock.sleep(livenessCheckMs);
    } else if (session) {
      // The guest runs at the destination by now: a lost End costs only the destination's NIC counters.
      endProblem = await session.end().then(
        (reply) => {
          const applied = multifd && readMultifdStats(reply, multifd.channels.length);
          if (applied && destination) destination["multifd-channels"] = applied;
          return undefined;
        },
        (e: Error) => e.message,
      );
    }
    const { record } = await fabric.stopProbe();
    let resumedAnswers: { sent: number; answered: number } | undefined;
    if (status === "failed") {
      liveness = answered(record, restoredAt, clock.now());
      // The gaps the guest saw, through the failure and the source's resumption.
      addProbeGaps(timeline, record, start, clock.now());
    } else {
      addProbeGaps(timeline, record, start, end);
      const resumed = timeline.last("vm-resume")?.t;
      // The controller ends after the announce rounds (800 ms): time enough to be answered.
      if (resumed !== undefined) resumedAnswers = answered(record, resumed, end);
    }

    const result = buildResult(timeline, { ramBytes: vmShape.ramBytes, pageSize, probeIntervalMs: probeInterval, params: migrationParams(scenario) });
    if (host) {
      result.host = host;
      const starved = starvationWarning(host);
      if (starved) result.warnings.push(starved);
    }
    if (destination) result.destination = destination;
    // Preallocated, the Pin reply carries the preallocation's times (prealloc-ms): not pinning's.
    const pin = scenario.migration.destinationPrealloc ? undefined : session?.pinTimes;
    if (destination && pin) {
      Object.assign(destination, { "pin-ms": pin.wallMs, "pin-cpu-ms": pin.cpuMs, "pin-wait-ms": pin.waitMs, "pin-faults": pin.faults });
      const waited = pinWaitWarning(pin);
      if (waited) result.warnings.push(waited);
    }
    result.source = ram && ram.zeroWalk.pages > 0
      ? { ...sourceHost, "walk-zero-pages": ram.zeroWalk.pages, "walk-zero-check-us": (ram.zeroWalk.ms * 1000) / ram.zeroWalk.pages }
      : sourceHost;
    result["started-at"] = start;
    if (resumedAnswers && resumedAnswers.sent > 0 && resumedAnswers.answered === 0) {
      result.warnings.push(
        `the guest answered none of ${resumedAnswers.sent} pings after it resumed at the destination: can the destination reach the guest network's switch (UDP port ${fabric.port} on this host)?`,
      );
    }
    if (endProblem) result.warnings.push(`the session did not end cleanly after the guest resumed at the destination: ${endProblem}`);
    if (ram?.resent) {
      result.warnings.push(
        `this run re-sent the ${ram.resent} differing pages and compared them again before the destination resumed the guest; QEMU, which does not compare, would not have`,
      );
    }
    if (liveness) {
      result.warnings.push(
        liveness.answered > 0
          ? `the source guest kept running: it answered ${liveness.answered} of ${liveness.sent} pings after the failure`
          : `the source guest did not answer any of ${liveness.sent} pings after the failure`,
      );
    }
    return result;
  } finally {
    for (const f of cleanup.reverse()) await f();
  }
}

/** A migration that failed before (or outside) the controller: setup, then failed with the reason. */
function failedTimeline(t: number, reason: string): Timeline {
  const timeline = new Timeline();
  timeline.add({ t, kind: "status", status: "setup" });
  timeline.add({ t, kind: "status", status: "failed", reason });
  timeline.add({ t, kind: "end", counters: { transferred: 0, duplicate: 0, normal: 0, normalBytes: 0, precopyBytes: 0, downtimeBytes: 0 } });
  return timeline;
}
