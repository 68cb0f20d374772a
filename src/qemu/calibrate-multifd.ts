// Fits multifd's two costs from idle one-channel multifd runs (QEMU 10.0, zero-page-detection
// multifd, the default): the migration thread only walks the dirty bitmap and queues each
// page's offset (ram_save_target_page_multifd, multifd_queue_page), and the channel thread
// checks each page for zero (multifd_send_zero_page_detect), then writev()s the packet straight
// from guest memory, which the destination's channel thread readv()s straight into its RAM
// (multifd_nocomp_send_prepare, multifd_nocomp_recv). With one channel the two threads work in
// a pipeline, so a page costs the larger of the two:
// - a zero page: the walk, or the check of what on the source is the kernel's shared zero page
//   (cheap). The fit cannot tell them apart; the whole cost is charged to the migration thread
//   (multifdQueueUsPerPage), which bounds its walk from above.
// - a normal page: the channel's check, writev and the destination's readv, its 4096 B and its
//   share of its packet's header and offsets (1344 / 128 B) at multifdSendBytesPerSecond.
// Runs with more channels are not used: on them the cores are shared (docs/model.md, multifd).
// Each run's cumulative polls plus its end (total-time less setup and the profile's switch-over:
// QEMU switches over early at multifd's rates, so much of the RAM goes in the final pass).

import { multifdPacketLen, multifdPacketPages } from "../core/multifd.js";
import type { MachineProfile } from "../sim/simulate.js";
import { CalibrationError, leastAbsolute, type Figure, type IdleRun } from "./calibrate.js";
import { measurementOf } from "./runs-file.js";

/** Why an idle multifd run cannot give multifd's costs, or nothing. */
export function multifdRunProblem(run: IdleRun): string | undefined {
  const m = run.scenario.migration;
  if (!m.multifd) return "not a multifd run";
  if (m.multifd.channels !== 1) return `multifd-channels ${m.multifd.channels}: the costs come from one-channel runs (with more, the threads share the cores)`;
  if (m.maxBandwidth > 0) return "max-bandwidth set: the costs come from uncapped runs";
  if (run.result.status !== "completed") return `status ${run.result.status}`;
  return undefined;
}

export interface MultifdFit {
  profile: Pick<MachineProfile, "multifdQueueUsPerPage" | "multifdSendBytesPerSecond">;
  figures: Figure[];
}

/**
 * multifd's costs from one-channel idle runs; `switchoverMs` and `sourceFirstReadUs` are the
 * precopy fit's (the simulator charges the latter to whichever thread reads the page: here the
 * channel's zero check, so it is not the migration thread's).
 */
export function fitMultifd(runs: IdleRun[], switchoverMs: number, sourceFirstReadUs = 0): MultifdFit {
  const points: { x: number[]; y: number; weight: number }[] = [];
  for (const r of runs) {
    const result = r.result;
    const setup = result["setup-time"];
    const samples = r.samples ?? measurementOf(result).samples ?? [];
    const mine = samples.filter((s) => s.t > setup).map((s) => ({ x: [s.duplicate, s.normal], y: s.t - setup }));
    mine.push({ x: [result.ram.duplicate, result.ram.normal], y: Math.max(0, result["total-time"] - setup - switchoverMs) });
    // Each run weighs the same, however many polls it had (calibrate.ts does the same).
    for (const p of mine) points.push({ ...p, weight: 1 / mine.length });
  }
  if (points.length <= 2) throw new CalibrationError(`cannot fit multifd: ${points.length} point(s) from one-channel idle multifd runs, at least 3 needed`);
  const c = leastAbsolute(points, 2);
  if (!c) throw new CalibrationError("cannot fit multifd: zero and normal pages come in the same proportion in every poll of the one-channel runs");
  const [zeroMs, normalMs] = c;
  // A zero page's fitted cost, less the first read charged to the channel, may come out a little below 0 where it is lost in the noise.
  const queueUs = Math.max(0, zeroMs * 1000 - sourceFirstReadUs);
  // A normal page's bytes on the wire in a full packet: its own and its share of the packet's header and offset slots.
  const pageBytes = 4096 + multifdPacketLen(4096) / multifdPacketPages(4096);
  // The simulator puts each packet on the scenario's link after its channel's work: the
  // channel's own share is what the page took less its time on the link.
  const linkBytesPerMs = Math.min(...runs.map((r) => r.scenario.link.bandwidth)) / 1000;
  const channelMs = normalMs - pageBytes / linkBytesPerMs;
  if (!(channelMs > 0)) throw new CalibrationError(`cannot fit multifd: a normal page fitted at ${(normalMs * 1000).toFixed(3)} us, no more than its time on the scenario's link`);
  const sendBytesPerSecond = (pageBytes * 1000) / channelMs;
  const support = runs.length;
  return {
    profile: { multifdQueueUsPerPage: queueUs, multifdSendBytesPerSecond: sendBytesPerSecond },
    figures: [
      { name: "multifd migration thread per page", value: queueUs, unit: "us", support, supportUnit: "runs" },
      { name: "multifd channel per normal page", value: channelMs * 1000, unit: "us", support, supportUnit: "runs" },
    ],
  };
}
