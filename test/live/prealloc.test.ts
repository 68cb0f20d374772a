// migration.destinationPrealloc in the live engine: `livemig dest` (a real process) faults the
// guest's whole RAM in when Config asks for it, before the migration starts, as QEMU's
// -mem-prealloc does; without it the RAM stays untouched until pages arrive. Seen from outside:
// the destination process's resident memory (/proc/PID/status) after the Config reply.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { startDest, type DestProcess } from "./dest-process.js";

type Source = typeof import("../../src/live/source.js");
const load = async (): Promise<Source> => import("../../dist/src/live/source.js" as string);

const MiB = 2 ** 20;
const guestPages = (256 * MiB) / 4096;
let dest: DestProcess | undefined;
afterEach(() => {
  dest?.stop();
  dest = undefined;
});

const residentBytes = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;

/** Starts `livemig dest`, sends it a 256 MiB guest's Config; the destination's resident memory before and after, and the reply. */
async function configure(prealloc: boolean) {
  const { SourceSession } = await load();
  dest = await startDest("prealloc-test-secret");
  const session = await SourceSession.open(dest.address, dest.secret, { bandwidth: Infinity, latencyMs: 0 });
  const before = residentBytes(dest.child.pid!);
  const workload = { kind: "idle" } as const;
  const reply = await session.config({ pageCount: guestPages, vcpus: 1, workload, seed: 1, mac: "52:54:00:12:34:56", switch: { host: "127.0.0.1", port: 9 }, ...(prealloc ? { prealloc } : {}) });
  const after = residentBytes(dest.child.pid!);
  session.abandon("test over");
  return { grew: after - before, reply };
}

describe("destinationPrealloc at a live destination", () => {
  it("faults the guest's RAM in before the migration when asked, and not otherwise", async () => {
    const cold = await configure(false);
    expect(cold.reply.preallocMs).toBeUndefined();
    // The first-touch probe (64 MiB) and the guest's threads, but not the guest's 256 MiB.
    expect(cold.grew).toBeLessThan(200 * MiB);
    const warm = await configure(true);
    expect(warm.reply.preallocMs).toBeGreaterThan(0);
    expect(warm.grew).toBeGreaterThanOrEqual(256 * MiB);
    expect(warm.reply.firstTouch.pages).toBeGreaterThan(0);
  }, 30_000);
});
