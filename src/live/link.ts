// The scenario's link, on whatever the TCP connection really is (loopback by default). Each
// write is serialised at the link's bandwidth after the ones before it (a token bucket) and
// delivered to the socket once its last byte has crossed: at the end of its serialisation plus
// the link's one-way latency. A write returns once the link has begun to serialise it, so the
// sender prepares the next while this one crosses (as a NIC sends one packet while the host
// queues the next) and the link never waits for the sender while the sender keeps up; the
// bytes on the wire (serialised, not yet delivered: the bandwidth-delay product) do not hold
// the sender back. A timer that fires late delays a delivery but costs the link no time. The
// socket's own back-pressure still applies, so a link faster than the machine runs at the
// machine's speed.
//
// A write takes its bytes at once, into a staging buffer (as write() copies into the
// kernel's socket buffer): the RAM stream's chunks are views of guest RAM, and a page
// rewritten while it waits on the link must cross with the contents it had when sent, or
// untracked DMA after the send would not show as stale. One copy per write (a slice of up to
// 1 MiB), into buffers that are reused once the socket has taken them.

import type { Socket } from "node:net";

/**
 * Bytes the socket may hold beyond what the kernel took before a write waits (its back-pressure):
 * one of the controller's slices (1 MiB). Until round 3 this bounded the bytes written but not
 * yet delivered instead: a full slice (256 pages, just over 1 MiB with its run records) then
 * waited for its own delivery, and the link stood idle while the sender prepared the next one
 * (1.4 s of 2.7 s in a 270 MB first pass at 1 Gbit/s: the stream ran at 81 % of the link).
 */
const socketQueueBytes = 1 << 20;
/** Staging buffers of this size are kept for reuse; a larger write gets one of its own. */
const stagingBytes = 2 << 20;
/** Staging buffers kept for reuse: more than the back-pressure lets be in flight (onWire, the socket's queue). */
const spareStaging = 8;
/** Below this, a delivery is waited for by polling the event loop (timers have 1 ms granularity). */
const timerGranularityMs = 1;
/**
 * A writer that neither the link nor the socket holds back gives the event loop a turn at
 * least this often. Otherwise it runs on in microtasks: the peer's keepalives are not read nor
 * the deadline checked until the pass ends, and a pass longer than the peer deadline failed
 * for a silence that was never there (a 1 GiB first pass at load 16: the event loop blocked
 * 4.1 s in one stretch, and 8 s in another run, which failed).
 */
const turnEveryMs = 5;

/**
 * When the link is free next (performance.now() ms): the link's serialisation, one per link.
 * Connections over the same link (multifd's channels and the main stream) share one.
 */
export interface LinkTime {
  nextFree: number;
}

interface Pending {
  /** When the last byte has crossed the link (performance.now() ms). */
  at: number;
  /** The bytes, taken at write time, in a staging buffer. */
  data: Buffer;
  staging: Buffer;
}

export class ShapedLink {
  private readonly queue: Pending[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  /** Senders waiting for the socket to go below `socketQueueBytes` (or for the link to close). */
  private waiters: (() => void)[] = [];
  private closed = false;
  private readonly spare: Buffer[] = [];
  /** Bytes taken but not yet handed to the socket (crossing, or waiting out the latency). */
  private onWire = 0;
  /**
   * How many of those the link holds before the sender waits: the write crossing and the next
   * (a staging buffer each at most) plus what crosses in one latency (the bandwidth-delay
   * product). On a link faster than the machine this, and the socket, are the back-pressure.
   */
  private readonly wireBytes: number;
  /** When the writer last let the event loop turn. */
  private lastTurn = performance.now();

  constructor(
    private readonly socket: Socket,
    /** Bytes per second; Infinity: as fast as the socket takes them. */
    private readonly bandwidth: number,
    private readonly latencyMs: number,
    /** When the link finishes serialising what it was given so far (by this connection or another on the link). */
    private readonly time: LinkTime = { nextFree: 0 },
  ) {
    this.wireBytes = 2 * stagingBytes + (Number.isFinite(bandwidth) && bandwidth > 0 ? (bandwidth * latencyMs) / 1000 : 0);
    socket.on("drain", () => this.wake());
    socket.on("close", () => this.close());
  }

  /**
   * Faults in the staging buffers the stream will reuse, before it starts: a fresh buffer's
   * first write costs a page fault per 4 KiB page (4-9 ms for the 1 MiB a slice fills on this
   * host against ~0.06 ms once faulted in, docs/live.md, eighth round), and the first writes
   * of a migration each paid it with the event loop blocked. Called by the source at setup.
   */
  prefaultStaging(): void {
    // fill, not Buffer.alloc: a zeroed allocation comes from fresh zero pages, not yet faulted in.
    while (this.spare.length < spareStaging) this.spare.push(Buffer.allocUnsafe(stagingBytes).fill(0));
  }

  private get shaped(): boolean {
    return (Number.isFinite(this.bandwidth) && this.bandwidth > 0) || this.latencyMs > 0;
  }

  /**
   * Takes the chunks onto the link; resolves once the link has begun to serialise them and
   * the link and the socket have room again. `charged`: the bytes the link carries for them, by default their length (the RAM
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
      const start = Math.max(now, this.time.nextFree);
      this.time.nextFree = Number.isFinite(this.bandwidth) && this.bandwidth > 0 ? start + (charged * 1000) / this.bandwidth : start;
      item.at = this.time.nextFree + this.latencyMs;
      this.queue.push(item);
      this.onWire += bytes;
      // What has crossed goes to the socket now, not only when the delivery timer gets a turn:
      // a sender that never yields would otherwise pile the whole stream up here.
      this.deliverDue(now);
      this.pump();
      // Until the link starts on this write: what it finishes before is queued ahead of it.
      const serialisedFrom = start;
      while (performance.now() < serialisedFrom && !this.closed) await this.sleepUntil(serialisedFrom);
    }
    while ((this.socket.writableLength > socketQueueBytes || this.onWire > this.wireBytes) && !this.closed && !this.socket.destroyed) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.lastTurn = performance.now();
    }
    if (performance.now() - this.lastTurn > turnEveryMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.lastTurn = performance.now();
    }
  }

  /** Resolves at `t` (performance.now() ms), or when the link closes. */
  private sleepUntil(t: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, t - performance.now()));
      this.waiters.push(() => (clearTimeout(timer), resolve()));
    });
  }

  /** Hands the bytes to the socket; the staging buffer is reused once the socket has taken them. */
  private put(item: Pending): void {
    this.socket.write(item.data, () => {
      if (item.staging.length === stagingBytes && this.spare.length < spareStaging) this.spare.push(item.staging);
    });
  }

  /** Hands the socket what has crossed by now; true if anything moved. */
  private deliverDue(now: number): boolean {
    let moved = false;
    while (this.queue.length > 0 && this.queue[0].at <= now) {
      const item = this.queue.shift()!;
      this.onWire -= item.data.length;
      this.put(item);
      moved = true;
    }
    return moved;
  }

  /** Delivers what has crossed the link; schedules itself for the next delivery. */
  private pump(): void {
    if (this.timer || this.closed) return;
    const now = performance.now();
    if (this.deliverDue(now)) this.wake();
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
