// The source's side of the connection (handshake, then the commands the controller's live
// ports need), and those ports: the guest's RAM as the controller sees it, and the channel.

import { connect } from "node:net";
import { PageBitmap, PageRuns } from "../core/bitmap.js";
import type { AnnounceParams } from "../core/params.js";
import type { Channel, GuestRam, StreamPayload } from "../core/ports.js";
import { Connection, defaultPeerTimeoutMs } from "./connection.js";
import { frameMacs } from "./integrity.js";
import type { LinkTime } from "./link.js";
import type { GuestConfig } from "./guest-config.js";
import type { Guest } from "./guest/guest.js";
import type { PinTimes } from "./guest/pinner.js";
import type { RamHasher } from "./guest/hasher.js";
import { nicPages, pageSize } from "./guest/layout.js";
import { hashGroupPages, isZeroPage, runOfKind } from "./guest/pages.js";
import { Command, ProtocolError, authPayload, jsonPayload, newNonce, parseJson, readChallenge, startPayload, type ChannelJoin } from "./protocol.js";
import { checkPageProbe, type PageProbe } from "./first-touch.js";
import { encodeSections } from "./ram-stream.js";
import { wallNow } from "./clock.js";

const connectTimeoutMs = 5000;

export class SourceSession {
  private constructor(
    readonly conn: Connection,
    /** The destination's id for this migration (Auth's reply): multifd channels name it to join. */
    readonly migrationId: Buffer,
  ) {}

