// The frame tags (src/live/integrity.ts): a frame that is altered anywhere, replayed,
// reordered, dropped or tagged under another session's keys fails its check; an intact stream,
// cut into chunks anywhere, passes.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { frameMacs } from "../../src/live/integrity.js";
import { Command, FrameReader, IntegrityError, encodeFrame, type Frame } from "../../src/live/protocol.js";

const secret = Buffer.from("integrity-test-secret");
const nonces = [randomBytes(16), randomBytes(16)] as const;

function session() {
  return { source: frameMacs(secret, ...nonces, "source"), destination: frameMacs(secret, ...nonces, "destination") };
}

/** Three Memory frames from the source, tagged in order. */
function stream() {
  const s = session();
  const payloads = [randomBytes(5000), randomBytes(1), randomBytes(20_000)];
  const frames = payloads.map((p) => encodeFrame(Command.Memory, 0, p, s.source.send));
  return { s, payloads, frames };
}

function read(receive: ReturnType<typeof frameMacs>["receive"], bytes: Buffer, chunk = bytes.length): Frame[] {
  const reader = new FrameReader();
  reader.mac = receive;
  const out: Frame[] = [];
  for (let at = 0; at < bytes.length; at += chunk) reader.push(bytes.subarray(at, at + chunk), (f) => out.push(f));
  return out;
}

describe("frame tags", () => {
  it("an intact stream passes, in chunks of any size", () => {
    for (const chunk of [1, 7, 4096, 1 << 20]) {
      const { s, payloads, frames } = stream();
      const got = read(s.destination.receive, Buffer.concat(frames), chunk);
      expect(got.map((f) => Buffer.from(f.payload))).toEqual(payloads);
    }
  });

  it("a frame longer than a socket read arrives as views of the reads, not joined", () => {
    const s = session();
    const payload = randomBytes(1 << 20);
    const bytes = encodeFrame(Command.Memory, 0, payload, s.source.send);
    const reads: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 65536) reads.push(Buffer.from(bytes.subarray(at, at + 65536)));
    const reader = new FrameReader();
    reader.mac = s.destination.receive;
    const got: Frame[] = [];
    for (const r of reads) reader.push(r, (f) => got.push(f));
    expect(got).toHaveLength(1);
    const parts = got[0].parts;
    expect(parts.length).toBeGreaterThanOrEqual(16);
    // Each part lies in one of the reads' own memory: no copy was made.
    for (const p of parts) expect(reads.some((r) => r.buffer === p.buffer)).toBe(true);
    expect(Buffer.concat(parts).equals(payload)).toBe(true);
  });

  it("one flipped bit anywhere in a frame (header, tag, payload) fails the check", () => {
    const { frames } = stream();
    const whole = Buffer.concat(frames);
    for (const at of [0, 5, 9, 12, 20, 28, 1000, frames[0].length - 1, frames[0].length + 3, whole.length - 1]) {
      const bad = Buffer.from(whole);
      bad[at] ^= 0x10;
      // Fresh keys at the same sequence numbers as the original stream's.
      const destination = frameMacs(secret, ...nonces, "destination");
      expect(() => read(destination.receive, bad), `byte ${at}`).toThrow(IntegrityError);
    }
  });

  it("a replayed, reordered or dropped frame fails the check", () => {
    for (const order of [[0, 0], [1, 0], [0, 2]]) {
      const { s, frames } = stream();
      expect(() => read(s.destination.receive, Buffer.concat(order.map((i) => frames[i]))), `frames ${order}`).toThrow(IntegrityError);
    }
  });

  it("frames tagged under another session's nonces, or in the other direction, fail the check", () => {
    const { frames } = stream();
    const other = frameMacs(secret, randomBytes(16), randomBytes(16), "destination");
    expect(() => read(other.receive, frames[0])).toThrow(IntegrityError);
    const reflected = frameMacs(secret, ...nonces, "source"); // the source reading its own frames back
    expect(() => read(reflected.receive, frames[0])).toThrow(IntegrityError);
  });

  it("a flipped length is caught by the header's tag before the reader waits for that many bytes", () => {
    const { frames } = stream();
    const bad = Buffer.from(frames[0]);
    bad[8] ^= 0x01; // length + 16 MiB
    const destination = frameMacs(secret, ...nonces, "destination");
    expect(() => read(destination.receive, bad.subarray(0, 28))).toThrow(/the header of frame 0 was altered/);
  });
});
