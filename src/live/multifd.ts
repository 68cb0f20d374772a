// multifd in the live engine: each channel its own TCP connection beside the main one, as QEMU's
// (migration/multifd.c, multifd-nocomp.c, QEMU 10.0). The controller's MultifdSender
// (src/core/multifd.ts) hands each 512 KiB packet to the next channel in turn; here a channel
// sends it as Memory frames on its own socket (the RAM stream's encoding, ram-stream.ts, tagged
// per connection), and the destination's loop for that socket writes it into guest RAM.
//
// Order between sockets: within a round every page is sent once, so the sockets need no order
// among themselves; across rounds they do (a page re-sent in round n+1 on one socket must not
// land before its round-n copy on another). QEMU's answer, kept here: at the end of each round
// (multifd_ram_flush_and_sync) every channel sends a packet with MULTIFD_FLAG_SYNC (here Sync
// {round}, no reply), and the destination's channel threads stop at it until every channel has
// reached it (multifd_recv_sync_main). At switch-over the source drains every channel (a Sync
// request each, answered once all before it is applied) before the pages are compared.
//
// Joining: the destination names each migration (a random id in its reply to the main
// connection's Auth); a channel's connection does the whole handshake with the shared secret
// and its Auth adds the id and the channel number (QEMU's initial packet: the migration's UUID
// and the channel id). A wrong id, a channel out of range or joined twice is refused.

import { timingSafeEqual } from "node:crypto";
import type { Connection } from "./connection.js";
import type { LinkTime } from "./link.js";
import { Command, ProtocolError, commandName, readSyncPoint, syncPointPayload, type ChannelJoin, type Frame } from "./protocol.js";
import { LiveChannel, SourceSession } from "./source.js";

/** What the destination counted on one channel: Memory frames, pages they named, sync points. */
export interface MultifdChannelStats {
  frames: number;
  pages: number;
  syncs: number;
}

/** The per-channel counts in the destination's reply to End, if they are there and well formed. */
export function readMultifdStats(reply: unknown, channels: number): MultifdChannelStats[] | undefined {
  const list = (reply as { multifd?: unknown } | null)?.multifd;
  const count = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0;
  if (!Array.isArray(list) || list.length !== channels) return undefined;
  return list.every((c: Partial<MultifdChannelStats> | null) => count(c?.frames) && count(c?.pages) && count(c?.syncs))
    ? list.map((c: MultifdChannelStats) => ({ frames: c.frames, pages: c.pages, syncs: c.syncs }))
    : undefined;
}

/** The source's side of one channel: the RAM stream's frames on its own connection, and its sync points. */
class MultifdChannel extends LiveChannel {
  private round = 0;

  constructor(readonly connection: SourceSession) {
    super(
      connection,
      () => {
        // support.ts refuses a device's state over multifd: the NIC's goes on the main connection.
        throw new Error("multifd channel: device state goes on the main connection");
      },
      async () => undefined,
    );
  }

  async syncPoint(): Promise<void> {
    this.round++;
    await this.connection.conn.send(Command.Sync, syncPointPayload(this.round));
  }

  /** Until everything before it on this channel is applied (past any sync point it waits at). */
  override async drain(): Promise<void> {
    await this.applied();
  }
}

/** Channel connections in their handshake at once: half the destination's per-address limit (maxPreAuthPerAddress, 8). */
const openAtOnce = 4;

/** The source's channels, opened once the main connection has its Config reply (QEMU: at setup). */
export class MultifdChannels {
  private constructor(readonly channels: MultifdChannel[]) {}

  static async open(o: {
    address: { host: string; port: number };
    secret: Buffer;
    /** The main connection's link: the channels share its serialisation (`time`): one link. */
    shape: { bandwidth: number; latencyMs: number; time: LinkTime };
    migrationId: Buffer;
    channels: number;
    version?: number;
    deadlineMs?: number;
  }): Promise<MultifdChannels> {
    // A few at a time: the destination admits only maxPreAuthPerAddress connections from one
    // address that have not authenticated yet, and closes the rest as they arrive.
    const opened: PromiseSettledResult<SourceSession>[] = [];
    for (let first = 0; first < o.channels; first += openAtOnce) {
      const wave = Array.from({ length: Math.min(openAtOnce, o.channels - first) }, (_, k) =>
        SourceSession.open(o.address, o.secret, o.shape, o.version, o.deadlineMs, { migration: o.migrationId, channel: first + k }),
      );
      opened.push(...(await Promise.allSettled(wave)));
      if (opened.some((r) => r.status === "rejected")) break;
    }
    const sessions = opened.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = opened.findIndex((r) => r.status === "rejected");
    if (failed >= 0) {
      for (const s of sessions) s.conn.close();
      throw new Error(`multifd channel ${failed}: ${((opened[failed] as PromiseRejectedResult).reason as Error).message}`);
    }
    return new MultifdChannels(sessions.map((s) => new MultifdChannel(s)));
  }

