// The scenario's link, on whatever the TCP connection really is (loopback by default):
// a token bucket paces the sender at the link's bandwidth, and a delay line holds each frame
// for the link's one-way latency before it reaches the socket. The socket's own
// back-pressure still applies, so a link faster than the machine runs at the machine's speed.

import type { Socket } from "node:net";

/** Lateness of the timers the sender may make up for with a short burst (ms). */
const burstMs = 2;
/** Bytes the delay line and the socket may hold together before the sender waits for them. */
const socketHighWater = 4 << 20;

export class ShapedLink {
  private nextFree = 0;
  private readonly delayLine: { at: number; bytes: Buffer }[] = [];
  private delayedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Senders waiting for the delay line and the socket to go below the high-water mark. */
  private waiters: (() => void)[] = [];

  constructor(
    private readonly socket: Socket,
    /** Bytes per second; Infinity: as fast as the socket takes them. */
    private readonly bandwidth: number,
    private readonly latencyMs: number,
  ) {}

  /** Resolves when the link has taken the bytes (their serialisation time has passed). */
  async write(bytes: Buffer): Promise<void> {
    const now = performance.now();
    let start = now;
    if (Number.isFinite(this.bandwidth) && this.bandwidth > 0) {
      start = Math.max(now - burstMs, this.nextFree);
      this.nextFree = start + (bytes.length * 1000) / this.bandwidth;
    }
    if (this.latencyMs > 0) {
      this.delayLine.push({ at: Math.max(start, now) + this.latencyMs, bytes });
      this.delayedBytes += bytes.length;
      this.pump();
    } else {
      this.socket.write(bytes);
    }
    const wait = this.nextFree - performance.now();
    if (wait > 0.5) await new Promise((r) => setTimeout(r, wait));
    // Back-pressure from whatever is slower than the bucket (the machine, or a network that
    // is itself shaped): bytes in the delay line count as well as those in the socket.
    while (this.delayedBytes + this.socket.writableLength > socketHighWater && !this.socket.destroyed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.socket.off("drain", done);
          this.socket.off("close", done);
          this.waiters = this.waiters.filter((w) => w !== done);
          resolve();
        };
        this.socket.on("drain", done);
        this.socket.on("close", done);
        if (this.delayedBytes > 0) this.waiters.push(done);
      });
    }
  }

  private pump(): void {
    if (this.timer) return;
    const now = performance.now();
    let moved = false;
    while (this.delayLine.length > 0 && this.delayLine[0].at <= now) {
      const { bytes } = this.delayLine.shift()!;
      this.delayedBytes -= bytes.length;
      this.socket.write(bytes);
      moved = true;
    }
    if (moved) for (const w of [...this.waiters]) w();
    if (this.delayLine.length > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, this.delayLine[0].at - now);
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of [...this.waiters]) w();
  }
}
