// One side of a migration connection: frames in (cut by FrameReader), frames out (through
// the shaped link on the source), requests matched to their Reply or Error by id. After the
// handshake every frame is tagged (integrity.ts), both sides send a Keepalive when they have
// sent nothing for a while, and a peer that stays silent past the deadline, or leaves a
// request unanswered that long, ends the connection (protocol.ts: "Deadlines").

import type { Socket } from "node:net";
import type { FrameMac } from "./integrity.js";
import { ShapedLink, type LinkTime } from "./link.js";
import { Command, FrameReader, IntegrityError, ProtocolError, commandName, encodeFrame, frameChunks, sealFrames, type CommandType, type Frame } from "./protocol.js";

/** Default deadline: seconds of silence (or of waiting for a reply) after which the peer is taken for hung. */
export const defaultPeerTimeoutMs = 8000;

/** How long a peer has to read our last frame and close, after we ended the connection. */
const closeGraceMs = 2000;

/** The peer missed a deadline: it is hung, stopped, or the network between us is. */
export class PeerTimeout extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PeerTimeout";
  }
}

export class Connection {
  private readonly reader = new FrameReader();
  private readonly pending = new Map<number, { resolve: (f: Frame) => void; reject: (e: Error) => void; what: string; onReply?: () => void }>();
  private readonly queue: Frame[] = [];
  private waiter: { resolve: (f: Frame) => void; reject: (e: Error) => void } | undefined;
  private nextId = 1;
  private failure: Error | undefined;
  private readonly link: ShapedLink;
  private sendMac: FrameMac | undefined;
  private lastHeard = performance.now();
  private lastSent = performance.now();
  private watchTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: Socket,
    /** Who is at the other end, for messages. */
    private readonly peer: string,
    /** The link emulated on the way out; `time` shared by the connections over one link. */
    shape: { bandwidth: number; latencyMs: number; time?: LinkTime } = { bandwidth: Infinity, latencyMs: 0 },
    /** Silence (or an unanswered request) longer than this fails the connection; see `watch`. */
    readonly deadlineMs = defaultPeerTimeoutMs,
  ) {
    this.link = new ShapedLink(socket, shape.bandwidth, shape.latencyMs, shape.time);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      if (this.failure) return;
      this.lastHeard = performance.now();
      try {
        this.reader.push(chunk, (f) => this.dispatch(f));
      } catch (e) {
        // Tell the peer why before hanging up, then fail whoever waits here.
        const message = (e as Error).message;
        if (!this.socket.destroyed) this.socket.end(this.encode(Command.Error, 0, Buffer.from(message, "utf8")));
        const Kind = e instanceof IntegrityError ? IntegrityError : ProtocolError;
        this.fail(new Kind(`${message} (from ${this.peer})`), false);
      }
    });
    socket.on("error", (e: NodeJS.ErrnoException) => this.fail(new Error(`connection to ${this.peer}: ${e.code ?? e.message}`)));
    socket.on("close", () => this.fail(new Error(`${this.peer} closed the connection`)));
  }

  /** The outgoing link's staging buffers faulted in now, not on the stream's first writes (ShapedLink.prefaultStaging). */
  prefaultStaging(): void {
    this.link.prefaultStaging();
  }

  /** Why the connection is unusable, once it is. */
  get error(): Error | undefined {
    return this.failure;
  }

  /**
   * From here on every frame in both directions is tagged: called by each side right after
   * the handshake's last untagged frame (the source once it has the reply to Auth, the
   * destination once it has sent that reply).
   */
  secure(macs: { send: FrameMac; receive: FrameMac }): void {
    this.sendMac = macs.send;
    this.reader.mac = macs.receive;
  }

  /**
   * Starts the liveness checks: silence from the peer for longer than the deadline fails the
   * connection (checked every deadline/16, so it fails within 17/16 of the deadline); once
   * secured, a Keepalive goes out whenever nothing was sent for a quarter of the deadline.
   */
  watch(): void {
    const every = this.deadlineMs / 16;
    this.watchTimer = setInterval(() => {
      const now = performance.now();
      if (now - this.lastHeard > this.deadlineMs) {
        this.fail(new PeerTimeout(`${this.peer} sent nothing for ${this.deadlineMs / 1000} s (hung, stopped, or the network to it is)`));
      } else if (this.sendMac && now - this.lastSent >= this.deadlineMs / 4) {
        this.send(Command.Keepalive).catch(() => undefined);
      }
    }, every);
    this.watchTimer.unref();
  }

  private dispatch(f: Frame): void {
    if (f.type === Command.Keepalive) return;
    if (f.type === Command.Reply || f.type === Command.Error) {
      const p = this.pending.get(f.id);
      if (p) {
        this.pending.delete(f.id);
        if (f.type === Command.Reply) {
          p.onReply?.();
          p.resolve(f);
        } else p.reject(new ProtocolError(`${this.peer} refused ${p.what}: ${f.payload.toString("utf8")}`));
        return;
      }
      if (f.type === Command.Error) {
        // The peer is hanging up and says why: that reason, not the broken pipe that follows.
        this.fail(new ProtocolError(`${this.peer} refused: ${f.payload.toString("utf8")}`), false);
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
    clearInterval(this.watchTimer);
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.waiter?.reject(error);
    this.waiter = undefined;
    this.link.close();
    if (destroy) this.socket.destroy();
    else this.hangUpSoon(); // after our Error (or the peer's): it has a moment to read and close
  }

  /** The next frame that is not a reply to a request of ours. */
  next(timeoutMs = 0): Promise<Frame> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = timeoutMs > 0 ? setTimeout(() => this.fail(new PeerTimeout(`${this.peer} sent nothing for ${timeoutMs / 1000} s`)), timeoutMs) : undefined;
      this.waiter = {
        resolve: (f) => (clearTimeout(timer), resolve(f)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  private encode(type: CommandType, id: number, payload?: Uint8Array): Buffer {
    return encodeFrame(type, id, payload, this.sendMac);
  }

  async send(type: CommandType, payload?: Uint8Array, id = 0): Promise<void> {
    if (this.failure) throw this.failure;
    // Tagged and handed to the link in one step: frames reach the socket in sequence order.
    this.lastSent = performance.now();
    await this.link.write([this.encode(type, id, payload)]);
    if (this.failure) throw this.failure;
  }

  /**
   * Sends frames of `type` (no reply wanted), each payload a list of chunks sent unjoined, in
   * one write; the link is charged `charged` bytes for all of them. The tags are computed over
   * the bytes the link took (guest RAM under the chunks may change until then).
   */
  async sendFrames(type: CommandType, payloads: readonly (readonly Uint8Array[])[], charged: number): Promise<void> {
    if (this.failure) throw this.failure;
    const mac = this.sendMac;
    const chunks: Uint8Array[] = [];
    for (const payload of payloads) chunks.push(...frameChunks(type, 0, payload, mac !== undefined));
    this.lastSent = performance.now();
    await this.link.write(chunks, charged, mac ? (staged) => sealFrames(staged, mac) : undefined);
    if (this.failure) throw this.failure;
  }

  /**
   * Sends a command and resolves with its Reply (rejects with the peer's Error). The reply is
   * due within the deadline of the command being sent, unless `unbounded` (work whose length
   * grows with the guest, such as pinning: liveness alone watches those).
   */
  async request(type: CommandType, payload?: Uint8Array, o: { unbounded?: boolean; onReply?: () => void } = {}): Promise<Frame> {
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    let timer: NodeJS.Timeout | undefined;
    const reply = new Promise<Frame>((resolve, reject) =>
      this.pending.set(id, {
        resolve: (f) => (clearTimeout(timer), resolve(f)),
        reject: (e) => (clearTimeout(timer), reject(e)),
        what: commandName(type),
        onReply: o.onReply,
      }),
    );
    reply.catch(() => undefined);
    await this.send(type, payload, id);
    if (!o.unbounded && this.pending.has(id)) {
      timer = setTimeout(() => this.fail(new PeerTimeout(`${this.peer} did not answer ${commandName(type)} within ${this.deadlineMs / 1000} s`)), this.deadlineMs);
    }
    return reply;
  }

  reply(id: number, payload?: Uint8Array): void {
    if (!this.failure && id !== 0) this.send(Command.Reply, payload, id).catch(() => undefined);
  }

  /** Sends an Error (to request `id`, or 0) and closes, once it is written. */
  refuse(id: number, message: string): void {
    if (this.failure) return;
    this.failure = new ProtocolError(message);
    clearInterval(this.watchTimer);
    this.socket.end(this.encode(Command.Error, id, Buffer.from(message, "utf8")));
    this.hangUpSoon();
  }

  close(): void {
    if (!this.failure) this.failure = new Error("connection closed");
    clearInterval(this.watchTimer);
    this.link.close();
    this.socket.end();
    this.hangUpSoon();
  }

  /** After our last word: a peer that never closes its side does not keep the socket open. */
  private hangUpSoon(): void {
    setTimeout(() => this.socket.destroy(), closeGraceMs).unref();
  }
}
