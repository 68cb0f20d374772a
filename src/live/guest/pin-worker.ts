// Pins the destination's guest RAM in a thread of its own (touchPages on every page), as the
// kernel's pinning runs on a core beside QEMU's incoming migration: the RAM stream keeps being
// applied on the main thread meanwhile.

import { readFileSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { touchPages } from "./pages.js";
import type { PinTimes } from "./pinner.js";
import { threadLoaded } from "./thread.js";

const { ram, pageCount } = workerData as { ram: SharedArrayBuffer; pageCount: number };
const words = new Int32Array(ram);

/** This thread's CPU time and run-queue wait so far (Linux schedstat), ms; undefined elsewhere. */
function schedstat(): [number, number] | undefined {
  try {
    const [cpuNs, waitNs] = readFileSync("/proc/thread-self/schedstat", "utf8").trim().split(/\s+/).map(Number);
    return [cpuNs / 1e6, waitNs / 1e6];
  } catch {
    return undefined;
  }
}

/** This thread's minor page faults so far (Linux /proc/thread-self/stat); undefined elsewhere. */
function minorFaults(): number | undefined {
  try {
    const stat = readFileSync("/proc/thread-self/stat", "utf8");
    // Fields after the command name (which may hold spaces): state is field 3, minflt field 10.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]);
  } catch {
    return undefined;
  }
}

parentPort!.on("message", () => {
  const before = schedstat();
  const faultsBefore = minorFaults();
  const t = performance.now();
  touchPages(words, 0, pageCount);
  const wallMs = performance.now() - t;
  const after = schedstat();
  const faultsAfter = minorFaults();
  const times: PinTimes | undefined = before && after && faultsBefore !== undefined && faultsAfter !== undefined
    ? { wallMs, cpuMs: after[0] - before[0], waitMs: after[1] - before[1], faults: faultsAfter - faultsBefore }
    : undefined;
  parentPort!.postMessage(times ?? null);
});
threadLoaded();
