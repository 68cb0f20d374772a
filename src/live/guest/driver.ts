// The guest's NIC driver, run by vCPU 0: it consumes received frames from the receive ring,
// answers the prober's echo requests through the transmit ring, reposts receive buffers and
// kicks the NIC (a doorbell). Its ring positions live in guest RAM, so they migrate; every
// write it makes is a CPU write, marked in the dirty log.

import { echoFrame, echoOp, readEcho, type Mac } from "../frame.js";
import { bufferBytes, lensWord, rxBufferOffset, rxEntries, txBufferOffset, txEntries, wordsPerPage, type NicLayout } from "./layout.js";

export class Driver {
  /** Frames handled, replies sent, replies dropped for a full ring, times the ring made no sense. */
  readonly stats = { frames: 0, replies: 0, txFull: 0, corrupt: 0 };
  private readonly rxAvail: number;
  private readonly rxSeen: number;
  private readonly rxUsed: number;
  private readonly txAvail: number;
  private readonly txUsed: number;

  constructor(
    private readonly words: Int32Array,
    private readonly bytes: Uint8Array,
    private readonly nic: NicLayout,
    private readonly mac: Mac,
    private readonly mark: (page: number) => void,
    private readonly kick: () => void,
  ) {
    this.rxAvail = nic.rxAvailPage * wordsPerPage;
    this.rxSeen = this.rxAvail + 1;
    this.rxUsed = nic.rxUsedPage * wordsPerPage;
    this.txAvail = nic.txAvailPage * wordsPerPage;
    this.txUsed = nic.txUsedPage * wordsPerPage;
  }

  /** Driver probe: post every receive buffer. */
  init(): void {
    Atomics.store(this.words, this.rxAvail, rxEntries);
    this.mark(this.nic.rxAvailPage);
  }

  /** Handles what the NIC has delivered since the last call. */
  poll(): void {
    const w = this.words;
    const used = Atomics.load(w, this.rxUsed);
    let seen = w[this.rxSeen];
    const pending = (used - seen) | 0;
    if (pending === 0) return;
    if (pending < 0 || pending > rxEntries) {
      // Ring indices that cannot be (a stale page): start again from the device's index.
      this.stats.corrupt++;
      seen = used;
    } else {
      let replies = 0;
      for (let k = 0; k < pending; k++, seen++) {
        const slot = (seen >>> 0) % rxEntries;
        const len = w[this.rxUsed + lensWord + slot];
        if (len < 14 || len > bufferBytes) continue;
        const at = rxBufferOffset(this.nic, slot);
        this.stats.frames++;
        const echo = readEcho(this.bytes.subarray(at, at + len));
        if (echo?.op === echoOp.request && this.isMine(at)) {
          const src = this.bytes.slice(at + 6, at + 12);
          if (this.transmit(echoFrame(src, this.mac, echoOp.reply, echo.seq))) replies++;
        }
      }
      if (replies > 0) this.kick();
    }
    w[this.rxSeen] = seen;
    Atomics.store(w, this.rxAvail, (seen + rxEntries) | 0);
    this.mark(this.nic.rxAvailPage);
  }

  private isMine(at: number): boolean {
    for (let i = 0; i < 6; i++) if (this.bytes[at + i] !== this.mac[i]) return false;
    return true;
  }

  private transmit(frame: Uint8Array): boolean {
    const w = this.words;
    const avail = w[this.txAvail];
    if (((avail - Atomics.load(w, this.txUsed)) | 0) >= txEntries) {
      this.stats.txFull++;
      return false;
    }
    const slot = (avail >>> 0) % txEntries;
    const at = txBufferOffset(this.nic, slot);
    this.bytes.set(frame, at);
    this.mark(Math.floor(at / (wordsPerPage * 4)));
    w[this.txAvail + lensWord + slot] = frame.length;
    Atomics.store(w, this.txAvail, (avail + 1) | 0);
    this.mark(this.nic.txAvailPage);
    this.stats.replies++;
    return true;
  }
}
