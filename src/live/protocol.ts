// The migration protocol between a source and a destination, after Cloud Hypervisor's
// vm-migration/src/protocol.rs: typed commands in length-prefixed frames over one TCP
// connection, answered (when they need an answer) by a Reply or an Error with the same id.
//
// Every frame: a 12-byte header, then `length` bytes of payload. After the handshake (from
// the Reply to Auth on) each frame also carries two 16-byte tags (integrity.ts):
//
//   0        1        2        4                8                12           28
//   +--------+--------+--------+----------------+----------------+------------+---------+------------+
//   | type   | 0      | 0      | id (u32 BE)    | length (u32 BE)| tag(header)| payload | tag(frame) |
//   +--------+--------+--------+----------------+----------------+------------+---------+------------+
//                                                                 (after the handshake only)
//
// id 0: no reply wanted. Anything else is refused as malformed: an unknown type, a non-zero
// reserved byte, a payload over 64 MiB, a frame out of order, a Start without the magic.
//
// Versioning: `version` travels in Start and Challenge. A peer accepts exactly its own
// version; any change to a frame's layout or meaning, or a new command, bumps it.
//
// Authentication: a shared secret, never sent. Each side proves it holds it by answering
// the other's random nonce with HMAC-SHA256(secret, role || nonce).
//
// Integrity: every frame after the handshake is tagged with GMAC (AES-256-GCM, the frame as
// associated data) under a key per direction, HKDF-SHA256(secret, nonce_s || nonce_d), the
// IV being the frame's sequence number: a changed, dropped, replayed or reordered frame fails
// its check, and the receiver answers with an Error naming the frame and hangs up. The
// header's tag is checked before its length is believed.
//
//   source                                               destination
//     |--- Start {magic, version, nonce_s} ------------------->|  AwaitStart   } within 2 s of
//     |<-- Challenge {magic, version, nonce_d,                 |               } the connection
//     |              HMAC(secret, "destination" || nonce_s)} --|  (source checks it)
//     |--- Auth {HMAC(secret, "source" || nonce_d)} ---------->|  AwaitAuth    }
//     |<-- Reply {migration id} -------------------------------|  (or Error: bad proof, busy)
//     |=== every frame from here on tagged; Keepalive both ways when idle ====|
//     |--- Config {guest shape, workload, NIC, switch,         |  AwaitConfig: first touch
//     |            prealloc} ---------------------------------->|  and apply probed, RAM allocated (and
//     |<-- Reply {firstTouch, apply, preallocMs} --------------|  faulted in if prealloc),
//     |                                                        |  vCPUs created (stopped)
//     |--- Memory {RAM section} ... (no replies) ------------->|  Receiving
//     |--- Sync (before a dirty sync) ------------> <-- Reply -|  everything before it applied
//     |   [multifd: one more connection per channel, its own handshake; its Auth also names the
//     |    migration id and the channel: Auth {proof, id, channel} -> Reply. On it: Memory ...,
//     |    Sync {round} (id 0, no reply: MULTIFD_FLAG_SYNC, the end of a round; the destination
//     |    applies nothing a channel sends after it until every channel's has arrived), and
//     |    Sync (a request) to drain it. A channel's failure fails the migration.]
//     |--- Pin -----------> ... <------------------- Reply ----|  (vdpa: touches all RAM)
//     |--- State {device state} ------------------------------>|
//     |--- Verify --------------------------------> <-- Reply -|  everything before it applied:
//     |                                                        |  {a digest per 256 pages}
//     |   [groups that differ: Verify {groups} -> <-- Reply {their page hashes};
//     |    pages that differ: Memory {them}, Verify again; still different: Abandon]
//     |--- NicStart (the strategy's nic-ready) --------------->|
//     |--- Complete {announce schedule} ---------------------->|  Running: vCPUs resumed; a
//     |                                                        |  RARP at 0, 50, 200, 450, 800 ms
//     |--- End ------------------------------------> <-- Reply |  guest stopped; Done
//     |--- Abandon {reason} (any time before End) ------------>|  Aborted: RAM freed
//     |<-- Error {reason} (either way, any time; then close) --|  Aborted
//
// Deadlines (connection.ts, `--peer-timeout`, default 8 s = D):
// - before authentication (destination): Start, Challenge and Auth within 2 s of the
//   connection being accepted, and at most 32 connections at once awaiting it (8 from one
//   address); more are closed as they arrive. Only an authenticated source takes the one migration slot.
// - after it (both sides): a side that has sent nothing for D/4 sends a Keepalive; a side
//   that has heard nothing for D fails the connection (checked every D/16, so within 17/16 D);
//   a request (all but Pin, whose work grows with the guest) unanswered D after it was sent
//   fails it too. A failed connection fails the migration: the source guest resumes at once
//   (vCPUs, throttle and NIC as before), and the destination frees its guest and its slot.
//
// The receiver (destination) state machine:
//
//   AwaitStart --Start ok--> AwaitAuth --Auth ok, not busy--> AwaitConfig --Config--> Receiving
//   Receiving  --Memory | State | Pin | Sync | Verify | NicStart--> Receiving
//   Receiving  --Complete--> Running --NicStart | Sync--> Running --End--> Done
//   any state  --Keepalive--> the same state
//   AwaitStart, AwaitAuth --2 s after the connection, or busy--> closed (no guest yet)
//   any state  --Abandon | Error | malformed frame | failed tag | wrong version | bad HMAC
//                | silence for D | close--> Aborted
//
// Aborted and Done free the guest (its pinning thread is stopped); the destination then
// waits for the next source.

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { tagBytes, type FrameMac } from "./integrity.js";

