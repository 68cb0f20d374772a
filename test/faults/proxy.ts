// A TCP proxy on real sockets between a real `livemig run` and a real `livemig dest`, that
// reads the frame headers going from source to destination (it holds no keys: it only
// counts) and, at a chosen point of the migration, does one thing to the stream: cut it,
// stall it (stop forwarding, keep both sockets open), delay it, flip a byte, or hand the
// moment to the test (to signal a process).
import { connect, createServer, type Server, type Socket } from "node:net";
import { tagBytes } from "../../src/live/integrity.js";
import { Command, headerBytes } from "../../src/live/protocol.js";

/** Where in the migration: the Config frame, a Memory frame past 8 MiB, the device State (vCPUs stopped), the Verify. */
export type FaultPoint = "setup" | "precopy" | "switchover" | "verify";
export type FaultAction =
  | { kind: "cut" }
  | { kind: "stall" }
  | { kind: "delay"; ms: number }
  /** Flips one byte of the frame's payload, `at` (a fraction of its length) in. */
  | { kind: "corrupt"; at: number }
  | { kind: "call"; fn: () => void };

const precopyBytes = 8 << 20;
const now = () => performance.timeOrigin + performance.now();

/** Follows the frame layout of one direction (source to destination) byte by byte, across chunks. */
class FrameTap {
  private seen = 0;
  private next = 0;
  private head: number[] = [];
  private tagged = false;

  /** Frames whose header completes in this chunk: type, absolute start and payload offsets, length. */
  scan(chunk: Buffer): { type: number; start: number; payload: number; length: number }[] {
    const chunkStart = this.seen;
    this.seen += chunk.length;
    const out = [];
    for (;;) {
      const at = this.next + this.head.length;
      if (at >= this.seen) return out;
      this.head.push(chunk[at - chunkStart]);
      if (this.head.length < headerBytes) continue;
      const h = Buffer.from(this.head);
      const type = h[0];
      const length = h.readUInt32BE(8);
      const tags = this.tagged ? 2 * tagBytes : 0;
      out.push({ type, start: this.next, payload: this.next + headerBytes + tags / 2, length });
      this.next += headerBytes + length + tags;
      this.head = [];
      // After Auth (and its untagged Reply) every frame carries its two tags.
      if (type === Command.Auth) this.tagged = true;
    }
  }

  get position(): number {
    return this.seen;
  }
}

export interface FaultProxy {
  port: number;
  /** When the fault was applied (epoch ms, as the timeline's clock), if it was. */
  firedAt: number | undefined;
  /** When each side closed its socket of its own accord (epoch ms): when it gave up. */
  gaveUp: { source?: number; destination?: number };
  close(): Promise<void>;
}

export async function faultProxy(target: number, point: FaultPoint, action: FaultAction): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const state: FaultProxy = { port: 0, firedAt: undefined, gaveUp: {}, close: async () => undefined };
  let stalled = false;
  let delayMs = 0;
  /** Pending corruption: the absolute offset of the byte to flip in the source's stream. */
  let flipAt = -1;
  const server: Server = createServer((src) => {
    const dst = connect(target, "127.0.0.1");
    let cut = false;
    for (const [s, side] of [[src, "source"], [dst, "destination"]] as const) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => {
        sockets.delete(s);
        if (!cut && state.gaveUp[side] === undefined) state.gaveUp[side] = now();
        // A stalled proxy keeps the other socket open: each side must notice on its own.
        if (stalled) return;
        cut = true;
        // Passed on as a close, after what the stream still holds (a delayed stream's bytes, a last Error frame).
        setTimeout(() => {
          const other = s === src ? dst : src;
          other.end();
          setTimeout(() => other.destroy(), 1000).unref();
        }, delayMs);
      });
    }
    const forward = (to: Socket, chunk: Buffer) => {
      if (stalled) return;
      if (delayMs > 0) setTimeout(() => !stalled && to.write(chunk), delayMs);
      else to.write(chunk);
    };
    const tap = new FrameTap();
    let memoryBytes = 0;
    src.on("data", (chunk: Buffer) => {
      const chunkStart = tap.position;
      for (const f of tap.scan(chunk)) {
        if (f.type === Command.Memory) memoryBytes += f.length;
        const hit =
          state.firedAt === undefined &&
          ((point === "setup" && f.type === Command.Config) ||
            (point === "precopy" && f.type === Command.Memory && memoryBytes > precopyBytes) ||
            (point === "switchover" && f.type === Command.State) ||
            (point === "verify" && f.type === Command.Verify));
        if (!hit) continue;
        state.firedAt = now();
        const before = Math.max(0, f.start - chunkStart);
        if (action.kind === "corrupt") {
          flipAt = f.payload + Math.floor(f.length * action.at);
          continue;
        }
        // Everything before the frame goes through; the fault applies from the frame on.
        forward(dst, chunk.subarray(0, before));
        chunk = chunk.subarray(before);
        if (action.kind === "cut") {
          cut = true;
          src.destroy();
          dst.destroy();
          return;
        }
        if (action.kind === "stall") stalled = true;
        if (action.kind === "delay") delayMs = action.ms;
        if (action.kind === "call") action.fn();
        break;
      }
      if (flipAt >= chunkStart && flipAt < tap.position) {
        chunk = Buffer.from(chunk);
        chunk[flipAt - chunkStart] ^= 0x01;
        flipAt = -1;
      }
      forward(dst, chunk);
    });
    dst.on("data", (chunk: Buffer) => forward(src, chunk));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.port = (server.address() as { port: number }).port;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return state;
}
