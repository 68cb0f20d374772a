// A vCPU thread (worker_threads). It writes guest pages as the scenario's workload says,
// marking each in the shared dirty log with Atomics (software dirty logging, as KVM does in
// hardware), and vCPU 0 runs the NIC driver. It parks when the hypervisor stops the vCPUs
// and sleeps a share of each 10 ms slice when auto-converge throttles it (cpu_throttle).

import { parentPort, workerData } from "node:worker_threads";
import { Random } from "../../sim/random.js";
import { writeModel, type WorkloadSpec } from "../../sim/workload.js";
import { Driver } from "./driver.js";
import { ctl, isBufferPage, lateNapMs, nicLayout, vcpuState, wordsPerPage } from "./layout.js";

export interface VcpuConfig {
  index: number;
  vcpus: number;
  ram: SharedArrayBuffer;
  log: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  pageCount: number;
  workload: WorkloadSpec;
  seed: number;
  mac: Uint8Array;
  /** vCPU 0 on a freshly booted guest: probe the NIC (post the receive buffers). */
  initDriver: boolean;
}

/** CPU_THROTTLE_TIMESLICE_NS */
const throttleSliceMs = 10;
/** Most page writes done in one go: a vCPU that falls behind does not catch up in a burst. */
const maxBurst = 4096;

const cfg = workerData as VcpuConfig;
const words = new Int32Array(cfg.ram);
const bytes = new Uint8Array(cfg.ram);
const log = new Int32Array(cfg.log);
const control = new Int32Array(cfg.ctl);
const wake = ctl.wake + cfg.index;

const mark = (page: number): void => {
  Atomics.or(log, page >>> 5, 1 << (page & 31));
};
let counter = 0;
const layout = nicLayout(cfg.pageCount);
// A page write: new data in the page, then its bit in the dirty log. The NIC's buffer pages
// are the driver's: a write the workload aims at one goes to the page after it.
const write = (target: number): void => {
  const page = isBufferPage(layout, target) ? target + 1 : target;
  counter = (counter + 1) | 0;
  words[page * wordsPerPage + (counter & (wordsPerPage - 1))] = counter | 1;
  mark(page);
};

const model = writeModel(cfg.workload, 0, new Random((cfg.seed + cfg.index * 7919) >>> 0));
const rate = model.rate / cfg.vcpus;
// The doorbell is a word the NIC's thread waits on (Atomics.waitAsync): ringing it costs no
// message, and reaches the NIC however busy the hypervisor's main thread is.
const kick = (): void => {
  Atomics.add(control, ctl.doorbell, 1);
  Atomics.notify(control, ctl.doorbell);
};
const driver = cfg.index === 0 ? new Driver(words, bytes, layout, cfg.mac, mark, kick) : undefined;
if (driver && cfg.initDriver) driver.init();

const now = () => performance.now();

/** Sleeps until `ms` pass or someone bumps this vCPU's wake word; counts a nap that ends late. */
function nap(ms: number): void {
  const seq = Atomics.load(control, wake);
  if (Atomics.load(control, ctl.state) !== vcpuState.running) return;
  const from = now();
  Atomics.wait(control, wake, seq, ms);
  const lateUs = Math.round((now() - from - ms) * 1000);
  if (lateUs > lateNapMs * 1000) {
    Atomics.add(control, ctl.lateNaps, 1);
    if (lateUs > Atomics.load(control, ctl.lateMaxUs)) Atomics.store(control, ctl.lateMaxUs, lateUs);
  }
}

/** The throttle's sleep: interrupts do not end it (they wait for the vCPU), a stop does. */
function throttleSleep(ms: number): void {
  const until = now() + ms;
  for (let left = ms; left > 0; left = until - now()) {
    const seq = Atomics.load(control, wake);
    if (Atomics.load(control, ctl.state) !== vcpuState.running) return;
    Atomics.wait(control, wake, seq, left);
  }
}

function park(): void {
  Atomics.add(control, ctl.parked, 1);
  Atomics.notify(control, ctl.parked);
  for (;;) {
    const seq = Atomics.load(control, wake);
    if (Atomics.load(control, ctl.state) !== vcpuState.stopped) break;
    Atomics.wait(control, wake, seq, 1000);
  }
  Atomics.sub(control, ctl.parked, 1);
  Atomics.notify(control, ctl.parked);
}

parentPort!.postMessage("ready");
let ranMs = 0;
let done = 0;
let last = now();
let sliceStart = last;
for (;;) {
  const state = Atomics.load(control, ctl.state);
  if (state === vcpuState.exiting) break;
  if (state === vcpuState.stopped) {
    park();
    last = sliceStart = now();
    continue;
  }
  const throttle = Atomics.load(control, ctl.throttlePpm) / 1e6;
  let t = now();
  if (throttle > 0 && t - sliceStart >= throttleSliceMs) {
    ranMs += t - last;
    throttleSleep((throttle / (1 - throttle)) * throttleSliceMs);
    last = sliceStart = t = now();
  }
  ranMs += t - last;
  last = t;
  if (rate > 0) {
    const due = Math.floor((ranMs * rate) / 1000) - done;
    if (due > 0) {
      model.write(Math.min(due, maxBurst), write);
      done += due;
    }
  }
  driver?.poll();
  nap(rate > 0 ? Math.min(5, Math.max(0.25, 8000 / rate)) : 50);
}
parentPort!.postMessage({ driver: driver?.stats });
