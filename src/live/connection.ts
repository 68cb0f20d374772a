// One side of a migration connection: frames in (cut by FrameReader), frames out (through
// the shaped link on the source), requests matched to their Reply or Error by id.

import type { Socket } from "node:net";
import { ShapedLink } from "./link.js";
import { Command, FrameReader, ProtocolError, commandName, encodeFrame, frameHeader, type CommandType, type Frame } from "./protocol.js";

export class Connection {
  private readonly reader = new FrameReader();
  private readonly pending = new Map<number, { resolve: (f: Frame) => void; reject: (e: Error) => void; what: string }>();
  private readonly queue: Frame[] = [];
  private waiter: { resolve: (f: Frame) => void; reject: (e: Error) => void } | undefined;
  private nextId = 1;
  private failure: Error | undefined;
  private readonly link: ShapedLink;

  constructor(
    readonly socket: Socket,
    /** Who is at the other end, for messages. */
    private readonly peer: string,
    shape: { bandwidth: number; latencyMs: number } = { bandwidth: Infinity, latencyMs: 0 },
  ) {
    this.link = new ShapedLink(socket, shape.bandwidth, shape.latencyMs);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      if (this.failure) return;
      let frames: Frame[];
      try {
        frames = this.reader.push(chunk);
      } catch (e) {
        // Tell the peer why before hanging up, then fail whoever waits here.
        const message = (e as Error).message;
        if (!this.socket.destroyed) this.socket.end(encodeFrame(Command.Error, 0, Buffer.from(message, "utf8")));
        this.fail(new ProtocolError(`${message} (from ${this.peer})`), false);
        return;
      }
      for (const f of frames) this.dispatch(f);
    });
    socket.on("error", (e: NodeJS.ErrnoException) => this.fail(new Error(`connection to ${this.peer}: ${e.code ?? e.message}`)));
    socket.on("close", () => this.fail(new Error(`${this.peer} closed the connection`)));
  }

  /** Why the connection is unusable, once it is. */
  get error(): Error | undefined {
    return this.failure;
  }

  private dispatch(f: Frame): void {
    if (f.type === Command.Reply || f.type === Command.Error) {
      const p = this.pending.get(f.id);
      if (p) {
        this.pending.delete(f.id);
        if (f.type === Command.Reply) p.resolve(f);
        else p.reject(new ProtocolError(`${this.peer} refused ${p.what}: ${f.payload.toString("utf8")}`));
        return;
      }
    }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(f);
    } else this.queue.push(f);
  }

  /** Ends the connection for `error`: every waiter is rejected with it. */
  fail(error: Error, destroy = true): void {
    if (this.failure) return;
    this.failure = error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.waiter?.reject(error);
    this.waiter = undefined;
    this.link.close();
    if (destroy) this.socket.destroy();
  }

  /** The next frame that is not a reply to a request of ours. */
  next(timeoutMs = 0): Promise<Frame> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = timeoutMs > 0 ? setTimeout(() => this.fail(new ProtocolError(`${this.peer} sent nothing for ${timeoutMs / 1000} s`)), timeoutMs) : undefined;
      this.waiter = {
        resolve: (f) => (clearTimeout(timer), resolve(f)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  async send(type: CommandType, payload?: Uint8Array, id = 0): Promise<void> {
    if (this.failure) throw this.failure;
    await this.link.write([encodeFrame(type, id, payload)]);
    if (this.failure) throw this.failure;
  }

  /**
   * Sends frames of `type` (no reply wanted), each payload a list of chunks sent unjoined, in
   * one write; the link is charged `charged` bytes for all of them.
   */
  async sendFrames(type: CommandType, payloads: readonly (readonly Uint8Array[])[], charged: number): Promise<void> {
    if (this.failure) throw this.failure;
    const chunks: Uint8Array[] = [];
    for (const payload of payloads) {
      let length = 0;
      for (const c of payload) length += c.length;
      chunks.push(frameHeader(type, 0, length), ...payload);
    }
    await this.link.write(chunks, charged);
    if (this.failure) throw this.failure;
  }

  /** Sends a command and resolves with its Reply (rejects with the peer's Error). */
  async request(type: CommandType, payload?: Uint8Array): Promise<Frame> {
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    const reply = new Promise<Frame>((resolve, reject) => this.pending.set(id, { resolve, reject, what: commandName(type) }));
    reply.catch(() => undefined);
    await this.send(type, payload, id);
    return reply;
  }

  reply(id: number, payload?: Uint8Array): void {
    if (!this.failure && id !== 0) this.socket.write(encodeFrame(Command.Reply, id, payload));
  }

  /** Sends an Error (to request `id`, or 0) and closes, once it is written. */
  refuse(id: number, message: string): void {
    if (this.failure) return;
    this.failure = new ProtocolError(message);
    this.socket.end(encodeFrame(Command.Error, id, Buffer.from(message, "utf8")));
  }

  close(): void {
    if (!this.failure) this.failure = new Error("connection closed");
    this.link.close();
    this.socket.end();
  }
}
