// What simulate() takes from a machine profile (src/sim/simulate.ts's MachineProfile), each field in its unit as
// the run uses it: microseconds to ms, bytes/s to bytes/ms, where the run's parameters and costs hold them, and the
// time a source read takes on the clock (pages x page size / rate). Expected figures worked out by hand.

import { describe, expect, it } from "vitest";
import { PageRuns } from "../src/core/bitmap.js";
import { VirtualClock } from "../src/sim/clock.js";
import { SimLink } from "../src/sim/link.js";
import { prepareMigration, simulate, type MachineProfile } from "../src/sim/simulate.js";
import { scenario } from "./helpers.js";

const multifdGuest = (migration: string) => scenario(`name: m\nvm: {memory: 4MiB}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0, ${migration}}\n`);

/** The migration a profile prepares for a scenario, on a clock and link of its own. */
function prepared(s: ReturnType<typeof scenario>, profile?: MachineProfile) {
  const clock = new VirtualClock();
  return { clock, m: prepareMigration(s, clock, new SimLink(clock, { bandwidth: 125e6, latencyMs: 0 }), { profile }) };
}

/** ms of the clock that reading `pages` pages from page 0 takes the source. */
async function readMs(s: ReturnType<typeof scenario>, profile: MachineProfile | undefined, pages: number): Promise<number> {
  const { clock, m } = prepared(s, profile);
  const runs = new PageRuns(1);
  runs.add(0, pages);
  await clock.run(() => m.ram.readPages(runs));
  return clock.now();
}