/**
 * 2: Memory carries run records (ram-stream.ts) instead of per-page headers; frames after the handshake are tagged.
 * 3: Verify is answered with a digest per group of pages, or, given groups, their page hashes.
 * 4: Config may ask for preallocated RAM; its Reply carries the destination's first-touch figure.
 * 5: multifd channels: Auth's Reply carries the migration id, a channel's Auth names it and the
 *    channel; Config may ask for channels; Sync {round} is a channel's sync point.
 *    Verify's hashes are of the NIC's pages only (the rest hash as zero pages), unless Config
 *    says verifyAllPages.
 * 6: Config's Reply also carries what applying a data page costs the destination (apply-probe.ts).
 * 7: Pin's Reply carries the pinning thread's wall time, CPU and run-queue wait (or null).
 * 8: a group's digest is the sum of its pages' shares (guest/pages.ts digestTerm), not a chain;
 *    Pin's Reply also carries the page faults the pinning thread took.
 */
export const protocolVersion = 8;
export const magic = Buffer.from("livemig\0", "latin1");
export const headerBytes = 12;
export const maxPayloadBytes = 64 << 20;
const nonceBytes = 16;
const macBytes = 32;

export const Command = {
  Start: 1,
  Challenge: 2,
  Auth: 3,
  Config: 4,
  Memory: 5,
  State: 6,
  Pin: 7,
  Sync: 8,
  Verify: 9,
  NicStart: 10,
  Complete: 11,
  End: 12,
  Abandon: 13,
  Keepalive: 14,
  Reply: 0x80,
  Error: 0x81,
} as const;
export type CommandType = (typeof Command)[keyof typeof Command];
const commandNames = new Map<number, string>(Object.entries(Command).map(([k, v]) => [v, k]));

export function commandName(type: number): string {
  return commandNames.get(type) ?? `0x${type.toString(16).padStart(2, "0")}`;
}

export interface Frame {
  type: CommandType;
  id: number;
  /** The payload in one piece (joined on first use if it arrived in several socket reads). */
  payload: Buffer;
  /** The payload as it arrived: views of the socket's reads, in order, not joined. */
  parts: readonly Buffer[];
}

function frame(type: CommandType, id: number, parts: Buffer[]): Frame {
  let whole: Buffer | undefined;
  return {
    type,
    id,
    parts,
    get payload() {
      whole ??= parts.length === 1 ? parts[0] : Buffer.concat(parts);
      return whole;
    },
  };
}

/** A peer broke the protocol: a malformed frame, a wrong version, a failed authentication. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** A frame failed its integrity check: the bytes were changed between the two processes. */
export class IntegrityError extends ProtocolError {
  constructor(message: string) {
    super(message);
    this.name = "IntegrityError";
  }
}

/** A frame's bytes; with `mac` (after the handshake) tagged as integrity.ts describes. */
export function encodeFrame(type: CommandType, id: number, payload: Uint8Array = new Uint8Array(0), mac?: FrameMac): Buffer {
  const out = Buffer.allocUnsafe(headerBytes + payload.length + (mac ? 2 * tagBytes : 0));
  writeFrameHeader(out, type, id, payload.length);
  out.set(payload, headerBytes + (mac ? tagBytes : 0));
  if (mac) sealFrames(out, mac);
  return out;
}

/**
 * A frame whose payload is sent as the chunks that follow its header, unjoined (the RAM
 * stream's runs, views of guest RAM). With `tagged`, room for the two tags is left in place:
 * they are computed by `sealFrames` over the bytes as the link took them, since guest RAM may
 * change under the views until then.
 */
export function frameChunks(type: CommandType, id: number, payload: readonly Uint8Array[], tagged: boolean): Uint8Array[] {
  let length = 0;
  for (const c of payload) length += c.length;
  const head = Buffer.alloc(headerBytes + (tagged ? tagBytes : 0));
  writeFrameHeader(head, type, id, length);
  return tagged ? [head, ...payload, Buffer.alloc(tagBytes)] : [head, ...payload];
}

