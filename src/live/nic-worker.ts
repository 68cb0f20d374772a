// The emulated NIC's data path, in a thread of its own (nic.ts is the hypervisor's handle on
// it), so that the migration's long synchronous steps on the main thread (zero checks, page
// copies, the dirty-log sync) do not hold up frames: as a NIC's DMA engine does not wait for
// the hypervisor. It is attached to the guest network's switch by a UDP socket; received
// frames are written by "DMA" into the driver's receive buffers in guest RAM, and reach the
// dirty log only while the shared `dmaLogged` register says so (the strategy's). Frames the
// driver queued on the transmit ring go out when it rings the doorbell (a word of the guest's
// control block this thread waits on with Atomics.waitAsync).
//
// Quiescing: every touch of guest RAM happens between `busy = 1` and `busy = 0`, after
// checking that the state register says running. The hypervisor stores the new state, then
// waits for `busy == 0` (nic.ts `quiesce`); Atomics are sequentially consistent, so once it
// returns no DMA is in flight and none will start: what the final dirty sync sees is final.

import { createSocket } from "node:dgram";
import { parentPort, workerData } from "node:worker_threads";
import { frameType, rarpFrame } from "./frame.js";
import { bufferBytes, ctl, lensWord, nicLayout, pageSize, rxBufferOffset, rxEntries, txBufferOffset, txEntries, wordsPerPage } from "./guest/layout.js";
import { nicReg, nicRun, type NicCommand, type NicWorkerData } from "./nic.js";

type WaitAsync = (a: Int32Array, index: number, value: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

const d = workerData as NicWorkerData;
const words = new Int32Array(d.ram);
const bytes = new Uint8Array(d.ram);
const log = new Int32Array(d.log);
const control = new Int32Array(d.ctl);
const regs = new Int32Array(d.regs);
const nic = nicLayout(d.pageCount);
/** Frames to send once the NIC runs (announcements made while the link is down). */
let held: Uint8Array[] = [];

const socket = createSocket("udp4");
socket.on("message", (m) => receive(new Uint8Array(m.buffer, m.byteOffset, m.length)));
await new Promise<void>((resolve, reject) => {
  socket.once("error", reject);
  socket.bind(0, undefined, () => resolve());
});
socket.on("error", () => undefined); // a send to a vanished switch is a lost frame

const count = (r: number) => Atomics.add(regs, r, 1);

/** Starts a touch of guest RAM if the NIC runs; false (and nothing touched) otherwise. */
function enter(): boolean {
  Atomics.store(regs, nicReg.busy, 1);
  if (Atomics.load(regs, nicReg.state) === nicRun.running) return true;
  leave();
  return false;
}

function leave(): void {
  Atomics.store(regs, nicReg.busy, 0);
  Atomics.notify(regs, nicReg.busy);
}

function dma(page: number): void {
  if (Atomics.load(regs, nicReg.dmaLogged) !== 0) Atomics.or(log, page >>> 5, 1 << (page & 31));
}

/** The NIC's interrupt: wakes vCPU 0, which runs the driver. */
function interrupt(): void {
  Atomics.add(control, ctl.wake, 1);
  Atomics.notify(control, ctl.wake);
}

function receive(frame: Uint8Array): void {
  if (frame.length > bufferBytes || frameType(frame) < 0 || !enter()) {
    count(nicReg.rxDropped);
    return;
  }
  try {
    const rxNext = Atomics.load(regs, nicReg.rxNext);
    const availWord = nic.rxAvailPage * wordsPerPage;
    if (((rxNext - Atomics.load(words, availWord)) | 0) >= 0) {
      count(nicReg.rxDropped); // no buffer posted
      return;
    }
    const slot = (rxNext >>> 0) % rxEntries;
    const at = rxBufferOffset(nic, slot);
    bytes.set(frame, at);
    dma(Math.floor(at / pageSize));
    const used = nic.rxUsedPage * wordsPerPage;
    words[used + lensWord + slot] = frame.length;
    const next = (rxNext + 1) | 0;
    Atomics.store(regs, nicReg.rxNext, next);
    Atomics.store(words, used, next);
    dma(nic.rxUsedPage);
    if (Atomics.load(regs, nicReg.dmaLogged) === 0) count(nicReg.rxUnlogged);
    count(nicReg.rx);
  } finally {
    leave();
  }
  interrupt();
}

function transmit(): void {
  if (!enter()) return;
  try {
    let txNext = Atomics.load(regs, nicReg.txNext);
    const availWord = nic.txAvailPage * wordsPerPage;
    const avail = Atomics.load(words, availWord);
    let pending = (avail - txNext) | 0;
    if (pending < 0 || pending > txEntries) pending = 0; // a ring that cannot be: send nothing
    for (; pending > 0; pending--) {
      const slot = (txNext >>> 0) % txEntries;
      const len = words[availWord + lensWord + slot];
      if (len >= 14 && len <= bufferBytes) {
        const at = txBufferOffset(nic, slot);
        send(bytes.slice(at, at + len));
      }
      txNext = (txNext + 1) | 0;
    }
    Atomics.store(regs, nicReg.txNext, txNext);
    const used = nic.txUsedPage * wordsPerPage;
    if (Atomics.load(words, used) !== txNext) {
      Atomics.store(words, used, txNext);
      dma(nic.txUsedPage);
    }
  } finally {
    leave();
  }
}

function send(frame: Uint8Array): void {
  count(nicReg.tx);
  socket.send(frame, d.switchAddress.port, d.switchAddress.host);
}

/** qemu_announce_self: a broadcast RARP from the guest's MAC, so the switch learns its port. */
function announce(): void {
  const f = rarpFrame(d.mac);
  if (Atomics.load(regs, nicReg.state) === nicRun.running) send(f);
  else held.push(f);
}

/** Woken by the doorbell (the driver queued frames, or the hypervisor started the NIC). */
function serve(): void {
  const rung = Atomics.load(control, ctl.doorbell);
  if (Atomics.load(regs, nicReg.state) === nicRun.running) {
    const h = held;
    held = [];
    for (const f of h) send(f);
    transmit();
  }
  const w = waitAsync(control, ctl.doorbell, rung);
  if (w.async) void (w.value as Promise<string>).then(serve);
  else setImmediate(serve);
}

const timers: NodeJS.Timeout[] = [];
parentPort!.on("message", (m: NicCommand) => {
  if (m.cmd === "announce") for (const delay of m.delays) timers.push(setTimeout(announce, delay));
});
serve();
parentPort!.postMessage({ ready: true });
