// The destination's backlog (issue 13): the source keeps what the destination has received but
// not yet applied within two slices, so a slow (cold) destination is never more than a slice
// behind when the guest stops. A destination that holds its answers to the Syncs shows it.
import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { Connection } from "../../src/live/connection.js";
import { authenticate } from "../../src/live/destination.js";
import { Command, type Frame } from "../../src/live/protocol.js";
import { LiveChannel, SourceSession, unappliedWindowBytes } from "../../src/live/source.js";

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

  it("a RAM send waits while more than the window is unapplied; applied() waits for every send", async () => {
    const dest = await holdingDestination();
    closers.push(dest.close);
    const session = await SourceSession.open({ host: "127.0.0.1", port: dest.port }, secret, { bandwidth: Infinity, latencyMs: 0 });
    closers.push(() => session.conn.close());
    const channel = new LiveChannel(session, () => ({}), async () => undefined);
    // A slice's frame: just over half the window, so two are more than it.
    const slice = [[Buffer.alloc(unappliedWindowBytes / 2 + 4096)]];
    await channel.send(0, slice); // within the window: returns at once
    let second = false;
    void channel.send(0, slice).then(() => (second = true));
    expect(await eventually(() => dest.memory() === 2 && dest.held.length === 2)).toBe(true);
    // Two frames unapplied are more than the window: the second send waits for the first's Sync.
    await new Promise((r) => setTimeout(r, 50));
    expect(second).toBe(false);
    let applied = false;
    void channel.applied().then(() => (applied = true));
    dest.answer();
    expect(await eventually(() => second)).toBe(true);
    // The second frame is not yet applied, so neither is everything.
    await new Promise((r) => setTimeout(r, 50));
    expect(applied).toBe(false);
    dest.answer();
    expect(await eventually(() => applied)).toBe(true);
  });
});