/** Fills in the tags of the frames laid end to end in `bytes` (each with room for its tags), in order. */
export function sealFrames(bytes: Buffer, mac: FrameMac): void {
  for (let at = 0; at < bytes.length; ) {
    const header = bytes.subarray(at, at + headerBytes);
    const length = bytes.readUInt32BE(at + 8);
    const payloadAt = at + headerBytes + tagBytes;
    mac.headerTag(header).copy(bytes, at + headerBytes);
    mac.frameTag(header, bytes.subarray(payloadAt, payloadAt + length)).copy(bytes, payloadAt + length);
    at = payloadAt + length + tagBytes;
  }
}

function writeFrameHeader(out: Buffer, type: CommandType, id: number, length: number): void {
  out.writeUInt8(type, 0);
  out.writeUInt8(0, 1);
  out.writeUInt16BE(0, 2);
  out.writeUInt32BE(id >>> 0, 4);
  out.writeUInt32BE(length, 8);
}

export function jsonPayload(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), "utf8");
}

export function parseJson<T>(frame: Frame): T {
  try {
    return JSON.parse(frame.payload.toString("utf8")) as T;
  } catch {
    throw new ProtocolError(`malformed ${commandName(frame.type)} frame: its payload is not JSON`);
  }
}

/**
 * Cuts a byte stream into frames; throws ProtocolError at the first malformed header, and
 * IntegrityError at the first frame whose tags do not match once `mac` is set.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Set after the handshake: every frame from here on must carry its tags. */
  mac: FrameMac | undefined;
  /** The buffered frame's header has passed its tag. */
  private headerChecked = false;

  /** Calls `onFrame` for each whole frame, in order (it may set `mac` for the next). */
  push(chunk: Buffer, onFrame: (f: Frame) => void): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      const mac = this.mac;
      const headTag = mac ? tagBytes : 0;
      if (this.buffered < headerBytes + headTag) return;
      const head = this.peek(headerBytes + headTag);
      const header = head.subarray(0, headerBytes);
      // Checked once per frame, not again at every chunk of its payload.
      if (mac && !this.headerChecked) {
        if (!timingSafeEqual(mac.headerTag(header), head.subarray(headerBytes))) throw this.altered(mac, "header");
        this.headerChecked = true;
      }
      const type = head.readUInt8(0);
      if (!commandNames.has(type)) throw new ProtocolError(`malformed frame: unknown command ${commandName(type)}`);
      if (head.readUInt8(1) !== 0 || head.readUInt16BE(2) !== 0) throw new ProtocolError("malformed frame: reserved header bytes are not zero");
      const length = head.readUInt32BE(8);
      if (length > maxPayloadBytes) throw new ProtocolError(`malformed frame: ${commandName(type)} payload of ${length} bytes exceeds ${maxPayloadBytes}`);
      if (this.buffered < headerBytes + headTag + length + headTag) return;
      // The payload stays in the socket's reads (views, no join): a Memory frame is a megabyte.
      this.skip(headerBytes + headTag);
      this.headerChecked = false;
      const parts = this.takeParts(length);
      if (mac && !timingSafeEqual(mac.frameTag(header, parts), this.peek(tagBytes))) {
        throw this.altered(mac, `${commandName(type)} frame`);
      }
      this.skip(headTag);
      onFrame(frame(type as CommandType, head.readUInt32BE(4), parts));
    }
  }

  private altered(mac: FrameMac, what: string): IntegrityError {
    return new IntegrityError(`integrity check failed: the ${what} of frame ${mac.frames} was altered in transit (transport corruption or an on-path attacker)`);
  }

  /** The first `n` buffered bytes (a copy of only those when they straddle reads). */
  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first.length >= n) return first.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    for (let k = 0, at = 0; at < n; k++) at += this.chunks[k].copy(out, at, 0, n - at);
    return out;
  }

  /** Drops the first `n` buffered bytes. */
  private skip(n: number): void {
    this.takeParts(n);
  }

  /** The first `n` buffered bytes as views of the reads holding them; removed from the buffer. */
  private takeParts(n: number): Buffer[] {
    const parts: Buffer[] = [];
    this.buffered -= n;
    while (n > 0) {
      const first = this.chunks[0];
      if (first.length <= n) {
        parts.push(first);
        this.chunks.shift();
        n -= first.length;
      } else {
        parts.push(first.subarray(0, n));
        this.chunks[0] = first.subarray(n);
        n = 0;
      }
    }
    return parts;
  }
}

// The handshake.

export type Role = "source" | "destination";

export function newNonce(): Buffer {
  return randomBytes(nonceBytes);
}

