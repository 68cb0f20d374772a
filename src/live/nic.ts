// The emulated NIC, in the hypervisor process. It is attached to the guest network's switch
// by a UDP socket; received frames are written by "DMA" into the driver's receive buffers
// in guest RAM, which reaches the dirty log only when the strategy tracks DMA. Frames the
// driver queues on the transmit ring go out when it rings the doorbell.
//
// States: `running` moves frames; `link-down` (a strategy's "network down", e.g. the
// restart into shadow virtqueues) and `suspended` (stopped for the switch-over) drop what
// arrives, and hold what is to be sent until the NIC runs again.

import { createSocket, type Socket } from "node:dgram";
import { frameType, rarpFrame } from "./frame.js";
import type { Guest } from "./guest/guest.js";
import { bufferBytes, bufferOffset, lensWord, pageSize, rxEntries, txEntries, wordsPerPage } from "./guest/layout.js";

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

export class Nic {
  state: NicState = "suspended";
  readonly stats = { rx: 0, rxDropped: 0, rxUnlogged: 0, tx: 0 };
  private socket: Socket | undefined;
  private rxNext = 0;
  private txNext = 0;
  /** Frames to send once the NIC runs (announcements made while the link is down). */
  private held: Uint8Array[] = [];

  constructor(
    private readonly guest: Guest,
    private readonly o: NicOptions,
  ) {
    guest.onKick(() => this.transmit());
  }

  async open(): Promise<void> {
    const socket = createSocket("udp4");
    socket.on("message", (m) => this.receive(new Uint8Array(m.buffer, m.byteOffset, m.length)));
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, undefined, () => resolve());
    });
    socket.on("error", () => undefined); // a send to a vanished switch is a lost frame
    this.socket = socket;
  }

  /** Starts (or restarts) moving frames: first whatever the driver queued meanwhile. */
  run(): void {
    this.state = "running";
    const held = this.held;
    this.held = [];
    for (const f of held) this.send(f);
    this.transmit();
  }

  suspend(): void {
    this.state = "suspended";
  }

  linkDown(): void {
    if (this.state === "running") this.state = "link-down";
  }

  /** qemu_announce_self: a broadcast RARP from the guest's MAC, so the switch learns its port. */
  announce(): void {
    const f = rarpFrame(this.o.mac);
    if (this.state === "running") this.send(f);
    else this.held.push(f);
  }

  saveState(): NicDeviceState {
    return { rxNext: this.rxNext, txNext: this.txNext };
  }

  loadState(s: NicDeviceState): void {
    this.rxNext = s.rxNext | 0;
    this.txNext = s.txNext | 0;
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }

  private dma(page: number): void {
    if (this.o.dmaLogged()) this.guest.markDirty(page);
  }

  private receive(frame: Uint8Array): void {
    if (this.state !== "running" || frame.length > bufferBytes || frameType(frame) < 0) {
      this.stats.rxDropped++;
      return;
    }
    const { words, bytes, nic } = this.guest;
    const availWord = nic.rxAvailPage * wordsPerPage;
    if (((this.rxNext - Atomics.load(words, availWord)) | 0) >= 0) {
      this.stats.rxDropped++; // no buffer posted
      return;
    }
    const slot = (this.rxNext >>> 0) % rxEntries;
    const at = bufferOffset(nic.rxBufferPage, slot);
    bytes.set(frame, at);
    this.dma(Math.floor(at / pageSize));
    const used = nic.rxUsedPage * wordsPerPage;
    words[used + lensWord + slot] = frame.length;
    this.rxNext = (this.rxNext + 1) | 0;
    Atomics.store(words, used, this.rxNext);
    this.dma(nic.rxUsedPage);
    if (!this.o.dmaLogged()) this.stats.rxUnlogged++;
    this.stats.rx++;
    this.guest.interrupt();
  }

  private transmit(): void {
    if (this.state !== "running") return;
    const { words, bytes, nic } = this.guest;
    const availWord = nic.txAvailPage * wordsPerPage;
    const avail = Atomics.load(words, availWord);
    let pending = (avail - this.txNext) | 0;
    if (pending < 0 || pending > txEntries) pending = 0; // a ring that cannot be: send nothing
    for (; pending > 0; pending--) {
      const slot = (this.txNext >>> 0) % txEntries;
      const len = words[availWord + lensWord + slot];
      if (len >= 14 && len <= bufferBytes) {
        const at = bufferOffset(nic.txBufferPage, slot);
        this.send(bytes.slice(at, at + len));
      }
      this.txNext = (this.txNext + 1) | 0;
    }
    const used = nic.txUsedPage * wordsPerPage;
    if (Atomics.load(words, used) !== this.txNext) {
      Atomics.store(words, used, this.txNext);
      this.dma(nic.txUsedPage);
    }
  }

  private send(frame: Uint8Array): void {
    if (!this.socket) return;
    this.stats.tx++;
    this.socket.send(frame, this.o.switchAddress.port, this.o.switchAddress.host);
  }
}
