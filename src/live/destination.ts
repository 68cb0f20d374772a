// The destination: listens for a source, authenticates it, builds a stopped guest from its
// Config, applies the RAM stream and device state, and runs the guest when told to. One
// migration at a time; a refused or failed one frees the guest and the next may come.
// The protocol and the receiver's state machine are described in protocol.ts.

import { createServer, type Server } from "node:net";
import { announceSchedule, type AnnounceParams } from "../core/params.js";
import { parseMac } from "./frame.js";
import { Connection, PeerTimeout } from "./connection.js";
import { frameMacs } from "./integrity.js";
import { checkGuestConfig, type GuestConfig } from "./guest-config.js";
import { Guest } from "./guest/guest.js";
import { nicPages, pageSize } from "./guest/layout.js";
import { RamHasher, hashGroups } from "./guest/hasher.js";
import { Pinner } from "./guest/pinner.js";
import { Nic, type NicDeviceState } from "./nic.js";
import {
  Command, ProtocolError, challengePayload, commandName, jsonPayload, newMigrationId, newNonce, parseJson, readAuth, readStart, type ChannelJoin, type Frame,
} from "./protocol.js";
import { MultifdReceiver } from "./multifd.js";
import { applySection, StreamError } from "./ram-stream.js";
import { firstTouchProbePages, measureFirstTouch } from "./first-touch.js";
import { measureApply } from "./apply-probe.js";
import { PageBitmap } from "../core/bitmap.js";

export interface DestinationOptions {
  host: string;
  port: number;
  secret: Buffer;
  /** Stop listening after the first source (the local destination `run` starts). */
  once?: boolean;
  /** The peer deadline after authentication (ms; default defaultPeerTimeoutMs). */
  peerTimeoutMs?: number;
  log: (line: string) => void;
}

/** A connection must have authenticated this long after it was accepted, or it is closed. */
export const preAuthTimeoutMs = 2000;
/** Connections awaiting authentication at once; more are closed as they arrive. */
export const maxPreAuthConnections = 32;
/** Of those, from one address: a single host cannot take every pre-auth place and keep others out. */
export const maxPreAuthPerAddress = 8;

type ReceiverState = "AwaitStart" | "AwaitAuth" | "AwaitConfig" | "Receiving" | "Running" | "Done";

export interface ListeningDestination {
  address: { host: string; port: number };
  /** Resolves when the destination stops listening (with `once`, after its source). */
  closed: Promise<void>;
  close(): void;
}