describe("a machine profile in a simulation", () => {
  it("multifd's fitted costs: queue time per page in ms, a channel's rate in bytes/ms, the profile's cores unless the scenario sets them", () => {
    const profile: MachineProfile = { hostCores: 6, multifdQueueUsPerPage: 2, multifdSendBytesPerSecond: 5e8, socketBufferBytes: 123_456, pageReadBytesPerSecond: 2e9 };
    const { m } = prepared(multifdGuest("multifd: {channels: 4}"), profile);
    expect(m.env.params.multifd).toEqual({ channels: 4, hostCores: 6, queueMsPerPage: 0.002, sendBytesPerMs: 500_000 });
    expect(m.env.modeCosts).toMatchObject({ memoryBytesPerMs: 2e6, streamQueueBytes: 123_456 });
    expect(prepared(multifdGuest("multifd: {channels: 4}, hostCores: 2"), profile).m.env.params.multifd!.hostCores).toBe(2);
    // A profile without multifd's fields leaves the channels' costs unset (the scenario's cores, livemig's default).
    const plain = prepared(multifdGuest("multifd: {channels: 4}, hostCores: 3"), { pageReadBytesPerSecond: 2e9 }).m.env;
    expect(plain.params.multifd).toEqual({ channels: 4, hostCores: 3 });
    expect("streamQueueBytes" in plain.modeCosts!).toBe(false);
  });

  it("the source's read of a page: the profile's read rate (4 KiB at 4,096,000 B/s is 1 ms); with multifd's own send rate, free (the channels' rate has the zero check)", async () => {
    const rate: MachineProfile = { pageReadBytesPerSecond: 4_096_000 };
    expect(await readMs(multifdGuest("downtimeLimit: 300ms"), rate, 10)).toBeCloseTo(10, 9);
    expect(await readMs(multifdGuest("multifd: {channels: 2}"), rate, 10)).toBeCloseTo(10, 9);
    expect(await readMs(multifdGuest("multifd: {channels: 2}"), { ...rate, multifdSendBytesPerSecond: 1e9 }, 10)).toBe(0);
    // No profile: one core's 15 GB/s, 10 x 4096 B in 0.0027307 ms.
    expect(await readMs(multifdGuest("multifd: {channels: 2}"), undefined, 10)).toBeCloseTo((10 * 4096 * 1000) / 15e9, 12);
  });

  it("a first read of a page the guest never touched costs the profile's microseconds as ms: 768 untouched pages of 1 ms each add 768 ms", async () => {
    // 4 MiB of which 1 MiB in use: 768 of its 1024 pages untouched, each read once, in the first pass, before the link.
    const s = scenario("name: f\nvm: {memory: 4MiB, used: 1MiB}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\n");
    const base = (await simulate(s))["total-time"];
    expect((await simulate(s, { profile: { sourceFirstReadUsPerPage: 1000 } }))["total-time"] - base).toBeCloseTo(768, 6);
    expect((await simulate(s, { profile: { sourceFirstReadUsPerPage: 2500 } }))["total-time"] - base).toBeCloseTo(1920, 6);
  });

  it("a copy rate does not cap multifd's channels when they have their own send rate; without it, it caps the one stream", async () => {
    const s = multifdGuest("multifd: {channels: 2}");
    const channels = { multifdSendBytesPerSecond: 1e9 };
    const uncapped = (await simulate(s, { profile: channels }))["total-time"];
    expect((await simulate(s, { profile: { ...channels, copyBytesPerSecond: 1e6 } }))["total-time"]).toBe(uncapped);
    // The same copy rate without the channels' rate: 4 MiB of zero pages (1024 x 9 B plus markers) at 1 MB/s is over 9 ms more.
    expect((await simulate(s, { profile: { copyBytesPerSecond: 1e6 } }))["total-time"]).toBeGreaterThan((await simulate(s))["total-time"] + 9);
  });

  it("with an idle layout, a working set's pages lie at the bottom of RAM and the rest of the used pages where the shares say", () => {
    // 64 MiB (16384 pages), 8 MiB used (2048), a 4 MiB working set (1024) written once a second: pages 0-1023 are the
    // working set's; the other 1024 used pages all go to the top slice (shares [0, 1]), from the top down.
    const s = scenario("name: l\nvm: {memory: 64MiB, used: 8MiB, workload: {kind: uniform, workingSet: 4MiB, rate: 1}}\nlink: {bandwidth: 1Gbit/s}\n");
    const { ram } = prepared(s, { idleLayout: [0, 1] }).m;
    const nonZero = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => !ram.isZero(from + i)).filter(Boolean).length;
    expect(nonZero(0, 1024)).toBe(1024);
    expect(nonZero(1024, 15360)).toBe(0);
    expect(nonZero(15360, 16384)).toBe(1024);
  });

  it("a profile measured on a QEMU: that QEMU's iteration cadence, and its periodic auto-converge sync from 9.2 on", () => {
    const s = multifdGuest("downtimeLimit: 300ms");
    expect(prepared(s, { qemu: "10.0.2" }).m.env.params).toMatchObject({ iterationMs: 50, autoConvergeSyncMs: 5000 });
    const old = prepared(s, { qemu: "7.2.0" }).m.env.params;
    expect(old.iterationMs).toBe(50);
    expect(old.autoConvergeSyncMs).toBeUndefined();
    const none = prepared(s).m.env.params;
    expect(none.iterationMs).toBeUndefined();
    expect(none.autoConvergeSyncMs).toBeUndefined();
  });

  it("the bytes a guest write changes, for the modes' costs: the scenario's, at most a page; a whole page when absent or idle", () => {
    const bytesPerWrite = (workload: string) =>
      prepared(scenario(`name: w\nvm: {memory: 4MiB, workload: ${workload}}\nlink: {bandwidth: 1Gbit/s}\n`)).m.env.modeCosts!.bytesPerWrite;
    expect(bytesPerWrite("{kind: scan, workingSet: 1MiB, rate: 10, bytesPerWrite: 64B}")).toBe(64);
    expect(bytesPerWrite("{kind: scan, workingSet: 1MiB, rate: 10, bytesPerWrite: 8KiB}")).toBe(4096);
    expect(bytesPerWrite("{kind: scan, workingSet: 1MiB, rate: 10}")).toBe(4096);
    expect(bytesPerWrite("{kind: idle}")).toBe(4096);
  });
});

