// The scenario's link, on whatever the TCP connection really is (loopback by default). Each
// write is serialised at the link's bandwidth after the ones before it (a token bucket) and
// delivered to the socket once its last byte has crossed: at the end of its serialisation plus
// the link's one-way latency. The sender may run ahead of the link by `queueBytes` (the link's
// queue, as a socket buffer holds what the NIC has not sent yet), so a timer that fires late
// delays delivery a little but costs the link no time: the link stays busy as long as the
// sender keeps the queue fed. The socket's own back-pressure still applies, so a link faster
// than the machine runs at the machine's speed.
//
// A write takes its bytes at once, into a staging buffer (as write() copies into the
// kernel's socket buffer): the RAM stream's chunks are views of guest RAM, and a page
// rewritten while it waits on the link must cross with the contents it had when sent, or
// untracked DMA after the send would not show as stale. One copy per write (a slice of up to
// 1 MiB), into buffers that are reused once the socket has taken them.

import type { Socket } from "node:net";

/**
 * Bytes written but not yet delivered that make the sender wait (the link's queue): one of
 * the controller's slices (1 MiB), enough to keep the link busy while the next is prepared.
 * More would move time from the final RAM to the drain after it (the simulator's link has
 * no queue: a send takes its serialisation time).
 */
const queueBytes = 1 << 20;
/** Staging buffers of this size are kept for reuse; a larger write gets one of its own. */
const stagingBytes = 2 << 20;
/** Below this, a delivery is waited for by polling the event loop (timers have 1 ms granularity). */
const timerGranularityMs = 1;

interface Pending {
  /** When the last byte has crossed the link (performance.now() ms). */
  at: number;
  /** The bytes, taken at write time, in a staging buffer. */
  data: Buffer;
  staging: Buffer;
}

export class ShapedLink {
  /** When the link finishes serialising what it was given so far. */
  private nextFree = 0;
  private readonly queue: Pending[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  /** Senders waiting for the queue and the socket to go below `queueBytes`. */
  private waiters: (() => void)[] = [];
  private closed = false;
  private readonly spare: Buffer[] = [];

  constructor(
    private readonly socket: Socket,
    /** Bytes per second; Infinity: as fast as the socket takes them. */
    private readonly bandwidth: number,
    private readonly latencyMs: number,
  ) {
    socket.on("drain", () => this.wake());
    socket.on("close", () => this.close());
  }

  private get shaped(): boolean {
    return (Number.isFinite(this.bandwidth) && this.bandwidth > 0) || this.latencyMs > 0;
  }

  /**
   * Takes the chunks onto the link; resolves once the link's queue and the socket have room
   * again. `charged`: the bytes the link carries for them, by default their length (the RAM
   * stream is charged at QEMU's wire size, see ram-stream.ts). `seal` may finish the bytes in
   * place once taken (the frames' tags, over exactly what will cross).
   */
  async write(chunks: readonly Uint8Array[], charged = byteLength(chunks), seal?: (staged: Buffer) => void): Promise<void> {
    const bytes = byteLength(chunks);
    const staging = bytes <= stagingBytes ? (this.spare.pop() ?? Buffer.allocUnsafe(stagingBytes)) : Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const c of chunks) {
      staging.set(c, at);
      at += c.length;
    }
    const item = { at: 0, data: staging.subarray(0, bytes), staging };
    seal?.(item.data);
    if (!this.shaped) this.put(item);
    else {
      const now = performance.now();
      const start = Math.max(now, this.nextFree);
      this.nextFree = Number.isFinite(this.bandwidth) && this.bandwidth > 0 ? start + (charged * 1000) / this.bandwidth : start;
      item.at = this.nextFree + this.latencyMs;
      this.queue.push(item);
      this.queuedBytes += bytes;
      this.pump();
    }
    while (this.queuedBytes + this.socket.writableLength > queueBytes && !this.closed && !this.socket.destroyed) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Hands the bytes to the socket; the staging buffer is reused once the socket has taken them. */
  private put(item: Pending): void {
    this.socket.write(item.data, () => {
      if (item.staging.length === stagingBytes && this.spare.length < 8) this.spare.push(item.staging);
    });
  }

  /** Delivers what has crossed the link; schedules itself for the next delivery. */
  private pump(): void {
    if (this.timer || this.closed) return;
    const now = performance.now();
    let moved = false;
    while (this.queue.length > 0 && this.queue[0].at <= now) {
      const item = this.queue.shift()!;
      this.queuedBytes -= item.data.length;
      this.put(item);
      moved = true;
    }
    if (moved) this.wake();
    if (this.queue.length === 0) return;
    const wait = this.queue[0].at - now;
    const again = () => {
      this.timer = undefined;
      this.pump();
    };
    this.timer = wait >= timerGranularityMs ? setTimeout(again, wait - timerGranularityMs / 2) : setImmediate(again);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  close(): void {
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
    }
    this.timer = undefined;
    this.wake();
  }
}

function byteLength(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}
