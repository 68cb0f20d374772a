// Integrity of every frame after the handshake: each direction has its own key, derived
// from the shared secret and both handshake nonces (HKDF-SHA256), and each frame carries two
// 16-byte GMAC tags (AES-256-GCM over no plaintext, the bytes as associated data):
//
//   header (12) | tag(header) | payload (length) | tag(header || payload)
//
// The IV is the frame's sequence number in its direction (and which tag), so a frame that is
// altered, dropped, replayed or reordered fails the next check. The header's own tag is
// checked before its length is trusted: a flipped length byte cannot make the reader wait for
// bytes that will never come. GMAC rather than HMAC-SHA256 because it costs little on the
// stream: 4.4 GB/s against 1.1 GB/s on this machine's AES-NI/PCLMUL (docs/live.md).

import { createCipheriv, hkdfSync } from "node:crypto";
import type { Role } from "./protocol.js";

export const tagBytes = 16;
const algorithm = "aes-256-gcm";

/** The MAC of one direction of one connection: frames are tagged in order. */
export class FrameMac {
  private seq = 0n;
  private readonly iv = Buffer.alloc(12);

  constructor(private readonly key: Buffer) {}

  /** Frames tagged so far; the next frame's sequence number. */
  get frames(): bigint {
    return this.seq;
  }

  headerTag(header: Uint8Array): Buffer {
    return this.tag(0, header);
  }

  /** The frame's final tag, its payload given whole or as the parts it arrived in; advances the sequence. */
  frameTag(header: Uint8Array, payload: Uint8Array | readonly Uint8Array[]): Buffer {
    const t = payload instanceof Uint8Array ? this.tag(1, header, payload) : this.tag(1, header, ...payload);
    this.seq++;
    return t;
  }

  private tag(which: number, ...parts: Uint8Array[]): Buffer {
    this.iv.writeUInt32BE(which, 0);
    this.iv.writeBigUInt64BE(this.seq, 4);
    const gmac = createCipheriv(algorithm, this.key, this.iv);
    for (const p of parts) gmac.setAAD(p);
    gmac.final();
    return gmac.getAuthTag();
  }
}

/** The two directions' keys of a connection, as the side `role` sees them. */
export function frameMacs(secret: Buffer, sourceNonce: Buffer, destinationNonce: Buffer, role: Role): { send: FrameMac; receive: FrameMac } {
  const salt = Buffer.concat([sourceNonce, destinationNonce]);
  const key = (from: Role) => Buffer.from(hkdfSync("sha256", secret, salt, `livemig frames from the ${from}`, 32));
  const other: Role = role === "source" ? "destination" : "source";
  return { send: new FrameMac(key(role)), receive: new FrameMac(key(other)) };
}
