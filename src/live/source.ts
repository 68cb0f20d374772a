// The source's side of the connection (handshake, then the commands the controller's live
// ports need), and those ports: the guest's RAM as the controller sees it, and the channel.

import { connect } from "node:net";
import type { PageBitmap, PageRuns } from "../core/bitmap.js";
import type { AnnounceParams } from "../core/params.js";
import type { Channel, GuestRam, StreamPayload } from "../core/ports.js";
import { Connection } from "./connection.js";
import type { GuestConfig } from "./guest-config.js";
import type { Guest } from "./guest/guest.js";
import type { RamHasher } from "./guest/hasher.js";
import { nicPages, pageSize } from "./guest/layout.js";
import { isZeroPage, runOfKind } from "./guest/pages.js";
import { Command, authPayload, jsonPayload, newNonce, readChallenge, startPayload } from "./protocol.js";
import { encodeSections } from "./ram-stream.js";
import { wallNow } from "./clock.js";

const connectTimeoutMs = 5000;
const handshakeTimeoutMs = 10_000;

export class SourceSession {
  private constructor(readonly conn: Connection) {}

  /** Connects and authenticates; rejects with a message naming what the peer got wrong. */
  static async open(
    address: { host: string; port: number },
    secret: Buffer,
    shape: { bandwidth: number; latencyMs: number },
    version?: number,
  ): Promise<SourceSession> {
    const peer = `destination ${address.host}:${address.port}`;
    const socket = connect(address.port, address.host);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => (socket.destroy(), reject(new Error(`cannot connect to ${peer}: no answer within ${connectTimeoutMs / 1000} s`))), connectTimeoutMs);
      socket.once("connect", () => (clearTimeout(timer), resolve()));
      socket.once("error", (e: NodeJS.ErrnoException) => (clearTimeout(timer), reject(new Error(`cannot connect to ${peer}: ${e.code ?? e.message}`))));
    });
    const conn = new Connection(socket, peer, shape);
    try {
      const nonce = newNonce();
      await conn.send(Command.Start, startPayload(nonce, version));
      const destinationNonce = readChallenge(await conn.next(handshakeTimeoutMs), secret, nonce);
      await conn.request(Command.Auth, authPayload(secret, destinationNonce));
    } catch (e) {
      conn.fail(e as Error);
      throw e;
    }
    return new SourceSession(conn);
  }

  async config(c: GuestConfig): Promise<void> {
    await this.conn.request(Command.Config, jsonPayload(c));
  }

  async pin(): Promise<void> {
    await this.conn.request(Command.Pin);
  }

  async verify(): Promise<Uint32Array> {
    const reply = await this.conn.request(Command.Verify);
    const p = reply.payload;
    return new Uint32Array(p.buffer.slice(p.byteOffset, p.byteOffset + p.length));
  }

  /** Commands the controller issues without waiting (their failure surfaces at the next request). */
  post(type: typeof Command.NicStart | typeof Command.Complete, payload?: Uint8Array): void {
    this.conn.request(type, payload).catch(() => undefined);
  }

  async end(): Promise<unknown> {
    const reply = await this.conn.request(Command.End);
    this.conn.close();
    return JSON.parse(reply.payload.toString("utf8"));
  }

  abandon(reason: string): void {
    this.conn.send(Command.Abandon, Buffer.from(reason, "utf8")).catch(() => undefined).finally(() => this.conn.close());
  }
}

/**
 * The migration stream: RAM sections as Memory, device state as State, drained by a Sync.
 * Once drained at switch-over, both sides' RAM is final, and `onDrained` compares them.
 */
export class LiveChannel implements Channel {
  constructor(
    private readonly session: SourceSession,
    /** The NIC's device state, as it is when sent. */
    private readonly deviceState: () => unknown,
    private readonly onDrained: () => Promise<void>,
  ) {}

  async send(bytes: number, payload?: StreamPayload): Promise<void> {
    if (payload) return this.session.conn.sendFrames(Command.Memory, payload, bytes);
    // Device state, padded to the size the strategy says its vmstate has.
    const state = Buffer.from(JSON.stringify(this.deviceState()), "utf8");
    const padded = Buffer.alloc(Math.max(state.length, bytes - 12), " ");
    state.copy(padded);
    return this.session.conn.send(Command.State, padded);
  }

  async drain(): Promise<void> {
    await this.session.conn.request(Command.Sync);
    await this.onDrained();
  }
}

/** The guest as the controller drives it: the source's RAM and vCPUs, resumed at the destination. */
export class LiveGuestRam implements GuestRam {
  readonly pageCount: number;
  readonly pageSize = pageSize;
  /** When the migration waited for the switch-over check (for the timeline's verify span). */
  verifyWait: { t: number; end: number } | undefined;
  private stale: number[] = [];

  constructor(
    private readonly guest: Guest,
    private readonly session: SourceSession,
    private readonly hasher: RamHasher,
    /** The destination announces the guest at this schedule once it runs there. */
    private readonly announce: AnnounceParams,
  ) {
    this.pageCount = guest.pageCount;
  }

  startDirtyLog(): void {
    this.guest.clearDirtyLog();
    // From here every write but untracked DMA reaches the log: hash all once, then what it names.
    this.hasher.markAll();
  }

  stopDirtyLog(): void {}

  syncDirtyLog(into: PageBitmap): number {
    const n = this.guest.syncDirtyLog(into, (words) => this.hasher.markWords(words));
    // The final sync: vCPUs and NIC are stopped. Untracked DMA may have written the NIC's
    // pages behind the log's back: hash them again too.
    if (!this.guest.vcpusRunning) for (const p of nicPages(this.guest.nic)) this.hasher.mark(p, p + 1);
    return n;
  }

  isZero(page: number): boolean {
    return isZeroPage(this.guest.buffer, page);
  }

  runOfKind(from: number, max: number, zero: boolean): number {
    return runOfKind(this.guest.buffer, this.guest.words, from, max, zero);
  }

  async readPages(runs: PageRuns): Promise<StreamPayload> {
    return encodeSections(this.guest.buffer, this.guest.words, pageSize, runs);
  }

  stopVcpus(): void {
    this.guest.stop();
  }

  resumeVcpus(): void {
    this.session.post(Command.Complete, jsonPayload({ announce: this.announce }));
  }

  setThrottle(fraction: number): void {
    this.guest.setThrottle(fraction);
  }

  /**
   * Compares the page hashes of both sides: called when the stream has drained at switch-over
   * (vCPUs and source NIC stopped, everything applied at the destination, whose NIC has not
   * started), so the comparison is of exactly what the migration moved.
   */
  async verify(): Promise<void> {
    const t = wallNow();
    const [here, there] = await Promise.all([this.hasher.settle(), this.session.verify()]);
    this.stale = [];
    for (let p = 0; p < here.length; p++) if (here[p] !== there[p]) this.stale.push(p);
    this.verifyWait = { t, end: wallNow() };
  }

  stalePages(): number[] {
    return this.stale;
  }
}