  /** Until everything each channel sent is applied at the destination. */
  async drain(): Promise<void> {
    await Promise.all(this.channels.map((c) => c.drain()));
  }

  close(): void {
    for (const c of this.channels) c.connection.conn.close();
  }
}

/**
 * The destination's channels of one migration: each connection's frames applied in order as they
 * come, every channel held at each sync point until all have reached it.
 */
export class MultifdReceiver {
  private readonly conns: (Connection | undefined)[];
  /** The last sync point each channel has reached. */
  private readonly reached: number[];
  private waiters: { round: number; resume: () => void }[] = [];
  readonly stats: MultifdChannelStats[];
  private closed = false;

  constructor(
    readonly migrationId: Buffer,
    channels: number,
    /** Applies a Memory frame's section to guest RAM; returns the pages it named. */
    private readonly apply: (parts: readonly Buffer[]) => number,
    /** A channel failed: the migration fails (QEMU: multifd_recv_terminate_threads). */
    private readonly fail: (e: Error) => void,
  ) {
    this.conns = new Array<Connection | undefined>(channels).fill(undefined);
    this.reached = new Array<number>(channels).fill(0);
    this.stats = Array.from({ length: channels }, () => ({ frames: 0, pages: 0, syncs: 0 }));
  }

  /** Why a connection may not join as `join.channel` (or nothing: it may). */
  refusal(join: ChannelJoin): string | undefined {
    if (this.closed || join.migration.length !== this.migrationId.length || !timingSafeEqual(join.migration, this.migrationId)) {
      return "no migration with this id takes multifd channels here";
    }
    if (join.channel >= this.conns.length) return `multifd channel ${join.channel}: this migration has ${this.conns.length} channels`;
    if (this.conns[join.channel]) return `multifd channel ${join.channel} has joined already`;
    return undefined;
  }

  /** Serves an authenticated channel connection (after `refusal` said it may join). */
  serve(channel: number, conn: Connection): void {
    this.conns[channel] = conn;
    void this.loop(channel, conn);
  }

  private async loop(c: number, conn: Connection): Promise<void> {
    const stats = this.stats[c];
    try {
      for (;;) {
        const f = await conn.next();
        if (f.type === Command.Memory) {
          stats.frames++;
          stats.pages += this.apply(f.parts);
        } else if (f.type === Command.Sync && f.id === 0) {
          const round = readSyncPoint(f);
          if (round !== this.reached[c] + 1) throw new ProtocolError(`sync point ${round} after ${this.reached[c]}`);
          this.reached[c] = round;
          stats.syncs++;
          await this.allReached(round);
        } else if (f.type === Command.Sync) {
          conn.reply(f.id); // everything before it on this connection is applied
        } else {
          throw unexpected(f);
        }
      }
    } catch (e) {
      if (this.closed) return;
      const message = `multifd channel ${c}: ${(e as Error).message}`;
      this.fail(e instanceof ProtocolError ? new ProtocolError(message) : new Error(message));
    }
  }

  /** multifd_recv_sync_main: resolves once every channel has reached sync point `round`. */
  private allReached(round: number): Promise<void> {
    const lowest = Math.min(...this.reached);
    const ready = this.waiters.filter((w) => w.round <= lowest);
    this.waiters = this.waiters.filter((w) => w.round > lowest);
    for (const w of ready) w.resume();
    if (round <= lowest) return Promise.resolve();
    return new Promise((resume) => this.waiters.push({ round, resume }));
  }

  close(): void {
    this.closed = true;
    for (const conn of this.conns) conn?.close();
  }
}

function unexpected(f: Frame): ProtocolError {
  return new ProtocolError(`unexpected ${commandName(f.type)} on a multifd channel`);
}
