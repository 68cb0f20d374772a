// The destination: listens for a source, authenticates it, builds a stopped guest from its
// Config, applies the RAM stream and device state, and runs the guest when told to. One
// migration at a time; a refused or failed one frees the guest and the next may come.
// The protocol and the receiver's state machine are described in protocol.ts.

import { createServer, type Server, type Socket } from "node:net";
import { announceSchedule, type AnnounceParams } from "../core/params.js";
import { parseMac } from "./frame.js";
import { Connection } from "./connection.js";
import { checkGuestConfig, type GuestConfig } from "./guest-config.js";
import { Guest } from "./guest/guest.js";
import { pageSize } from "./guest/layout.js";
import { RamHasher } from "./guest/hasher.js";
import { Pinner } from "./guest/pinner.js";
import { Nic, type NicDeviceState } from "./nic.js";
import {
  Command, ProtocolError, challengePayload, commandName, jsonPayload, newNonce, parseJson, readStart, verifyProof, type Frame,
} from "./protocol.js";
import { applySection, StreamError } from "./ram-stream.js";
import { PageBitmap } from "../core/bitmap.js";

export interface DestinationOptions {
  host: string;
  port: number;
  secret: Buffer;
  /** Stop listening after the first source (the local destination `run` starts). */
  once?: boolean;
  log: (line: string) => void;
}

/** How long a peer may stay silent during the handshake. */
const handshakeTimeoutMs = 10_000;

type ReceiverState = "AwaitStart" | "AwaitAuth" | "AwaitConfig" | "Receiving" | "Running" | "Done";

export interface ListeningDestination {
  address: { host: string; port: number };
  /** Resolves when the destination stops listening (with `once`, after its source). */
  closed: Promise<void>;
  close(): void;
}

export async function listenDestination(o: DestinationOptions): Promise<ListeningDestination> {
  let busy = false;
  let server: Server;
  const closed = new Promise<void>((resolve) => {
    server = createServer((socket) => {
      const peer = `source ${socket.remoteAddress}:${socket.remotePort}`;
      if (busy) {
        new Connection(socket, peer).refuse(0, "the destination is busy with another migration");
        return;
      }
      busy = true;
      void receive(socket, peer, o).finally(() => {
        busy = false;
        if (o.once) server.close();
      });
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

async function receive(socket: Socket, peer: string, o: DestinationOptions): Promise<void> {
  const conn = new Connection(socket, peer);
  let state: ReceiverState = "AwaitStart";
  let incoming: Incoming | undefined;
  try {
    const sourceNonce = readStart(await conn.next(handshakeTimeoutMs));
    const nonce = newNonce();
    await conn.send(Command.Challenge, challengePayload(o.secret, sourceNonce, nonce));
    state = "AwaitAuth";
    const auth = await conn.next(handshakeTimeoutMs);
    expect(auth, Command.Auth, state);
    if (!verifyProof(o.secret, "source", nonce, auth.payload)) throw new ProtocolError("authentication failed: the source does not hold the shared secret");
    conn.reply(auth.id);
    state = "AwaitConfig";
    const config = await conn.next(handshakeTimeoutMs);
    expect(config, Command.Config, state);
    incoming = await Incoming.create(checkGuestConfig(parseJson<GuestConfig>(config)));
    conn.reply(config.id);
    o.log(`migration from ${peer}: ${incoming.guest.pageCount * pageSize / 2 ** 20} MiB guest`);
    state = "Receiving";
    for (;;) {
      const f = await conn.next();
      switch (f.type) {
        case Command.Memory:
          expectState(state, "Receiving", f);
          incoming.applyMemory(f.payload);
          break;
        case Command.State:
          expectState(state, "Receiving", f);
          incoming.loadState(f.payload);
          break;
        case Command.Pin: {
          expectState(state, "Receiving", f);
          void incoming.pinner.pin().then(() => conn.reply(f.id));
          break;
        }
        case Command.Sync:
          conn.reply(f.id);
          break;
        case Command.Verify: {
          expectState(state, "Receiving", f);
          // Everything before it is applied (frames are handled in order): wait for its hashes.
          void incoming.hasher.settle().then((h) => conn.reply(f.id, Buffer.from(h.buffer)));
          break;
        }
        case Command.NicStart:
          incoming.nic.run();
          conn.reply(f.id);
          break;
        case Command.Complete:
          expectState(state, "Receiving", f);
          incoming.guest.resume();
          incoming.announce(checkAnnounce(parseJson<{ announce: AnnounceParams }>(f).announce));
          state = "Running";
          conn.reply(f.id);
          break;
        case Command.End:
          expectState(state, "Running", f);
          conn.reply(f.id, jsonPayload({ nic: incoming.nic.stats }));
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
    const message = (e as Error).message;
    if (e instanceof ProtocolError || e instanceof StreamError) {
      o.log(`refused ${peer}: ${message}`);
      conn.refuse(0, message);
    } else if (state === "AwaitAuth") {
      o.log(`refused ${peer}: it hung up during authentication (it does not share this destination's secret?)`);
      conn.fail(e as Error);
    } else {
      o.log(`migration from ${peer} aborted in state ${state}: ${message}`);
      conn.fail(e as Error);
    }
  } finally {
    await incoming?.close();
  }
}

function checkAnnounce(a: AnnounceParams): AnnounceParams {
  const ok = (v: unknown, hi: number) => typeof v === "number" && v >= 0 && v <= hi;
  if (!ok(a?.rounds, 100) || !ok(a.initialMs, 60_000) || !ok(a.maxMs, 60_000) || !ok(a.stepMs, 60_000)) {
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

/** The guest being received: its RAM (hashed page by page beside the stream), vCPUs and NIC. */
class Incoming {
  /** Pages that may hold data (a zero run need clear only these). */
  private readonly nonZero: PageBitmap;

  private constructor(
    readonly guest: Guest,
    readonly nic: Nic,
    readonly hasher: RamHasher,
    readonly pinner: Pinner,
  ) {
    this.nonZero = new PageBitmap(guest.pageCount);
  }

  static async create(c: GuestConfig): Promise<Incoming> {
    const mac = parseMac(c.mac);
    const guest = await Guest.create({ pageCount: c.pageCount, vcpus: c.vcpus, workload: c.workload, seed: (c.seed + 1) >>> 0, mac, startStopped: true });
    // Nobody reads a dirty log here: the destination's NIC need not log its DMA.
    const nic = new Nic(guest, { mac, switchAddress: c.switch, dmaLogged: () => false });
    await nic.open();
    return new Incoming(guest, nic, new RamHasher(guest), new Pinner(guest));
  }

  applyMemory(section: Buffer): void {
    applySection(section, this.guest.bytes, pageSize, this.nonZero, (first, pages) => this.hasher.mark(first, first + pages));
  }

  loadState(payload: Buffer): void {
    let s: NicDeviceState;
    try {
      s = JSON.parse(payload.toString("utf8")) as NicDeviceState;
    } catch {
      throw new ProtocolError("malformed State: not the NIC's device state");
    }
    this.nic.loadState(s);
  }

  /** qemu_announce_self, on the destination once the guest runs: a RARP per round (timed by the NIC's thread). */
  announce(a: AnnounceParams): void {
    this.nic.announce(announceSchedule(a));
  }

  async close(): Promise<void> {
    await this.hasher.close();
    await this.pinner.close();
    await this.nic.close();
    await this.guest.shutdown();
  }
}
