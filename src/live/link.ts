// The scenario's link, on whatever the TCP connection really is (loopback by default). Each
// write is serialised at the link's bandwidth after the ones before it (a token bucket) and
// delivered to the socket once its last byte has crossed: at the end of its serialisation plus
// the link's one-way latency. The sender may run ahead of the link by `queueBytes` (the link's
// queue, as a socket buffer holds what the NIC has not sent yet), so a timer that fires late
// delays delivery a little but costs the link no time: the link stays busy as long as the
// sender keeps the queue fed. The socket's own back-pressure still applies, so a link faster
// than the machine runs at the machine's speed.

import type { Socket } from "node:net";

/** Bytes written but not yet delivered that make the sender wait (the link's queue). */
const queueBytes = 4 << 20;
/** Below this, a delivery is waited for by polling the event loop (timers have 1 ms granularity). */
const timerGranularityMs = 1;

interface Pending {
  /** When the last byte has crossed the link (performance.now() ms). */
  at: number;
  chunks: readonly Uint8Array[];
  bytes: number;
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
   * stream is charged at QEMU's wire size, see ram-stream.ts).
   */
  async write(chunks: readonly Uint8Array[], charged = byteLength(chunks)): Promise<void> {
    const bytes = byteLength(chunks);
    if (!this.shaped) this.put(chunks);
    else {
      const now = performance.now();
      const start = Math.max(now, this.nextFree);
      this.nextFree = Number.isFinite(this.bandwidth) && this.bandwidth > 0 ? start + (charged * 1000) / this.bandwidth : start;
      this.queue.push({ at: this.nextFree + this.latencyMs, chunks, bytes });
      this.queuedBytes += bytes;
      this.pump();
    }
    while (this.queuedBytes + this.socket.writableLength > queueBytes && !this.closed && !this.socket.destroyed) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Hands chunks to the socket as one writev (corked), without joining them. */
  private put(chunks: readonly Uint8Array[]): void {
    if (chunks.length === 1) {
      this.socket.write(chunks[0]);
      return;
    }
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
  }

  /** Delivers what has crossed the link; schedules itself for the next delivery. */
  private pump(): void {
    if (this.timer || this.closed) return;
    const now = performance.now();
    let moved = false;
    while (this.queue.length > 0 && this.queue[0].at <= now) {
      const { chunks, bytes } = this.queue.shift()!;
      this.queuedBytes -= bytes;
      this.put(chunks);
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