  /** Connects and authenticates; rejects with a message naming what the peer got wrong. */
  static async open(
    address: { host: string; port: number },
    secret: Buffer,
    shape: { bandwidth: number; latencyMs: number; time?: LinkTime },
    version?: number,
    /** The peer deadline (Connection): silence or an unanswered request this long fails the migration. */
    deadlineMs = defaultPeerTimeoutMs,
    /** A multifd channel's connection: the migration and channel it joins. */
    join?: ChannelJoin,
  ): Promise<SourceSession> {
    const peer = `destination ${address.host}:${address.port}`;
    const socket = connect(address.port, address.host);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => (socket.destroy(), reject(new Error(`cannot connect to ${peer}: no answer within ${connectTimeoutMs / 1000} s`))), connectTimeoutMs);
      socket.once("connect", () => (clearTimeout(timer), resolve()));
      socket.once("error", (e: NodeJS.ErrnoException) => (clearTimeout(timer), reject(new Error(`cannot connect to ${peer}: ${e.code ?? e.message}`))));
    });
    const conn = new Connection(socket, peer, shape, deadlineMs);
    conn.watch();
    try {
      const nonce = newNonce();
      await conn.send(Command.Start, startPayload(nonce, version));
      const destinationNonce = readChallenge(await conn.next(deadlineMs), secret, nonce);
      // Auth's reply is the destination's last untagged frame; everything after it is tagged.
      const macs = frameMacs(secret, nonce, destinationNonce, "source");
      const reply = await conn.request(Command.Auth, authPayload(secret, destinationNonce, join), { onReply: () => conn.secure(macs) });
      // This connection carries RAM: its staging buffers' page faults belong to setup, not to the stream.
      conn.prefaultStaging();
      return new SourceSession(conn, reply.payload);
    } catch (e) {
      conn.fail(e as Error);
      throw e;
    }
  }

  /**
   * The guest's shape; the reply says what a first touch of fresh memory and the apply of a
   * data page into populated memory cost at the destination now, and how long preallocating
   * its RAM took (preallocation, like Pin, grows with the guest: liveness watches it instead
   * of a deadline).
   */
  async config(c: GuestConfig): Promise<{ firstTouch: PageProbe; apply: PageProbe; preallocMs?: number }> {
    const reply = await this.conn.request(Command.Config, jsonPayload(c), { unbounded: c.prealloc === true });
    const r = parseJson<{ firstTouch?: unknown; apply?: unknown; preallocMs?: unknown } | null>(reply);
    const firstTouch = checkPageProbe(r?.firstTouch);
    const apply = checkPageProbe(r?.apply);
    const preallocMs = r?.preallocMs;
    if (!firstTouch || !apply || (preallocMs !== undefined && !(typeof preallocMs === "number" && preallocMs >= 0))) {
      throw new ProtocolError("malformed Config reply: expected {firstTouch: {cpuUs, wallUs, pages}, apply: {cpuUs, wallUs, pages}, preallocMs?}");
    }
    return { firstTouch, apply, ...(typeof preallocMs === "number" ? { preallocMs } : {}) };
  }

  /** What the destination's pinning thread reported with its Pin reply (protocol 7), once pinned. */
  pinTimes: PinTimes | undefined;

  async pin(): Promise<void> {
    const reply = await this.conn.request(Command.Pin, undefined, { unbounded: true });
    const t = parseJson<Partial<PinTimes> | null>(reply);
    const ms = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0;
    if (t !== null && !(ms(t?.wallMs) && ms(t?.cpuMs) && ms(t?.waitMs) && ms(t?.faults))) throw new ProtocolError("malformed Pin reply: expected {wallMs, cpuMs, waitMs, faults} or null");
    this.pinTimes = t === null ? undefined : (t as PinTimes);
  }

  /**
   * The destination's switch-over hashes, once everything sent before is applied and hashed:
   * without `groups`, a digest per group of pages; with them, those groups' page hashes.
   */
  async verify(groups?: Uint32Array): Promise<Uint32Array> {
    const reply = await this.conn.request(Command.Verify, groups && Buffer.from(groups.buffer, groups.byteOffset, groups.byteLength));
    const p = reply.payload;
    if (p.length % 4 !== 0) throw new ProtocolError(`malformed Verify reply: ${p.length} bytes is not a list of 4-byte hashes`);
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
 * The migration stream: RAM sections as Memory, device state as State. `applied()` waits for
 * the destination to apply what was sent (a Sync, answered once everything before it is
 * applied): a precopy sync does (device.ts), so that what a cold destination has still to
 * apply (up to the sockets' ~6 MiB: 60-100 ms at this host's 17-30 us first touch,
 * docs/live.md) is applied before the switch-over, not inside the downtime. The sender is not
 * held back otherwise (a window of unapplied bytes would bound the stream to window / round
 * trip). At switch-over `onDrained` compares both sides' RAM: its Verify is answered only once
 * everything before it is applied, so it is the drain (no Sync round trip of its own).
 */
export class LiveChannel implements Channel {
  constructor(
    private readonly session: SourceSession,
    /** The NIC's device state, as it is when sent. */
    private readonly deviceState: () => unknown,
    /** Drains the stream and compares both sides' RAM (see above). */
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

  /** Resolves once the destination has applied everything sent so far. */
  async applied(): Promise<void> {
    await this.session.conn.request(Command.Sync);
  }

  async drain(): Promise<void> {
    await this.onDrained();
  }
}

/** The guest as the controller drives it: the source's RAM and vCPUs, resumed at the destination. */
export class LiveGuestRam implements GuestRam {
  readonly pageCount: number;
  readonly pageSize = pageSize;
  /** When the migration waited for the switch-over check (for the timeline's verify span). */
  verifyWait: { t: number; end: number } | undefined;
  /** Pages that differed at the first comparison (re-sent and checked again before resuming). */
  private stale: number[] = [];
  /** Both sides' RAM compared equal: only then may the guest run at the destination. */
  private verified = false;
  /**
   * Pages the controller's walk found zero since the last read: the read encodes them as zero
   * without comparing them again. Each zero page of an idle first pass was compared twice,
   * the larger part of the source's long event-loop stretches (docs/live.md, ninth round).
   */
  private readonly checkedZero: PageBitmap;
  /** The ranges set in `checkedZero`, to clear only those. */
  private readonly checkedRuns: PageRuns;
  /**
   * The walk's own zero checks: pages found zero and the wall time those checks took. On this
   * host they cost ~2x what the probe at the run's start measures (0.36-0.42 against 0.21-0.23
   * us a page, docs/live.md, eleventh round): the guest's RAM is not as hot in the page tables
   * when its pass reaches it as the probe's fresh 64 MiB is. `run --predict` uses this figure.
   */
  readonly zeroWalk = { pages: 0, ms: 0 };

  constructor(
    private readonly guest: Guest,
    private readonly session: SourceSession,
    private readonly hasher: RamHasher,
    /** The destination announces the guest at this schedule once it runs there. */
    private readonly announce: AnnounceParams,
    /**
     * Hash every page (`run --verify all`): all at the start of dirty logging, then what each
     * sync names. Otherwise only the NIC's pages, at the final sync (see `verify`).
     */
    private readonly hashAllPages = false,
  ) {
    this.pageCount = guest.pageCount;
    this.checkedZero = new PageBitmap(guest.pageCount);
    this.checkedRuns = new PageRuns(64);
  }

  startDirtyLog(): void {
    this.guest.clearDirtyLog();
    // From here every write but untracked DMA reaches the log: hash all once, then what it names.
    if (this.hashAllPages) this.hasher.markAll();
  }

  stopDirtyLog(): void {}

  syncDirtyLog(into: PageBitmap): number {
    this.forgetChecks();
    const n = this.guest.syncDirtyLog(into, this.hashAllPages ? (words) => this.hasher.markWords(words) : undefined);
    // The final sync: vCPUs and NIC are stopped. Untracked DMA may have written the NIC's
    // pages behind the log's back: hash them (again).
    if (!this.guest.vcpusRunning) {
      for (const p of nicPages(this.guest.nic)) this.hasher.mark(p, p + 1);
      // Hashed now (here, or by the hash thread beside the final RAM), so that the comparison's
      // request goes out at once: hashed after it, on this thread, they held it back.
      void this.hasher.settle();
    }
    return n;
  }

  isZero(page: number): boolean {
    const t = performance.now();
    const zero = isZeroPage(this.guest.buffer, page);
    if (zero) this.checked(page, 1, performance.now() - t);
    return zero;
  }

  runOfKind(from: number, max: number, zero: boolean): number {
    const t = performance.now();
    const n = runOfKind(this.guest.buffer, this.guest.words, from, max, zero);
    if (zero && n > 0) this.checked(from, n, performance.now() - t);
    return n;
  }

  private checked(from: number, pages: number, ms: number): void {
    this.checkedZero.setRange(from, from + pages);
    this.checkedRuns.add(from, pages);
    this.zeroWalk.pages += pages;
    this.zeroWalk.ms += ms;
  }

  /** Forgets the walk's zero checks: from here on a page must be looked at again. */
  private forgetChecks(): void {
    const r = this.checkedRuns;
    for (let i = 0; i < r.count; i++) this.checkedZero.clearRange(r.starts[i], r.starts[i] + r.lengths[i]);
    r.clear();
  }

  async readPages(runs: PageRuns): Promise<StreamPayload> {
    const payload = encodeSections(this.guest.buffer, this.guest.words, pageSize, runs, this.checkedZero);
    this.forgetChecks();
    return payload;
  }

  stopVcpus(): void {
    this.guest.stop();
  }

  /**
   * Resumes the guest: at the destination once its RAM has been verified; otherwise (the
   * controller resuming after a failure) here, at once, whatever the destination does.
   */
  resumeVcpus(): void {
    if (this.verified) this.session.post(Command.Complete, jsonPayload({ announce: this.announce }));
    else this.guest.resume();
  }

  setThrottle(fraction: number): void {
    this.guest.setThrottle(fraction);
  }

  /**
   * Compares the page hashes of both sides: called when the stream has drained at switch-over
   * (vCPUs and source NIC stopped, everything applied at the destination, whose NIC has not
   * started), so the comparison is of exactly what the migration moved. Frames are
   * integrity-checked, so a difference is a write the dirty log never saw (untracked DMA):
   * those pages are reported, re-sent from the stopped RAM and compared again; if any still
   * differs the migration fails and the guest stays here.
   *
   * Only the NIC's pages are compared unless `hashAllPages`, and that is exact for stale pages:
   * every other page changes only by a vCPU write, which marks its page in the dirty log after
   * writing it (vcpu.ts, driver.ts), so a write after a page's last copy is always followed by
   * a mark the next sync takes, and the final sync (vCPUs stopped) leaves none behind; what
   * crosses is GMAC-checked. What the full comparison adds is a check of the engine itself
   * (a page the stream lost), at ~0.25 s of CPU per GiB on each side (docs/live.md).
   */
  async verify(): Promise<void> {
    const t = wallNow();
    const [there] = await Promise.all([this.session.verify(), this.hasher.settle()]);
    this.stale = await this.differing(there);
    if (this.stale.length > 0) {
      // Re-sent as they are now (vCPUs and NIC stopped), then compared again.
      const runs = new PageRuns(this.stale.length);
      for (const p of this.stale) runs.add(p, 1);
      await this.session.conn.sendFrames(Command.Memory, encodeSections(this.guest.buffer, this.guest.words, pageSize, runs), 0);
      const still = await this.differing(await this.session.verify());
      if (still.length > 0) {
        throw new Error(`${still.length} pages still differ from the source after being re-sent (first: page ${still[0]}); the guest stays at the source`);
      }
    }
    this.verified = true;
    this.verifyWait = { t, end: wallNow() };
  }

  /** The pages whose hashes differ here and there, given the destination's group digests: asks for the page hashes of the groups that differ. */
  private async differing(thereDigests: Uint32Array): Promise<number[]> {
    const here = this.hasher.groupDigests();
    if (thereDigests.length !== here.length) throw new Error(`the destination's Verify reply holds ${thereDigests.length} group digests, not ${here.length}`);
    const groups: number[] = [];
    for (let g = 0; g < here.length; g++) if (here[g] !== thereDigests[g]) groups.push(g);
    if (groups.length === 0) return [];
    const list = Uint32Array.from(groups);
    const mine = this.hasher.groupHashes(list);
    const theirs = await this.session.verify(list);
    if (theirs.length !== mine.length) throw new Error(`the destination's Verify reply holds ${theirs.length} page hashes, not ${mine.length}`);
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      for (let k = 0; k < hashGroupPages; k++) {
        const page = groups[i] * hashGroupPages + k;
        if (page < this.pageCount && mine[i * hashGroupPages + k] !== theirs[i * hashGroupPages + k]) out.push(page);
      }
    }
    return out;
  }

  /** Pages that differed at the switch-over and were re-sent before the destination resumed. */
  get resent(): number {
    return this.stale.length;
  }

  stalePages(): number[] {
    return this.stale;
  }
}