export async function listenDestination(o: DestinationOptions): Promise<ListeningDestination> {
  // The one migration slot is taken only by an authenticated source; until then a connection
  // costs a socket for at most preAuthTimeoutMs, and only maxPreAuthConnections at once.
  let busy = false;
  /** The migration in progress's multifd channels, which later connections join. */
  const slot: MigrationSlot = {};
  let preAuth = 0;
  const preAuthFrom = new Map<string, number>();
  const authEnded = (address: string) => {
    preAuth--;
    const n = preAuthFrom.get(address)! - 1;
    if (n === 0) preAuthFrom.delete(address);
    else preAuthFrom.set(address, n);
  };
  let server: Server;
  const closed = new Promise<void>((resolve) => {
    server = createServer((socket) => {
      const address = socket.remoteAddress ?? "";
      const peer = `source ${address}:${socket.remotePort}`;
      const fromAddress = preAuthFrom.get(address) ?? 0;
      if (preAuth >= maxPreAuthConnections || fromAddress >= maxPreAuthPerAddress) {
        socket.destroy();
        return;
      }
      preAuth++;
      preAuthFrom.set(address, fromAddress + 1);
      const conn = new Connection(socket, peer, undefined, o.peerTimeoutMs);
      void authenticate(conn, o.secret)
        .then(
          (auth) => {
            authEnded(address);
            if (auth.join) {
              // A multifd channel of the migration in progress, not a migration of its own.
              const channels = slot.multifd;
              const refusal = channels ? channels.refusal(auth.join) : "no migration here takes multifd channels";
              if (refusal) {
                o.log(`refused ${peer}: ${refusal}`);
                return conn.refuse(auth.id, refusal);
              }
              conn.reply(auth.id);
              conn.secure(auth.macs);
              conn.watch();
              return channels!.serve(auth.join.channel, conn);
            }
            if (busy) {
              conn.refuse(auth.id, "the destination is busy with another migration");
              return;
            }
            busy = true;
            const migrationId = newMigrationId();
            conn.reply(auth.id, migrationId);
            conn.secure(auth.macs);
            conn.watch();
            return receive(conn, peer, o, migrationId, slot).finally(() => {
              busy = false;
              if (o.once) server.close();
            });
          },
          (e: Error) => {
            authEnded(address);
            refused(conn, peer, e, "AwaitAuth", o.log);
          },
        );
    });
    server.on("close", resolve);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server!.address() as { port: number }).port;
  return { address: { host: o.host, port }, closed, close: () => server.close() };
}

/** The handshake, within preAuthTimeoutMs of the connection: resolves with the source's Auth (not yet answered). */
export async function authenticate(conn: Connection, secret: Buffer): Promise<{ id: number; macs: ReturnType<typeof frameMacs>; join?: ChannelJoin }> {
  const timer = setTimeout(() => conn.fail(new PeerTimeout(`it did not authenticate within ${preAuthTimeoutMs / 1000} s`)), preAuthTimeoutMs);
  try {
    const sourceNonce = readStart(await conn.next());
    const nonce = newNonce();
    await conn.send(Command.Challenge, challengePayload(secret, sourceNonce, nonce));
    const auth = await conn.next();
    expect(auth, Command.Auth, "AwaitAuth");
    const { join } = readAuth(auth.payload, secret, nonce);
    return { id: auth.id, macs: frameMacs(secret, sourceNonce, nonce, "destination"), ...(join ? { join } : {}) };
  } finally {
    clearTimeout(timer);
  }
}

/** Logs why a connection ended and tells the peer where the protocol allows it. */
function refused(conn: Connection, peer: string, e: unknown, state: ReceiverState, log: (line: string) => void): void {
  const message = (e as Error).message;
  if (e instanceof ProtocolError || e instanceof StreamError) {
    log(`refused ${peer}: ${message}`);
    conn.refuse(0, message);
  } else if (e instanceof PeerTimeout && state === "AwaitAuth") {
    log(`refused ${peer}: ${message}`);
    conn.fail(e);
  } else if (state === "AwaitAuth") {
    log(`refused ${peer}: it hung up during authentication (it does not share this destination's secret?)`);
    conn.fail(e as Error);
  } else {
    log(`migration from ${peer} aborted in state ${state}: ${message}`);
    conn.fail(e as Error);
  }
}

interface MigrationSlot {
  multifd?: MultifdReceiver;
}

/** An authenticated source's migration, from its Config on. */
async function receive(conn: Connection, peer: string, o: DestinationOptions, migrationId: Buffer, slot: MigrationSlot): Promise<void> {
  let state: ReceiverState = "AwaitConfig";
  let incoming: Incoming | undefined;
  try {
    const config = await conn.next();
    expect(config, Command.Config, state);
    const guestConfig = checkGuestConfig(parseJson<GuestConfig>(config));
    // This host's first touch now, before the guest's threads start (the figures are the
    // process's CPU time), then what applying a data page costs in the memory it populated.
    const probe = new SharedArrayBuffer(firstTouchProbePages * pageSize);
    const firstTouch = await measureFirstTouch(firstTouchProbePages, probe);
    const apply = await measureApply(probe);
    incoming = await Incoming.create(guestConfig);
    if (guestConfig.multifdChannels) {
      const job = incoming;
      slot.multifd = new MultifdReceiver(migrationId, guestConfig.multifdChannels, (parts) => job.applyMemory(parts), (e) => conn.fail(e));
    }
    // -mem-prealloc: every page faulted in before the migration starts (in the pinning thread,
    // so keepalives go on; a later Pin then finds it done, as pinning finds populated RAM).
    let preallocMs: number | undefined;
    if (guestConfig.prealloc) {
      const t = performance.now();
      await incoming.pinner.pin();
      preallocMs = performance.now() - t;
    }
    conn.reply(config.id, jsonPayload({ firstTouch, apply, ...(preallocMs !== undefined ? { preallocMs } : {}) }));
    o.log(`migration from ${peer}: ${incoming.guest.pageCount * pageSize / 2 ** 20} MiB guest`);
    state = "Receiving";
    for (;;) {
      const f = await conn.next();
      switch (f.type) {
        case Command.Memory:
          expectState(state, "Receiving", f);
          incoming.applyMemory(f.parts);
          break;
        case Command.State:
          expectState(state, "Receiving", f);
          incoming.loadState(f.payload);
          break;
        case Command.Pin: {
          expectState(state, "Receiving", f);
          // Pinning runs in its own thread; closing the guest (Abandon, a failure) stops it, and no reply follows.
          const job = incoming;
          void job.pinner.pin().then((times) => job.isOpen && conn.reply(f.id, jsonPayload(times ?? null)));
          break;
        }
        case Command.Sync:
          conn.reply(f.id);
          break;
        case Command.Verify: {
          expectState(state, "Receiving", f);
          const groups = incoming.verifyGroups(f.payload);
          // Everything before it is applied (frames are handled in order), and the NIC has not
          // started here: hash its pages as they arrived, and wait for every hash.
          const job = incoming;
          job.markNicPages();
          void job.hasher.settle().then(() => {
            const h = groups ? job.hasher.groupHashes(groups) : job.hasher.groupDigests();
            conn.reply(f.id, Buffer.from(h.buffer));
          });
          break;
        }
        case Command.NicStart:
          incoming.nic.run();
          conn.reply(f.id);
          break;
        case Command.Complete:
          expectState(state, "Receiving", f);
          incoming.announce(checkAnnounce(parseJson<{ announce?: AnnounceParams } | null>(f)?.announce));
          incoming.guest.resume();
          state = "Running";
          conn.reply(f.id);
          break;
        case Command.End:
          expectState(state, "Running", f);
          conn.reply(f.id, jsonPayload({ nic: incoming.nic.stats, ...(slot.multifd ? { multifd: slot.multifd.stats } : {}) }));
          state = "Done";
          o.log(`migration from ${peer}: completed; the guest ran here until the source ended the session`);
          conn.close();
          return;
        case Command.Abandon:
          o.log(`migration from ${peer} abandoned: ${f.payload.toString("utf8")}`);
          conn.close();
          return;
        default:
          throw new ProtocolError(`unexpected ${commandName(f.type)} in state ${state}`);
      }
    }
  } catch (e) {
    refused(conn, peer, e, state, o.log);
  } finally {
    slot.multifd?.close();
    slot.multifd = undefined;
    await incoming?.close();
  }
}

const noChange = () => undefined;

function checkAnnounce(a: AnnounceParams | undefined): AnnounceParams {
  const ok = (v: unknown, hi: number) => typeof v === "number" && v >= 0 && v <= hi;
  if (!a || !ok(a.rounds, 100) || !ok(a.initialMs, 60_000) || !ok(a.maxMs, 60_000) || !ok(a.stepMs, 60_000)) {
    throw new ProtocolError("malformed Complete: announce must be {initialMs, maxMs, rounds, stepMs}");
  }
  return a;
}

function expect(f: Frame, type: number, state: ReceiverState): void {
  if (f.type === Command.Abandon) throw new Error(`the source abandoned: ${f.payload.toString("utf8")}`);
  if (f.type !== type) throw new ProtocolError(`malformed handshake: expected ${commandName(type)} in state ${state}, got ${commandName(f.type)}`);
}

function expectState(state: ReceiverState, wanted: ReceiverState, f: Frame): void {
  if (state !== wanted) throw new ProtocolError(`unexpected ${commandName(f.type)} in state ${state}`);
}

/**
 * The guest being received: its RAM, vCPUs and NIC. Its hashes are of the NIC's pages (the only
 * ones untracked DMA reaches, hashed at Verify) or, with `verifyAllPages`, of every page,
 * hashed run by run beside the stream.
 */
class Incoming {
  /** Pages that may hold data (a zero run need clear only these). */
  private readonly nonZero: PageBitmap;
  private closed = false;

  /** Whether the guest is still being received (not yet closed by Abandon or a failure). */
  get isOpen(): boolean {
    return !this.closed;
  }

  private constructor(
    readonly guest: Guest,
    readonly nic: Nic,
    readonly hasher: RamHasher,
    readonly pinner: Pinner,
    private readonly hashAllPages: boolean,
  ) {
    this.nonZero = new PageBitmap(guest.pageCount);
  }

  static async create(c: GuestConfig): Promise<Incoming> {
    const mac = parseMac(c.mac);
    const guest = await Guest.create({ pageCount: c.pageCount, vcpus: c.vcpus, workload: c.workload, seed: (c.seed + 1) >>> 0, mac, startStopped: true });
    // Nobody reads a dirty log here: the destination's NIC need not log its DMA.
    const nic = new Nic(guest, { mac, switchAddress: c.switch, dmaLogged: () => false });
    await nic.open();
    const incoming = new Incoming(guest, nic, new RamHasher(guest, c.verifyAllPages === true), new Pinner(guest), c.verifyAllPages === true);
    // The NIC's pages are hashed at Verify, inside the downtime. Hashed once now, the pages the
    // stream never writes (buffers that held no frame) are mapped: left to Verify, their first
    // reads' faults (~10-25 us a page here) were part of its hashing (docs/live.md, eleventh round).
    incoming.markNicPages();
    await incoming.hasher.settle();
    return incoming;
  }

  /** Returns the pages the section named. */
  applyMemory(section: readonly Buffer[]): number {
    return applySection(section, this.guest.bytes, pageSize, this.nonZero, this.hashAllPages ? (first, pages) => this.hasher.mark(first, first + pages) : noChange);
  }

  /** The NIC's pages are compared whatever else is: hash them as they are now. */
  markNicPages(): void {
    for (const p of nicPages(this.guest.nic)) this.hasher.mark(p, p + 1);
  }

  /** A Verify's payload: no groups (the digests are wanted), or the groups whose page hashes are. */
  verifyGroups(payload: Buffer): Uint32Array | undefined {
    if (payload.length === 0) return undefined;
    const count = hashGroups(this.guest.pageCount);
    if (payload.length % 4 !== 0 || payload.length / 4 > count) throw new ProtocolError(`malformed Verify: ${payload.length} bytes is not a list of at most ${count} group numbers`);
    const groups = new Uint32Array(payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.length));
    if (groups.some((g) => g >= count)) throw new ProtocolError(`malformed Verify: a group number beyond the guest's ${count} groups`);
    return groups;
  }

  loadState(payload: Buffer): void {
    let s: Partial<NicDeviceState> | null;
    try {
      s = JSON.parse(payload.toString("utf8")) as Partial<NicDeviceState> | null;
    } catch {
      s = null;
    }
    if (typeof s?.rxNext !== "number" || typeof s.txNext !== "number") throw new ProtocolError("malformed State: not the NIC's device state {rxNext, txNext}");
    this.nic.loadState(s as NicDeviceState);
  }

  /** qemu_announce_self, on the destination once the guest runs: a RARP per round (timed by the NIC's thread). */
  announce(a: AnnounceParams): void {
    this.nic.announce(announceSchedule(a));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.hasher.close();
    await this.pinner.close();
    await this.nic.close();
    await this.guest.shutdown();
  }
}
