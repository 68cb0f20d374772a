// The emulated guest: RAM as a SharedArrayBuffer, a shared dirty log, and vCPU threads.
// The hypervisor side (this class) stops and resumes them for real, throttles them, reads
// and clears the dirty log. The NIC (its own thread, nic-worker.ts) shares the RAM, the dirty
// log and the control words: it raises its interrupt by waking vCPU 0, and the driver rings
// its doorbell there.

import { Worker } from "node:worker_threads";
import { PageBitmap } from "../../core/bitmap.js";
import type { WorkloadSpec } from "../../sim/workload.js";
import { ctl, ctlWords, nicLayout, pageSize, vcpuState, wordsPerPage, type NicLayout } from "./layout.js";
import { ramBuffer } from "./pages.js";
import type { VcpuConfig } from "./vcpu.js";

export interface GuestOptions {
  pageCount: number;
  vcpus: number;
  workload: WorkloadSpec;
  seed: number;
  mac: Uint8Array;
  /** Source: pages [0, usedPages) hold data at boot and the driver probes the NIC. */
  boot?: { usedPages: number };
  /** Destination: the vCPUs exist but stay stopped until the migration completes. */
  startStopped?: boolean;
}

/** How long a stop may wait for the vCPUs to park before the guest is declared hung. */
const parkTimeoutMs = 2000;

export class Guest {
  readonly pageCount: number;
  readonly ram: SharedArrayBuffer;
  readonly words: Int32Array;
  readonly bytes: Uint8Array;
  /** The same memory as a Buffer, for memcmp and copies. */
  readonly buffer: Buffer;
  readonly nic: NicLayout;
  /** One bit per page, set by whoever writes it (vCPUs; the NIC when its DMA is logged). */
  readonly log: Int32Array;
  /** The control words (layout.ts `ctl`), shared with the vCPU and NIC threads. */
  readonly control: Int32Array;
  private readonly scratch: PageBitmap;
  private readonly workers: Worker[] = [];
  private running: boolean;

  private constructor(readonly options: GuestOptions) {
    this.pageCount = options.pageCount;
    this.ram = new SharedArrayBuffer(options.pageCount * pageSize);
    this.words = new Int32Array(this.ram);
    this.bytes = new Uint8Array(this.ram);
    this.buffer = ramBuffer(this.ram);
    this.nic = nicLayout(options.pageCount);
    this.log = new Int32Array(new SharedArrayBuffer(Math.ceil(options.pageCount / 32) * 4));
    this.control = new Int32Array(new SharedArrayBuffer(ctlWords * 4));
    this.scratch = new PageBitmap(options.pageCount);
    this.running = !options.startStopped;
    Atomics.store(this.control, ctl.state, this.running ? vcpuState.running : vcpuState.stopped);
  }

  static async create(options: GuestOptions): Promise<Guest> {
    const guest = new Guest(options);
    if (options.boot) guest.fill(options.boot.usedPages);
    await guest.spawnVcpus();
    if (options.startStopped) guest.waitParked(options.vcpus);
    return guest;
  }

  /**
   * Boot-time contents: every used page holds data (its number, so no two pages are alike). The
   * rest is read once, so that the kernel maps it (to its shared zero page: nothing is
   * allocated), as the RAM of a guest that has run is mapped. Left unmapped, the first pass's
   * zero check took a read fault per page on the sending path: 2.6 s for 256 MiB at load 13 on
   * this VM, 59 ms once mapped (docs/live.md, "Fifth round").
   */
  private fill(usedPages: number): void {
    const used = Math.min(usedPages, this.nic.base);
    for (let p = 0; p < used; p++) this.words[p * wordsPerPage] = p + 1;
    for (let p = used; p < this.pageCount; p++) Atomics.load(this.words, p * wordsPerPage);
  }

  private async spawnVcpus(): Promise<void> {
    const o = this.options;
    const ready: Promise<void>[] = [];
    for (let index = 0; index < o.vcpus; index++) {
      const data: VcpuConfig = {
        index, vcpus: o.vcpus, ram: this.ram, log: this.log.buffer as SharedArrayBuffer, ctl: this.control.buffer as SharedArrayBuffer,
        pageCount: o.pageCount, workload: o.workload, seed: o.seed, mac: o.mac, initDriver: !!o.boot,
      };
      const worker = new Worker(new URL("./vcpu.js", import.meta.url), { workerData: data });
      ready.push(
        new Promise((resolve, reject) => {
          worker.once("error", reject);
          worker.on("message", (m) => (m === "ready" ? resolve() : undefined));
        }),
      );
      this.workers.push(worker);
    }
    await Promise.all(ready);
  }

  get vcpusRunning(): boolean {
    return this.running;
  }

  private wake(vcpu: number): void {
    Atomics.add(this.control, ctl.wake + vcpu, 1);
    Atomics.notify(this.control, ctl.wake + vcpu);
  }

  private wakeAll(): void {
    for (let i = 0; i < this.workers.length; i++) this.wake(i);
  }

  /** pause_all_vcpus: returns once every vCPU has parked (blocking, as QEMU's does). */
  stop(): void {
    if (!this.running) return;
    Atomics.store(this.control, ctl.state, vcpuState.stopped);
    this.wakeAll();
    this.waitParked(this.workers.length);
    this.running = false;
  }

  private waitParked(n: number): void {
    const deadline = performance.now() + parkTimeoutMs;
    for (let p = Atomics.load(this.control, ctl.parked); p < n; p = Atomics.load(this.control, ctl.parked)) {
      if (performance.now() > deadline) throw new Error(`vCPUs did not stop within ${parkTimeoutMs} ms (${p} of ${n} parked)`);
      Atomics.wait(this.control, ctl.parked, p, 20);
    }
  }

  resume(): void {
    if (this.running) return;
    Atomics.store(this.control, ctl.state, vcpuState.running);
    this.wakeAll();
    this.running = true;
  }

  /** Fraction of each time slice the vCPUs sleep (auto-converge). */
  setThrottle(fraction: number): void {
    Atomics.store(this.control, ctl.throttlePpm, Math.round(fraction * 1e6));
    this.wakeAll();
  }

  /** vCPU naps that ended late (the thread waited for a core), since the last clear. */
  lateNaps(): { count: number; maxMs: number } {
    return { count: Atomics.load(this.control, ctl.lateNaps), maxMs: Atomics.load(this.control, ctl.lateMaxUs) / 1000 };
  }

  clearLateNaps(): void {
    Atomics.store(this.control, ctl.lateNaps, 0);
    Atomics.store(this.control, ctl.lateMaxUs, 0);
  }

  clearDirtyLog(): void {
    for (let i = 0; i < this.log.length; i++) Atomics.store(this.log, i, 0);
  }

  /**
   * Read-and-clear of the dirty log into `into`; returns the pages newly set there. `taken`
   * sees the words read (the pages written since the last sync) before they are merged.
   */
  syncDirtyLog(into: PageBitmap, taken?: (words: Uint32Array) => void): number {
    const words = this.scratch.words;
    for (let i = 0; i < this.log.length; i++) words[i] = Atomics.load(this.log, i) === 0 ? 0 : Atomics.exchange(this.log, i, 0);
    taken?.(words);
    return into.takeFrom(this.scratch);
  }

  async shutdown(): Promise<void> {
    Atomics.store(this.control, ctl.state, vcpuState.exiting);
    this.wakeAll();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
