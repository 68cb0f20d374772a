// multifd in the live engine (src/live/multifd.ts): each channel its own TCP connection to a real
// `livemig dest` process. Checked: a whole migration's pages arrive, each once per send, spread
// over every channel, with a sync point per round on each; a page re-sent in the next round on
// another socket is never overtaken by its older copy (QEMU's MULTIFD_FLAG_SYNC barrier); a
// connection that names another migration, a channel out of range or one joined twice is refused.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { MigrationResult } from "../../src/core/result.js";
import { startDest, type DestProcess } from "./dest-process.js";

type Source = typeof import("../../src/live/source.js");
type Multifd = typeof import("../../src/live/multifd.js");
type Stream = typeof import("../../src/live/ram-stream.js");
type Pages = typeof import("../../src/live/guest/pages.js");
type Bitmap = typeof import("../../src/core/bitmap.js");
const dist = async <T,>(path: string): Promise<T> => import(/* @vite-ignore */ new URL(`../../dist/src/${path}`, import.meta.url).href) as Promise<T>;

const dir = mkdtempSync(join(tmpdir(), "livemig-multifd-"));

let dest: DestProcess | undefined;
afterEach(() => {
  dest?.stop();
  dest = undefined;
});

function run(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["dist/cli/main.js", ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("multifd over parallel sockets, live", () => {
  // 10 channels: more than the destination lets one address hold in its handshake at once (8).
  it("moves every page over the channels, spread over all of them, a sync point per round on each, nothing stale", async () => {
    const file = join(dir, "multifd.yaml");
    writeFileSync(
      file,
      `name: live-multifd
vm: {memory: 64MiB, used: 32MiB, vcpus: 2, workload: {kind: uniform, workingSet: 16MiB, rate: 5000}}
link: {bandwidth: 1Gbit/s, latency: 0.1ms}
migration: {maxBandwidth: 0, multifd: {channels: 10}}
devices: [{kind: virtio}]
`,
    );
    const r = await run("run", file, "--json");
    expect(r.stderr).not.toMatch(/livemig:/);
    expect(r.status).toBe(0);
    const result = (JSON.parse(r.stdout) as { runs: { result: MigrationResult }[] }).runs[0].result;
    expect(result.status).toBe("completed");
    expect(result["stale-pages"]).toBe(0);
    const channels = result.destination!["multifd-channels"]!;
    expect(channels).toHaveLength(10);
    // Every page the controller counted as sent (normal and zero) arrived once, on some channel:
    // all of RAM goes over multifd, the main connection carries none of it.
    const pages = channels.reduce((n, c) => n + c.pages, 0);
    expect(pages).toBe(result.ram.normal + result.ram.duplicate);
    expect(pages).toBeGreaterThanOrEqual(64 * 256); // the first pass alone sends all 64 MiB
    // Packets go to the first idle channel from the one after the last used: each channel got its share of the first pass's 128 packets, give or take one.
    for (const c of channels) expect(c.frames).toBeGreaterThanOrEqual(Math.floor((64 * 256) / 128 / 10) - 1);
    // multifd_ram_flush_and_sync at setup, each time the walk passes the end of RAM and at
    // completion, on every channel alike: the walk passes the end at most once per dirty sync
    // (pages behind it are dirty again only after one), so between 2 and dirty-sync-count + 2.
    const syncs = channels[0].syncs;
    for (const c of channels) expect(c.syncs).toBe(syncs);
    expect(syncs).toBeGreaterThanOrEqual(2);
    expect(syncs).toBeLessThanOrEqual(result.ram["dirty-sync-count"] + 2);
  }, 60_000);

  it("holds a channel at its sync point until every channel has reached it, so a page's newer copy is applied last", async () => {
    const { SourceSession } = await dist<Source>("live/source.js");
    const { MultifdChannels } = await dist<Multifd>("live/multifd.js");
    const { encodeSections } = await dist<Stream>("live/ram-stream.js");
    const { hashPage, zeroPageHash, hashGroupPages } = await dist<Pages>("live/guest/pages.js");
    const { PageRuns } = await dist<Bitmap>("core/bitmap.js");
    dest = await startDest("multifd-test-secret");
    const { address, secret } = dest;
    const shape = { bandwidth: Infinity, latencyMs: 0, time: { nextFree: 0 } };
    const main = await SourceSession.open(address, secret, shape);
    await main.config({ pageCount: 1024, vcpus: 1, workload: { kind: "idle" }, seed: 1, mac: "52:54:00:12:34:56", switch: { host: "127.0.0.1", port: 9 }, multifdChannels: 2 });
    const mf = await MultifdChannels.open({ address, secret, shape, migrationId: main.migrationId, channels: 2 });
    const [c0, c1] = mf.channels;

    // Page 10, two versions: A (round 1, channel 0) and B (round 2, channel 1).
    const page = 10;
    const version = (fill: number) => {
      const ram = new SharedArrayBuffer((page + 1) * 4096);
      const buffer = Buffer.from(ram);
      buffer.fill(fill, page * 4096);
      return { buffer, words: new Int32Array(ram) };
    };
    const a = version(0xaa);
    const b = version(0xbb);
    const runs = new PageRuns(1);
    runs.add(page, 1);
    const hashAt = async () => {
      const group = Math.floor(page / hashGroupPages);
      const hashes = await main.verify(Uint32Array.of(group));
      return hashes[page - group * hashGroupPages];
    };

    // Channel 1 ends round 1 (it had nothing in it) and sends B in round 2, before channel 0 has
    // sent its round-1 copy A at all: the destination must hold B back.
    await c1.syncPoint();
    await c1.send(4104, encodeSections(b.buffer, b.words, 4096, runs));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await hashAt()).toBe(zeroPageHash >>> 0);
    // Channel 0's round 1: A, then its sync point; B follows, once both have reached it.
    await c0.send(4104, encodeSections(a.buffer, a.words, 4096, runs));
    await c0.syncPoint();
    await mf.drain();
    expect(await hashAt()).toBe(hashPage(b.buffer, page));
    expect(hashPage(b.buffer, page)).not.toBe(hashPage(a.buffer, page));

    // Joining: another migration's id, a channel beyond the count, a channel twice.
    const join = (migration: Buffer, channel: number) => SourceSession.open(address, secret, shape, undefined, undefined, { migration, channel });
    await expect(join(Buffer.alloc(16, 7), 0)).rejects.toThrow(/no migration with this id takes multifd channels here/);
    await expect(join(main.migrationId, 2)).rejects.toThrow(/multifd channel 2: this migration has 2 channels/);
    await expect(join(main.migrationId, 1)).rejects.toThrow(/multifd channel 1 has joined already/);

    // A channel's connection lost: the destination fails the migration (its main connection
    // closes), saying which channel.
    const closed = new Promise((resolve) => main.conn.socket.once("close", resolve));
    const aborted = new Promise<string>((resolve) => {
      const check = () => /aborted in state .*/.exec(dest!.log())?.[0];
      dest!.child.stderr!.on("data", () => check() && resolve(check()!));
    });
    c0.connection.conn.socket.destroy();
    await closed;
    expect(await aborted).toMatch(/aborted in state Receiving: multifd channel 0: source .* closed the connection/);
    mf.close();
  }, 30_000);
});
