// The emulated NIC, as the hypervisor drives it. Its data path (receive by DMA into guest
// RAM, transmit from the driver's ring) runs in a thread of its own, nic-worker.ts; this
// handle shares with it a block of registers (state, DMA logging, ring positions, counters)
// and tells it what to announce.
//
// States: `running` moves frames; `link-down` (a strategy's "network down", e.g. the
// restart into shadow virtqueues) and `suspended` (stopped for the switch-over) drop what
// arrives, and hold what is to be sent until the NIC runs again. Leaving `running` returns
// only once no DMA is in flight (see nic-worker.ts), so a suspend is as final as QEMU's.

import { Worker } from "node:worker_threads";
import type { Guest } from "./guest/guest.js";
import { ctl } from "./guest/layout.js";

export interface NicOptions {
  mac: Uint8Array;
  switchAddress: { host: string; port: number };
  /** Whether this NIC's DMA writes reach the dirty log now (the strategy's `dmaLogged`). */
  dmaLogged: () => boolean;
}

export type NicState = "suspended" | "running" | "link-down";

/** What the destination needs to carry on where the source NIC stopped (virtio's vmstate). */
export interface NicDeviceState {
  rxNext: number;
  txNext: number;
}

/** The shared registers (an Int32Array), by index. */
export const nicReg = {
  state: 0,
  /** 1 while the NIC's thread touches guest RAM */
  busy: 1,
  /** 1 while its DMA writes are to be marked in the dirty log */
  dmaLogged: 2,
  rxNext: 3,
  txNext: 4,
  rx: 5,
  rxDropped: 6,
  rxUnlogged: 7,
  tx: 8,
} as const;
const regCount = 16;
export const nicRun = { suspended: 0, running: 1, linkDown: 2 } as const;
const stateNames: NicState[] = ["suspended", "running", "link-down"];

export interface NicWorkerData {
  ram: SharedArrayBuffer;
  log: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  regs: SharedArrayBuffer;
  pageCount: number;
  mac: Uint8Array;
  switchAddress: { host: string; port: number };
}

export type NicCommand = { cmd: "announce"; delays: number[] };

/** How long leaving `running` may wait for a DMA in flight before the NIC is declared hung. */
const quiesceTimeoutMs = 2000;

export class Nic {
  private readonly regs = new Int32Array(new SharedArrayBuffer(regCount * 4));
  private worker: Worker | undefined;

  constructor(
    private readonly guest: Guest,
    private readonly o: NicOptions,
  ) {}

  /** Starts the NIC's thread (suspended) and binds its socket. */
  async open(): Promise<void> {
    this.syncDmaLogged();
    const data: NicWorkerData = {
      ram: this.guest.ram,
      log: this.guest.log.buffer as SharedArrayBuffer,
      ctl: this.guest.control.buffer as SharedArrayBuffer,
      regs: this.regs.buffer as SharedArrayBuffer,
      pageCount: this.guest.pageCount,
      mac: this.o.mac,
      switchAddress: this.o.switchAddress,
    };
    const worker = new Worker(new URL("./nic-worker.js", import.meta.url), { workerData: data });
    await new Promise<void>((resolve, reject) => {
      worker.once("error", reject);
      worker.once("message", () => resolve());
    });
    this.worker = worker;
  }

  get state(): NicState {
    return stateNames[Atomics.load(this.regs, nicReg.state)];
  }

  get stats(): { rx: number; rxDropped: number; rxUnlogged: number; tx: number } {
    const r = (i: number) => Atomics.load(this.regs, i);
    return { rx: r(nicReg.rx), rxDropped: r(nicReg.rxDropped), rxUnlogged: r(nicReg.rxUnlogged), tx: r(nicReg.tx) };
  }

  /** Re-reads the strategy's `dmaLogged` into the register the NIC's thread checks per write. */
  syncDmaLogged(): void {
    Atomics.store(this.regs, nicReg.dmaLogged, this.o.dmaLogged() ? 1 : 0);
  }

  /** Starts (or restarts) moving frames: first whatever the driver queued meanwhile. */
  run(): void {
    this.syncDmaLogged();
    Atomics.store(this.regs, nicReg.state, nicRun.running);
    Atomics.add(this.guest.control, ctl.doorbell, 1);
    Atomics.notify(this.guest.control, ctl.doorbell);
  }

  suspend(): void {
    Atomics.store(this.regs, nicReg.state, nicRun.suspended);
    this.quiesce();
  }

  linkDown(): void {
    if (Atomics.compareExchange(this.regs, nicReg.state, nicRun.running, nicRun.linkDown) === nicRun.running) this.quiesce();
  }

  /** qemu_announce_self: a broadcast RARP from the guest's MAC after each delay (ms from now). */
  announce(delays: number[] = [0]): void {
    this.worker?.postMessage({ cmd: "announce", delays } satisfies NicCommand);
  }

  saveState(): NicDeviceState {
    return { rxNext: Atomics.load(this.regs, nicReg.rxNext), txNext: Atomics.load(this.regs, nicReg.txNext) };
  }

  loadState(s: NicDeviceState): void {
    Atomics.store(this.regs, nicReg.rxNext, s.rxNext | 0);
    Atomics.store(this.regs, nicReg.txNext, s.txNext | 0);
  }

  async close(): Promise<void> {
    Atomics.store(this.regs, nicReg.state, nicRun.suspended);
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  /** Waits until the NIC's thread is not touching guest RAM (it will not start again). */
  private quiesce(): void {
    const deadline = performance.now() + quiesceTimeoutMs;
    while (Atomics.load(this.regs, nicReg.busy) !== 0) {
      if (performance.now() > deadline) throw new Error(`the NIC did not quiesce within ${quiesceTimeoutMs} ms`);
      Atomics.wait(this.regs, nicReg.busy, 1, 5);
    }
  }
}
