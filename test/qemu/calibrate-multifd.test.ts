// multifd's profile fields (issue 17): the migration thread's queueing time per page and one
// channel's send rate, as the simulator applies them and as calibrate fits them from
// one-channel idle runs. Expected figures from the fields' definitions (docs/model.md,
// multifd), not from runs.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { IdleRun } from "../../src/qemu/calibrate.js";
import { fitMultifd, multifdRunProblem } from "../../src/qemu/calibrate-multifd.js";
import { laggingBufferBytes, socketBufferBytes } from "../../src/qemu/host-limits.js";
import { readProfile, writeProfile } from "../../src/qemu/profile.js";
import { simulate, type MachineProfile } from "../../src/sim/simulate.js";
import { GiB, scenario, scenarioYaml } from "../helpers.js";

const multifdYaml = (memory: string, used: string, channels: number, extra = "") =>
  scenarioYaml({ name: "m", memory, used, bandwidth: "100Gbit/s", migration: `maxBandwidth: 0, multifd: {channels: ${channels}}${extra}` });

/** 128 normal pages and the header with its 128 offset slots (320 + 1024 B): one full packet's bytes. */
const packetBytes = 128 * 4096 + 1344;
const linkBytesPerSecond = 12.5e9;

describe("multifd's profile fields in the simulator", () => {
  it("the channels go at their own send rate, not at the precopy stream's cap", async () => {
    const profile: MachineProfile = { copyBytesPerSecond: 100e6, multifdSendBytesPerSecond: 1e9, multifdQueueUsPerPage: 0, hostCores: 8 };
    const r = await simulate(scenario(multifdYaml("1GiB", "1GiB", 1)), { profile });
    // One channel: each packet's send, then its time on the link, back to back.
    const packets = GiB / 4096 / 128;
    const expectedMs = packets * (packetBytes / 1e9 + packetBytes / linkBytesPerSecond) * 1000;
    expect(r.status).toBe("completed");
    expect(r["total-time"] / expectedMs).toBeGreaterThan(0.95);
    expect(r["total-time"] / expectedMs).toBeLessThan(1.1);
    // Without the channel rate the stream's cap binds: 1 GiB at 100 MB/s.
    const capped = await simulate(scenario(multifdYaml("1GiB", "1GiB", 1)), { profile: { copyBytesPerSecond: 100e6 } });
    expect(capped["total-time"]).toBeGreaterThan(10_000);
  });

  it("the channel threads share the profile's cores: 4 channels and the migration thread on 2 cores send at 4 / 2.5 of one's rate", async () => {
    const profile: MachineProfile = { multifdSendBytesPerSecond: 1e9, multifdQueueUsPerPage: 0, hostCores: 2 };
    const one = await simulate(scenario(multifdYaml("1GiB", "1GiB", 1)), { profile });
    const four = await simulate(scenario(multifdYaml("1GiB", "1GiB", 4)), { profile });
    const c = packetBytes / 1e9;
    const l = packetBytes / linkBytesPerSecond;
    // One channel on 2 cores has a core to itself: each packet's send, then the link.
    expect(one["total-time"] / ((GiB / 4096 / 128) * (c + l) * 1000)).toBeCloseTo(1, 1);
    expect(four["total-time"] / one["total-time"]).toBeCloseTo((2.5 * c + l) / 4 / (c + l), 1);
  });

  it("the migration thread's queueing binds when many fast channels wait on it: a page each", async () => {
    const profile: MachineProfile = { multifdSendBytesPerSecond: 1e12, multifdQueueUsPerPage: 2, hostCores: 64 };
    const r = await simulate(scenario(multifdYaml("256MiB", "256MiB", 8)), { profile });
    const pagesMs = (256 * 2 ** 20) / 4096 * 0.002;
    expect(r["total-time"] / pagesMs).toBeGreaterThan(0.99);
    expect(r["total-time"] / pagesMs).toBeLessThan(1.1);
    const free = await simulate(scenario(multifdYaml("256MiB", "256MiB", 8)), { profile: { ...profile, multifdQueueUsPerPage: 0 } });
    expect(free["total-time"]).toBeLessThan(pagesMs / 4);
  });
});

/** A one-channel run of the simulator itself under a known profile: the fit must find it again. */
async function syntheticRun(memory: string, used: string, profile: MachineProfile): Promise<IdleRun> {
  const s = scenario(multifdYaml(memory, used, 1));
  return { label: `${memory}/${used}`, scenario: s, result: await simulate(s, { profile }), destinationPrealloc: true };
}

