// The destination's backlog (issue 13): before a precopy sync (after which the switch-over may
// be decided) the source waits for the destination to apply what was sent, so a slow (cold)
// destination has nothing left to apply when the guest stops; the sends themselves are not held
// back. A destination that holds its answers to Sync shows it.
import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { PageBitmap } from "../../src/core/bitmap.js";
import type { Device, DeviceContext } from "../../src/core/device.js";
import { Timeline } from "../../src/core/timeline.js";
import { Connection } from "../../src/live/connection.js";
import { authenticate } from "../../src/live/destination.js";
import { liveDevice } from "../../src/live/device.js";
import type { Guest } from "../../src/live/guest/guest.js";
import type { Nic } from "../../src/live/nic.js";
import { Command, type Frame } from "../../src/live/protocol.js";
import { LiveChannel, SourceSession } from "../../src/live/source.js";

const secret = Buffer.from("backlog-test-secret");

/** A destination that answers each Sync only when the test says so; it counts the Memory frames. */
async function holdingDestination() {
  const held: Frame[] = [];
  let memory = 0;
  let conn: Connection | undefined;
  const server = createServer((socket) => {
    const c = new Connection(socket, "source", undefined, 8000);
    conn = c;
    void (async () => {
      const auth = await authenticate(c, secret);
      c.reply(auth.id, Buffer.alloc(16));
      c.secure(auth.macs);
      for (;;) {
        const f = await c.next();
        if (f.type === Command.Memory) memory++;
        else if (f.type === Command.Sync) held.push(f);
        else if (f.id !== 0) c.reply(f.id);
      }
    })().catch(() => c.close());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as { port: number }).port,
    held,
    memory: () => memory,
    /** Answers the oldest held Sync: everything before it is applied. */
    answer: () => conn!.reply(held.shift()!.id),
    close: () => (conn?.close(), server.close()),
  };
}

const eventually = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  return check();
};

describe("the destination's backlog", () => {
  const closers: (() => void)[] = [];
  afterAll(() => closers.forEach((c) => c()));
  /** A source session and its channel, to a destination that holds its Sync answers. */
  const connected = async () => {
    const dest = await holdingDestination();
    closers.push(dest.close);
    const session = await SourceSession.open({ host: "127.0.0.1", port: dest.port }, secret, { bandwidth: Infinity, latencyMs: 0 });
    closers.push(() => session.conn.close());
    return { dest, session, channel: new LiveChannel(session, () => ({}), async () => undefined) };
  };

  it("applied() resolves once the destination answers a Sync sent after every RAM send; the sends are not held back", async () => {
    const { dest, session, channel } = await connected();
    const slice = [[Buffer.alloc(1 << 20)]];
    // Nothing answered, yet every send returns: no window of unapplied bytes holds the sender.
    for (let i = 0; i < 4; i++) await channel.send(0, slice);
    let applied = false;
    void channel.applied().then(() => (applied = true));
    // The Sync comes after the four frames (frames are handled in order: answered, they are applied).
    expect(await eventually(() => dest.held.length === 1)).toBe(true);
    expect(dest.memory()).toBe(4);
    await new Promise((r) => setTimeout(r, 50));
    expect(applied).toBe(false);
    dest.answer();
    expect(await eventually(() => applied)).toBe(true);
  });

  it("the device wrapper's precopy sync runs the device's sync only once applied() resolved; the final sync sends no Sync", async () => {
    const { dest, session, channel } = await connected();
    const synced: boolean[] = [];
    const inner: Device = { kind: "virtio", dmaLogged: () => true, stateBytes: () => 0, sync: async (_ctx, _bitmap, final) => void synced.push(final) };
    // Only the NIC's dmaLogged register is touched on the sync path; the guest not at all.
    const nic = { syncDmaLogged: () => undefined } as unknown as Nic;
    const device = liveDevice(inner, { guest: {} as Guest, nic, session, applied: () => channel.applied() });
    const ctx = { timeline: new Timeline() } as unknown as DeviceContext;
    const bitmap = new PageBitmap(64);
    const slice = [[Buffer.alloc(1 << 20)]];
    await channel.send(0, slice);
    let done = false;
    void device.sync!(ctx, bitmap, false).then(() => (done = true));
    expect(await eventually(() => dest.held.length === 1)).toBe(true);
    expect(dest.memory()).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    expect(synced).toEqual([]);
    dest.answer();
    expect(await eventually(() => done)).toBe(true);
    expect(synced).toEqual([false]);
    // The final sync (guest stopped): the switch-over's Verify is the drain, no Sync goes out.
    await device.sync!(ctx, bitmap, true);
    expect(synced).toEqual([false, true]);
    // A frame sent after it arrives after any Sync sent before it (frames are handled in order).
    await channel.send(0, slice);
    expect(await eventually(() => dest.memory() === 2)).toBe(true);
    expect(dest.held.length).toBe(0);
  });
});