function proof(secret: Buffer, role: Role, nonce: Buffer): Buffer {
  return createHmac("sha256", secret).update(role).update(nonce).digest();
}

export function verifyProof(secret: Buffer, role: Role, nonce: Buffer, mac: Buffer): boolean {
  const expected = proof(secret, role, nonce);
  return mac.length === expected.length && timingSafeEqual(mac, expected);
}

export function startPayload(nonce: Buffer, version = protocolVersion): Buffer {
  const v = Buffer.alloc(2);
  v.writeUInt16BE(version);
  return Buffer.concat([magic, v, nonce]);
}

/** Checks a Start or Challenge's magic and version; returns what follows them. */
function readGreeting(frame: Frame, what: string): { version: number; rest: Buffer } {
  const p = frame.payload;
  if (p.length < magic.length + 2 || !p.subarray(0, magic.length).equals(magic)) {
    throw new ProtocolError(`malformed ${what}: not a livemig peer (no protocol magic)`);
  }
  return { version: p.readUInt16BE(magic.length), rest: p.subarray(magic.length + 2) };
}

function checkVersion(version: number, peer: Role): void {
  if (version !== protocolVersion) {
    throw new ProtocolError(`the ${peer} speaks protocol version ${version}; this ${peer === "source" ? "destination" : "source"} speaks version ${protocolVersion}`);
  }
}

export function readStart(frame: Frame): Buffer {
  if (frame.type !== Command.Start) throw new ProtocolError(`malformed handshake: expected Start, got ${commandName(frame.type)}`);
  const { version, rest } = readGreeting(frame, "Start");
  checkVersion(version, "source");
  if (rest.length !== nonceBytes) throw new ProtocolError("malformed Start: bad nonce length");
  return rest;
}

export function challengePayload(secret: Buffer, sourceNonce: Buffer, nonce: Buffer): Buffer {
  const v = Buffer.alloc(2);
  v.writeUInt16BE(protocolVersion);
  return Buffer.concat([magic, v, nonce, proof(secret, "destination", sourceNonce)]);
}

/** Source side: checks the destination's Challenge; returns its nonce to answer. */
export function readChallenge(frame: Frame, secret: Buffer, sourceNonce: Buffer): Buffer {
  if (frame.type === Command.Error) throw new ProtocolError(`the destination refused: ${frame.payload.toString("utf8")}`);
  if (frame.type !== Command.Challenge) throw new ProtocolError(`malformed handshake: expected Challenge, got ${commandName(frame.type)}`);
  const { version, rest } = readGreeting(frame, "Challenge");
  checkVersion(version, "destination");
  if (rest.length !== nonceBytes + macBytes) throw new ProtocolError("malformed Challenge: bad length");
  if (!verifyProof(secret, "destination", sourceNonce, rest.subarray(nonceBytes))) {
    throw new ProtocolError("authentication failed: the destination's proof does not match this secret (the two sides do not share it)");
  }
  return rest.subarray(0, nonceBytes);
}

/** A multifd channel's connection: the migration it joins (the id in the main connection's Auth reply) and its number. */
export interface ChannelJoin {
  migration: Buffer;
  channel: number;
}

export const migrationIdBytes = 16;

export function newMigrationId(): Buffer {
  return randomBytes(migrationIdBytes);
}

/** Auth: the proof; for a multifd channel's connection, then the migration id and the channel (u16 BE). */
export function authPayload(secret: Buffer, destinationNonce: Buffer, join?: ChannelJoin): Buffer {
  const p = proof(secret, "source", destinationNonce);
  if (!join) return p;
  const channel = Buffer.alloc(2);
  channel.writeUInt16BE(join.channel);
  return Buffer.concat([p, join.migration, channel]);
}

/** Destination side: checks Auth's proof; returns the channel it joins, if it is a multifd channel's. */
export function readAuth(payload: Buffer, secret: Buffer, nonce: Buffer): { join?: ChannelJoin } {
  const joined = payload.length === macBytes + migrationIdBytes + 2;
  if (!verifyProof(secret, "source", nonce, joined ? payload.subarray(0, macBytes) : payload)) {
    throw new ProtocolError("authentication failed: the source does not hold the shared secret");
  }
  if (!joined) return {};
  return { join: { migration: payload.subarray(macBytes, macBytes + migrationIdBytes), channel: payload.readUInt16BE(macBytes + migrationIdBytes) } };
}

/** A multifd channel's sync point: Sync with id 0 and its round (u32 BE, from 1). */
export function syncPointPayload(round: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(round);
  return b;
}

export function readSyncPoint(frame: Frame): number {
  if (frame.payload.length !== 4) throw new ProtocolError(`malformed Sync: a sync point carries its round in 4 bytes, got ${frame.payload.length}`);
  return frame.payload.readUInt32BE(0);
}