describe("fitMultifd", () => {
  it("recovers the migration thread's per-page time and a channel's send rate from one-channel runs", async () => {
    const truth: MachineProfile = { multifdQueueUsPerPage: 0.3, multifdSendBytesPerSecond: 1e9, hostCores: 2, switchoverMs: 2 };
    const runs = [await syntheticRun("1GiB", "100MiB", truth), await syntheticRun("2GiB", "1GiB", truth), await syntheticRun("1GiB", "800MiB", truth)];
    const fit = fitMultifd(runs, 2);
    expect(fit.profile.multifdSendBytesPerSecond! / 1e9).toBeGreaterThan(0.9);
    expect(fit.profile.multifdSendBytesPerSecond! / 1e9).toBeLessThan(1.1);
    expect(fit.profile.multifdQueueUsPerPage!).toBeGreaterThan(0.2);
    expect(fit.profile.multifdQueueUsPerPage!).toBeLessThan(0.4);
  });

  it("does not charge the migration thread with the first read of never-touched pages: the channel's zero check does it", async () => {
    const truth: MachineProfile = { multifdQueueUsPerPage: 0.3, multifdSendBytesPerSecond: 1e9, hostCores: 2, switchoverMs: 2, sourceFirstReadUsPerPage: 5 };
    const runs = [await syntheticRun("1GiB", "100MiB", truth), await syntheticRun("2GiB", "1GiB", truth), await syntheticRun("1GiB", "800MiB", truth)];
    // With one channel the zero page costs the larger of the walk (0.3 us) and the channel's check (5 us): the fit sees ~5 us.
    expect(fitMultifd(runs, 2).profile.multifdQueueUsPerPage!).toBeGreaterThan(4);
    const fit = fitMultifd(runs, 2, 5);
    expect(fit.profile.multifdQueueUsPerPage!).toBeLessThan(0.5);
    expect(fit.profile.multifdSendBytesPerSecond! / 1e9).toBeGreaterThan(0.9);
    expect(fit.profile.multifdSendBytesPerSecond! / 1e9).toBeLessThan(1.1);
  });

  it("takes uncapped, completed one-channel runs only", async () => {
    const run = (yaml: string): IdleRun => ({ label: "r", scenario: scenario(yaml), result: { status: "completed" } as IdleRun["result"] });
    expect(multifdRunProblem(run(multifdYaml("1GiB", "1GiB", 1)))).toBeUndefined();
    expect(multifdRunProblem(run(multifdYaml("1GiB", "1GiB", 4)))).toMatch(/^multifd-channels 4: the costs come from one-channel runs/);
    expect(multifdRunProblem(run(multifdYaml("1GiB", "1GiB", 1).replace("maxBandwidth: 0", "maxBandwidth: 64MiB/s")))).toMatch(/max-bandwidth set/);
    expect(multifdRunProblem(run(scenarioYaml({ memory: "1GiB" })))).toBe("not a multifd run");
  });

  it("writes the fields and the cores into the profile file and reads them back", () => {
    const dir = mkdtempSync(join(tmpdir(), "livemig-profile-"));
    try {
      const file = join(dir, "p.yaml");
      writeProfile(file, { multifdQueueUsPerPage: 0.1234, multifdSendBytesPerSecond: 1.5e9, hostCores: 2, socketBufferBytes: 37748736, laggingBufferBytes: 4325376 }, { machine: "m", fittedFrom: ["a"] });
      expect(readProfile(file)).toEqual({ multifdQueueUsPerPage: 0.123, multifdSendBytesPerSecond: 1.5e9, hostCores: 2, socketBufferBytes: 37748736, laggingBufferBytes: 4325376 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("socketBufferBytes", () => {
  it("adds the send and receive buffers' autotuning maxima (the third field of tcp_wmem and tcp_rmem)", () => {
    const files: Record<string, string> = { "/proc/sys/net/ipv4/tcp_wmem": "4096\t16384\t4194304\n", "/proc/sys/net/ipv4/tcp_rmem": "4096\t131072\t6291456\n" };
    expect(socketBufferBytes((f) => files[f])).toBe(4194304 + 6291456);
    // A slow reader's: the sender's maximum and the receiver's default.
    expect(laggingBufferBytes((f) => files[f])).toBe(4194304 + 131072);
    expect(laggingBufferBytes(() => { throw new Error("ENOENT"); })).toBeUndefined();
    expect(socketBufferBytes(() => { throw new Error("ENOENT"); })).toBeUndefined();
    expect(socketBufferBytes(() => "4096")).toBeUndefined();
  });
});
