// The machine-profile fit (livemig calibrate) and simulate --profile.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { MigrationResult } from "../../src/core/result.js";
import { atCpuWait, atPace, CalibrationError, fitIdleLayout, fitProfile, idleProblem, qemuRelease, type IdleRun } from "../../src/qemu/calibrate.js";
import type { Sample } from "../../src/qemu/migration.js";
import { ProfileError, readProfile, writeProfile } from "../../src/qemu/profile.js";
import { prepareMigration, simulate, type MachineProfile } from "../../src/sim/simulate.js";
import { VirtualClock } from "../../src/sim/clock.js";
import { SimLink } from "../../src/sim/link.js";
import { GiB, MiB, run, scenario, scenarioYaml } from "../helpers.js";

const idleYaml = (memory: string, used: string) => scenarioYaml({ name: "idle", memory, used, bandwidth: "100Gbit/s", migration: "maxBandwidth: 0" });

/** A run of the simulator itself under a known profile: the fit must find that profile again. */
async function syntheticRun(memory: string, used: string, truth: Parameters<typeof simulate>[1]): Promise<IdleRun> {
  const s = scenario(idleYaml(memory, used));
  // The simulator's destination holds its memory already: a preallocated one.
  return { label: memory, scenario: s, result: await simulate(s, truth), destinationPrealloc: true };
}

/** Idle runs of three sizes, each with its own share of non-zero pages, under one profile. */
async function threeSizes(profile: MachineProfile): Promise<IdleRun[]> {
  return [await syntheticRun("1GiB", "100MiB", { profile }), await syntheticRun("2GiB", "120MiB", { profile }), await syntheticRun("4GiB", "400MiB", { profile })];
}

describe("fitProfile", () => {
  it("recovers the page read rate, stream rate and fixed costs the runs were made with", async () => {
    const profile = { pageReadBytesPerSecond: 600 * MiB, copyBytesPerSecond: 150 * MiB, setupMs: 4, switchoverMs: 20 };
    const runs = await threeSizes(profile);
    const fit = fitProfile(runs);
    expect(fit.profile.setupMs).toBeCloseTo(4, 0);
    expect(fit.profile.pageReadBytesPerSecond! / profile.pageReadBytesPerSecond).toBeGreaterThan(0.8);
    expect(fit.profile.pageReadBytesPerSecond! / profile.pageReadBytesPerSecond).toBeLessThan(1.25);
    expect(fit.profile.copyBytesPerSecond! / profile.copyBytesPerSecond).toBeGreaterThan(0.8);
    expect(fit.profile.copyBytesPerSecond! / profile.copyBytesPerSecond).toBeLessThan(1.25);
    // The simulated downtime holds the final pass too, so the fitted switch-over is at least the true one.
    expect(fit.profile.switchoverMs).toBeGreaterThanOrEqual(20);
    for (const r of fit.residuals) expect(Math.abs(r.fittedMs - r.measuredMs) / r.measuredMs).toBeLessThan(0.1);
  });

  it("takes the switch-over cost from runs whose final pass was bare, not from long final passes", async () => {
    const profile = { pageReadBytesPerSecond: 600 * MiB, copyBytesPerSecond: 150 * MiB, setupMs: 4, switchoverMs: 5 };
    const runs = await threeSizes(profile);
    // Two runs that switched over early and sent 40 MiB inside the downtime, as QEMU does when
    // its threshold is still high from a window of normal pages.
    for (const r of runs.slice(1)) {
      const downtime = r.result.downtime! + 300;
      r.result = { ...r.result, downtime, ram: { ...r.result.ram, "downtime-bytes": 40 * MiB } };
    }
    expect(runs[0].result.ram["downtime-bytes"]).toBeLessThan(MiB);
    const fit = fitProfile(runs);
    expect(fit.profile.switchoverMs).toBeGreaterThanOrEqual(5);
    expect(fit.profile.switchoverMs).toBeLessThan(10);
  });

  it("takes the switch-over cost from preallocated destinations where they had bare final passes: a destination without preallocation may still be loading the stream's last first arrivals", async () => {
    const profile = { pageReadBytesPerSecond: 600 * MiB, copyBytesPerSecond: 150 * MiB, setupMs: 4, switchoverMs: 5 };
    const warm = await threeSizes(profile);
    // Three more bare runs whose destination lagged 14 ms behind (as this host's did).
    const cold = (await threeSizes(profile)).map((r) => ({ ...r, destinationPrealloc: false, result: { ...r.result, downtime: r.result.downtime! + 14 } }));
    expect([...warm, ...cold].every((r) => r.result.ram["downtime-bytes"]! < MiB)).toBe(true);
    expect(fitProfile([...warm, ...cold]).profile.switchoverMs).toBeLessThan(10);
    // Where no preallocated run had a bare final pass, the bare runs there are give it.
    const warmLong = warm.map((r) => ({ ...r, result: { ...r.result, downtime: r.result.downtime! + 300, ram: { ...r.result.ram, "downtime-bytes": 40 * MiB } } }));
    expect(fitProfile([...warmLong, ...cold]).profile.switchoverMs).toBeGreaterThan(14);
  });

  it("separates the zero-page and normal-page costs from the polls of the runs", async () => {
    // Known costs: 0.4 us per zero page, 4 us per normal page; polls of either kind, as an
    // idle guest's first pass shows them (kernel pages, then long stretches of zero pages),
    // one of them held up by another process.
    const zeroMs = 0.4e-3;
    const normalMs = 4e-3;
    const runs: IdleRun[] = [];
    for (const memory of ["1GiB", "2GiB"]) {
      const s = scenario(idleYaml(memory, "100MiB"));
      const result = await simulate(s);
      const samples = [];
      let t = 5, zero = 0, normal = 0;
      for (let i = 0; i < 12; i++) {
        const dz = i % 3 === 1 ? 100_000 + 1000 * i : 100 * i;
        const dn = i % 3 === 1 ? 500 : 10_000 + 300 * i;
        zero += dz;
        normal += dn;
        t += dz * zeroMs + dn * normalMs;
        samples.push({ t: t + (i === 5 ? 30 : 0), transferred: zero * 9 + normal * 4105, duplicate: zero, normal, sync: 1 });
      }
      Object.assign(result, { "setup-time": 5, "total-time": t + 10, downtime: 10 });
      Object.assign(result.ram, { duplicate: zero, normal });
      runs.push({ label: memory, scenario: s, result, samples, destinationPrealloc: true });
    }
    const fit = fitProfile(runs);
    expect(fit.perPage.zeroUs).toBeCloseTo(0.4, 2);
    expect(fit.perPage.normalUs).toBeCloseTo(4, 1);
    expect(fit.perPage.points).toBe(26);
    // A zero page is a 4 KiB read (and a 9-byte header); a normal page adds 4105 bytes of stream.
    expect(fit.profile.pageReadBytesPerSecond! / (4096 / 0.4e-6)).toBeCloseTo(1, 1);
    expect(fit.profile.copyBytesPerSecond! / (4096 / 3.6e-6)).toBeCloseTo(1, 1);
    expect(fit.notes.join(" ")).not.toMatch(/preallocated/);
  });

  it("says what is missing when the runs cannot determine the per-page costs", async () => {
    const profile = { pageReadBytesPerSecond: 1000 * MiB };
    const one = await syntheticRun("1GiB", "100MiB", { profile });
    expect(() => fitProfile([one])).toThrow(CalibrationError);
    expect(() => fitProfile([one])).toThrow(/1 poll interval\(s\) where the cap did not bind, at least 3 needed/);
    // Every page of a cold destination's first pass: the normal-page cost is not separable.
    const cold = qemuLikeRun({ label: "cold", memoryPages: 262144, cap: 0, prealloc: false, ...truth, firstTouchUs: 8 });
    expect(() => fitProfile([cold])).toThrow(/cannot be told from the first-touch cost/);
  });

  it("reads a zero page dearer than a normal one as the source populating never-touched pages: the read at the documented 15 GB/s, the rest that first read", () => {
    // This host's shape (docs/validation.md, fifth round): 9 us a zero page, 5 us a normal page.
    const runs = [
      qemuLikeRun({ label: "a", memoryPages: 262144, cap: 0, prealloc: true, zeroUs: 9, normalUs: 5 }),
      qemuLikeRun({ label: "b", memoryPages: 524288, fillPages: 131072, cap: 0, prealloc: true, zeroUs: 9, normalUs: 5 }),
    ];
    const fit = fitProfile(runs);
    // read R = 4096 B / 15 GB/s = 0.2731 us; a normal page R + 4104 B / C = 5 us; a zero page R + P + 9 B / C = 9 us.
    const readUs = 4096 / 15e9 * 1e6;
    const copyUsPerByte = (5 - readUs) / 4104;
    expect(fit.profile.pageReadBytesPerSecond).toBe(15e9);
    expect(fit.profile.copyBytesPerSecond! * copyUsPerByte * 1e-6).toBeCloseTo(1, 2);
    expect(fit.profile.sourceFirstReadUsPerPage!).toBeCloseTo(9 - readUs - 9 * copyUsPerByte, 2);
    expect(fit.notes.join(" ")).toMatch(/costs more than a normal page .*populating the pages the guest never touched/);
    // Costs below a page read cannot be split so: refused.
    const tiny = [0, 1].map((i) => qemuLikeRun({ label: `t${i}`, memoryPages: 262144 * (i + 1), fillPages: 65536 * i, cap: 0, prealloc: true, zeroUs: 0.2, normalUs: 0.1 }));
    expect(() => fitProfile(tiny)).toThrow(/do not determine positive per-page costs/);
  });

  it("never takes a rate limiter's sleeps for page cost: capped runs give the machine's own costs", () => {
    // Every run capped, as a user's runs may all be; the cap bound in some intervals only.
    const runs = [
      qemuLikeRun({ label: "1g-100m", memoryPages: 262144, cap: 100 * MiB, prealloc: true, ...truth }),
      qemuLikeRun({ label: "2g-1000m", memoryPages: 524288, cap: 1000 * MiB, prealloc: true, ...truth }),
      qemuLikeRun({ label: "1g-fill-1000m", memoryPages: 262144, fillPages: 131072, cap: 1000 * MiB, prealloc: true, ...truth }),
    ];
    // The sleeps are real: the capped runs took far longer than their pages cost.
    const pageMs = (r: IdleRun) => (r.result.ram.duplicate * truth.zeroUs + r.result.ram.normal * truth.normalUs) / 1000;
    expect(runs[0].result["total-time"]).toBeGreaterThan(2 * pageMs(runs[0]));
    const fit = fitProfile(runs);
    expect(fit.capBoundIntervals).toBeGreaterThan(0);
    expect(fit.perPage.zeroUs / truth.zeroUs).toBeCloseTo(1, 1);
    expect(fit.perPage.normalUs / truth.normalUs).toBeCloseTo(1, 1);
    // The fitted costs with each run's cap give back each run's own precopy.
    for (const r of fit.residuals) expect(Math.abs(r.fittedMs - r.measuredMs) / r.measuredMs).toBeLessThan(0.1);
  });

  it("fits the first-touch cost of a destination that did not preallocate, within 5 %", () => {
    const firstTouchUs = 6;
    const runs = [
      qemuLikeRun({ label: "warm-1g", memoryPages: 262144, fillPages: 65536, cap: 0, prealloc: true, ...truth }),
      qemuLikeRun({ label: "warm-2g", memoryPages: 524288, cap: 0, prealloc: true, ...truth }),
      qemuLikeRun({ label: "cold-1g", memoryPages: 262144, fillPages: 65536, cap: 0, prealloc: false, ...truth, firstTouchUs }),
      qemuLikeRun({ label: "cold-2g-1000m", memoryPages: 524288, fillPages: 131072, cap: 1000 * MiB, prealloc: false, ...truth, firstTouchUs }),
    ];
    const fit = fitProfile(runs);
    expect(Math.abs(fit.profile.firstTouchUsPerPage! / firstTouchUs - 1)).toBeLessThan(0.05);
    expect(Math.abs(fit.perPage.normalUs / truth.normalUs - 1)).toBeLessThan(0.05);
    expect(fit.figures.find((f) => f.name.startsWith("first touch"))!.support).toBeGreaterThan(0);
  });

  it("prices a zero page's first arrival at a destination without preallocation apart, within 5 %, and only where preallocated runs show the zero page alone", () => {
    // This host's shape (docs/validation.md, eighth round): no shared zero page, so the
    // destination's zero check populates fresh memory and a zero page goes 1.3 us slower there.
    const host = { zeroUs: 13, normalUs: 3, firstTouchUs: 10, destinationFirstReadUs: 1.3 };
    const warm = [
      qemuLikeRun({ label: "warm-1g", memoryPages: 262144, cap: 0, prealloc: true, ...host }),
      qemuLikeRun({ label: "warm-2g-fill", memoryPages: 524288, fillPages: 131072, cap: 0, prealloc: true, ...host }),
    ];
    const cold = [
      qemuLikeRun({ label: "cold-1g", memoryPages: 262144, cap: 0, prealloc: false, ...host }),
      qemuLikeRun({ label: "cold-2g-fill", memoryPages: 524288, fillPages: 131072, cap: 0, prealloc: false, ...host }),
    ];
    const fit = fitProfile([...warm, ...cold]);
    expect(Math.abs(fit.profile.destinationFirstReadUsPerPage! / host.destinationFirstReadUs - 1)).toBeLessThan(0.05);
    expect(Math.abs(fit.perPage.zeroUs / host.zeroUs - 1)).toBeLessThan(0.05);
    expect(Math.abs(fit.profile.firstTouchUsPerPage! / host.firstTouchUs - 1)).toBeLessThan(0.05);
    expect(fit.figures.find((f) => f.name.startsWith("a zero page's first arrival"))!.support).toBeGreaterThan(0);
    // Where no preallocated run had zero pages (its guest filled all of RAM), the two cannot be
    // told apart: one zero-page cost, and a note.
    const full = qemuLikeRun({ label: "warm-full", memoryPages: 262144, fillPages: 262144, cap: 0, prealloc: true, ...host });
    expect(full.result.ram.duplicate).toBe(0);
    const coldOnly = fitProfile([...cold, full]);
    expect(coldOnly.profile.destinationFirstReadUsPerPage).toBeUndefined();
    expect(coldOnly.notes.join(" ")).toMatch(/no preallocated destination took zero pages/);
  });

  it("prices each kind of page from the polls that carried only that kind, where the joint fit would split them wrongly", () => {
    // A host without the kernel's shared zero page and with transparent huge pages: the first
    // read of a never-touched page costs 9 us, but a zero page in a 2 MiB huge page the guest
    // already touched costs next to nothing (the host populated the whole of it). The idle
    // guests' kernel pages sit among such cheap zero pages; the filled guests' working sets
    // show the copy alone.
    const host = { zeroUs: 9, normalUs: 3, zeroNearNormalUs: 0.5 };
    const runs = [
      qemuLikeRun({ label: "idle-1g", memoryPages: 262144, cap: 0, prealloc: true, ...host }),
      qemuLikeRun({ label: "idle-2g", memoryPages: 524288, cap: 0, prealloc: true, ...host }),
      qemuLikeRun({ label: "fill-1g", memoryPages: 262144, fillPages: 131072, cap: 0, prealloc: true, ...host }),
      qemuLikeRun({ label: "fill-2g", memoryPages: 524288, fillPages: 262144, cap: 0, prealloc: true, ...host }),
    ];
    const fit = fitProfile(runs);
    expect(Math.abs(fit.perPage.normalUs / host.normalUs - 1)).toBeLessThan(0.05);
    expect(Math.abs(fit.perPage.zeroUs / host.zeroUs - 1)).toBeLessThan(0.05);
    expect(fit.notes.join(" ")).toMatch(/from poll intervals that carried one kind of page/);
    expect(fit.figures.find((f) => f.name === "normal page")!.support).toBeGreaterThan(0);
  });

  it("gives every run one vote: runs slowed by other work have more polls, not more say", () => {
    const sizes = [262144, 393216, 524288];
    const at = (slowdown: number, n: number) =>
      sizes.slice(0, n).map((memoryPages, i) => qemuLikeRun({ label: `x${slowdown}-${i}`, memoryPages, fillPages: 32768 * (i + 1), cap: 0, prealloc: true, zeroUs: truth.zeroUs * slowdown, normalUs: truth.normalUs * slowdown }));
    // Three runs at the machine's pace, two three times slower (three times the polls).
    const fit = fitProfile([...at(1, 3), ...at(3, 2)]);
    expect(Math.abs(fit.perPage.normalUs / truth.normalUs - 1)).toBeLessThan(0.1);
    expect(Math.abs(fit.perPage.zeroUs / truth.zeroUs - 1)).toBeLessThan(0.1);
  });

  it("measures the machine's pace spread: runs made 1.5 times slower span 1.5 between its ends", () => {
    const sizes = [262144, 393216, 524288, 655360];
    const runsAt = (slowdown: number) =>
      sizes.map((memoryPages, i) => qemuLikeRun({ label: `x${slowdown}-${i}`, memoryPages, fillPages: i * 32768, cap: 0, prealloc: true, zeroUs: truth.zeroUs * slowdown, normalUs: truth.normalUs * slowdown }));
    const same = fitProfile([...runsAt(1), ...runsAt(1)]);
    expect(same.paceSpread.slow).toBeLessThan(1.05);
    expect(same.paceSpread.fast).toBeGreaterThan(0.95);
    const mixed = fitProfile([...runsAt(1), ...runsAt(1.5)]);
    expect(mixed.paceSpread.slow).toBeGreaterThan(1);
    expect(mixed.paceSpread.fast).toBeLessThan(1);
    expect(mixed.paceSpread.slow / mixed.paceSpread.fast).toBeCloseTo(1.5, 1);
  });

  // Idle runs whose bottleneck (the source's migration thread) was running or runnable the whole
  // run, waiting for a CPU `wait` of it, at `slowdown` times the true per-page costs.
  const waited = (run: IdleRun, wait: number): IdleRun => {
    const t = run.result["total-time"];
    return { ...run, host: { threads: [{ role: "source", thread: "mig/src/main", "cpu-ms": t * (1 - wait), "wait-ms": t * wait }, { role: "destination", thread: "qemu-system-x86", "cpu-ms": t / 10, "wait-ms": 0 }] } };
  };
  const runsAt = (slowdown: number, wait: number) =>
    [262144, 393216, 524288, 655360].map((memoryPages, i) => waited(qemuLikeRun({ label: `w${slowdown}-${i}`, memoryPages, fillPages: i * 32768, cap: 0, prealloc: true, zeroUs: truth.zeroUs * slowdown, normalUs: truth.normalUs * slowdown }), wait));

  it("brings each run to the training runs' median CPU wait: runs slowed by waiting for a CPU are no dearer pages", () => {
    // Four runs that waited 20 % of their time, four twice as slow that waited 60 %: the same CPU
    // work (0.8 and 2 x 0.4 of the first's time). The median wait is 0.4; brought to it, the first
    // take (1 - 0.2) / (1 - 0.4) = 4/3 of their time, the others 2 x (1 - 0.6) / (1 - 0.4) = 4/3:
    // one pace, 4/3 of the first runs' costs, the pace spread gone.
    const fit = fitProfile([...runsAt(1, 0.2), ...runsAt(2, 0.6)]);
    expect(fit.profile.cpuWaitShare).toBeCloseTo(0.4, 6);
    expect(Math.abs(fit.perPage.normalUs / (truth.normalUs * 4 / 3) - 1)).toBeLessThan(0.05);
    expect(Math.abs(fit.perPage.zeroUs / (truth.zeroUs * 4 / 3) - 1)).toBeLessThan(0.05);
    expect(fit.paceSpread.slow / fit.paceSpread.fast).toBeLessThan(1.05);
    // Without the waits recorded the two paces stay apart (2x), as in the test above.
    const unrecorded = fitProfile([...runsAt(1, 0.2), ...runsAt(2, 0.6)].map(({ host: _, ...r }) => r));
    expect(unrecorded.profile.cpuWaitShare).toBeUndefined();
    expect(unrecorded.paceSpread.slow / unrecorded.paceSpread.fast).toBeGreaterThan(1.5);
    // Some recorded, some not: the unrecorded ones' wait is unknown, so none is brought to a
    // common wait (the 2x stays) and the profile names no wait; a note says why.
    const mixed = fitProfile([...runsAt(1, 0.2), ...runsAt(2, 0.6).map(({ host: _, ...r }) => r)]);
    expect(mixed.profile.cpuWaitShare).toBeUndefined();
    expect(mixed.paceSpread.slow / mixed.paceSpread.fast).toBeGreaterThan(1.5);
    expect(mixed.notes.join("\n")).toMatch(/4 of 8 runs did not record their threads' CPU wait/);
  });

  it("atCpuWait predicts a host that waits longer for a CPU from a profile fitted at a shorter wait", async () => {
    // Fitted on runs that waited 20 % of their time; runs of the same CPU work that waited 60 %
    // take (1 - 0.2) / (1 - 0.6) = 2x as long (runsAt(2, 0.6)).
    const fit = fitProfile(runsAt(1, 0.2));
    expect(fit.profile.cpuWaitShare).toBeCloseTo(0.2, 6);
    const busier = atCpuWait(fit.profile, 0.6);
    expect(busier.cpuWaitShare).toBe(0.6);
    expect(busier.firstTouchUsPerPage).toBe(fit.profile.firstTouchUsPerPage === undefined ? undefined : fit.profile.firstTouchUsPerPage * 2);
    expect(busier.switchoverMs).toBe(fit.profile.switchoverMs);
    // The profile fitted from the slow runs themselves has the same per-page costs.
    const slow = fitProfile(runsAt(2, 0.6)).profile;
    expect(Math.abs(busier.pageReadBytesPerSecond! / slow.pageReadBytesPerSecond! - 1)).toBeLessThan(0.05);
    expect(Math.abs(busier.copyBytesPerSecond! / slow.copyBytesPerSecond! - 1)).toBeLessThan(0.05);
    // An idle migration's page work (total less setup; where its final pass falls between the
    // precopy and the downtime moves with the pace) is predicted twice as long, but for the
    // fixed 3 ms switch-over.
    const s = scenario(idleYaml("1GiB", "100MiB"));
    const pageWork = (r: MigrationResult) => r["total-time"] - r["setup-time"];
    const [atFitted, atBusier] = [await simulate(s, { profile: fit.profile }), await simulate(s, { profile: busier })];
    expect(pageWork(atBusier) / pageWork(atFitted)).toBeCloseTo(2, 1);
    expect(() => atCpuWait({ pageReadBytesPerSecond: 1e9 }, 0.3)).toThrow(CalibrationError);
  });

  it("atPace scales every per-page cost and keeps the fixed ones", async () => {
    const profile: MachineProfile = { pageReadBytesPerSecond: 4096e6 / 0.4, copyBytesPerSecond: 4096e6 / 2.6, firstTouchUsPerPage: 5, setupMs: 2, switchoverMs: 3 };
    const half = atPace(profile, 2);
    expect(half).toEqual({ pageReadBytesPerSecond: profile.pageReadBytesPerSecond! / 2, copyBytesPerSecond: profile.copyBytesPerSecond! / 2, firstTouchUsPerPage: 10, setupMs: 2, switchoverMs: 3 });
    // An idle migration's precopy (total less setup and downtime) takes twice as long at half pace.
    const s = scenario(idleYaml("1GiB", "100MiB"));
    const precopy = (r: MigrationResult) => r["total-time"] - r["setup-time"] - (r.downtime ?? 0);
    const [a, b] = [await simulate(s, { profile }), await simulate(s, { profile: half })];
    expect(precopy(b) / precopy(a)).toBeCloseTo(2, 1);
  });

  it("finds where an idle guest's pages lie from the first pass's polls", () => {
    // A slow first pass (a cold destination) gives the polls the resolution to see clusters.
    const cold = qemuLikeRun({ label: "cold-2g", memoryPages: 524288, cap: 0, prealloc: false, ...truth, firstTouchUs: 21 });
    const layout = fitIdleLayout([cold])!;
    expect(layout).toHaveLength(32);
    // Kernel pages at the bottom (10k), a third of the way in (10k) and the page array at the
    // top (8k), of 28k; nearly nothing between.
    const share = (from: number, to: number) => layout.slice(from, to).reduce((a, b) => a + b, 0);
    expect(share(0, 1)).toBeCloseTo(10_000 / 28_192, 1);
    expect(share(10, 12)).toBeCloseTo(10_000 / 28_192, 1);
    expect(share(31, 32)).toBeCloseTo(8192 / 28_192, 1);
    expect(share(2, 9) + share(13, 29)).toBeLessThan(0.05);
    // The profile carries the map.
    const warm = qemuLikeRun({ label: "warm-1g", memoryPages: 262144, cap: 0, prealloc: true, ...truth });
    expect(fitProfile([cold, warm]).profile.idleLayout).toHaveLength(32);
  });

  it("puts the final pass's normal pages at the top of the map: QEMU switched over before pass 1 reached them", () => {
    const full = qemuLikeRun({ label: "cold-2g", memoryPages: 524288, cap: 0, prealloc: false, ...truth, firstTouchUs: 20 });
    // The same run, switched over when pass 1 reached the page array at the top: its 8192
    // normal pages went in the final pass, after the last poll.
    const topStart = 524288 - 8192;
    const samples = full.samples!.filter((s) => s.duplicate + s.normal <= topStart);
    const switched: IdleRun = {
      ...full,
      samples,
      result: { ...full.result, downtime: 40, ram: { ...full.result.ram, "downtime-bytes": 8192 * 4105 } } as MigrationResult,
    };
    const layout = fitIdleLayout([switched])!;
    expect(layout[31]).toBeCloseTo(8192 / 28_192, 1);
    expect(layout[0]).toBeCloseTo(10_000 / 28_192, 1);
  });

  it("names the QEMU release the runs were made with, and refuses runs of two releases", () => {
    const run = (label: string, qemu?: string) => ({ ...qemuLikeRun({ label, memoryPages: 262144, fillPages: 65536, cap: 0, prealloc: true, ...truth }), ...(qemu ? { qemu } : {}) });
    const ten = "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)";
    const fit = fitProfile([run("a", ten), run("b", ten), qemuLikeRun({ label: "c", memoryPages: 524288, cap: 0, prealloc: true, ...truth })]);
    expect(fit.profile.qemu).toBe("10.0.2");
    expect(qemuRelease([run("a"), run("b")])).toBeUndefined();
    expect(() => qemuRelease([run("a", ten), run("b", "QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)")])).toThrow(CalibrationError);
    expect(() => qemuRelease([run("a", ten), run("b", "QEMU emulator version 7.2.19")])).toThrow(/QEMU 10\.0\.2 and 7\.2\.19/);
  });

  it("takes idle, completed runs only", async () => {
    const busyYaml = scenarioYaml({ name: "busy", memory: "1GiB", workingSet: "128MiB", rate: 1000 });
    const busy = await run(busyYaml);
    const s = scenario(busyYaml);
    expect(idleProblem({ label: "b", scenario: s, result: busy })).toMatch(/writes during the migration/);
    const idle = scenario(idleYaml("1GiB", "100MiB"));
    const failed = { ...busy, status: "failed" } as MigrationResult;
    expect(idleProblem({ label: "f", scenario: idle, result: failed })).toMatch(/status failed/);
    // A guest that filled its working set and then stopped writing is idle during the migration.
    const filled = scenario(scenarioYaml({ name: "filled", memory: "1GiB", workingSet: "512MiB", rate: 0 }));
    expect(idleProblem({ label: "i", scenario: filled, result: await simulate(filled) })).toBeUndefined();
    // An idle run with a mode is not plain precopy: it is what the profile must predict.
    const multifd = scenario(scenarioYaml({ name: "m", memory: "1GiB", used: "100MiB", migration: "multifd: {channels: 2}" }));
    expect(idleProblem({ label: "m", scenario: multifd, result: await simulate(multifd) })).toBe("migration.multifd: the profile is of plain precopy (the modes are what it must predict)");
  });
});

describe("simulate --profile", () => {
  it("leaves results unchanged without a profile and slows the run with a slower machine", async () => {
    const s = scenario(idleYaml("1GiB", "200MiB"));
    const plain = await simulate(s);
    const empty = await simulate(s, { profile: {} });
    expect(JSON.stringify(empty)).toBe(JSON.stringify(plain));
    const slow = await simulate(s, { profile: { pageReadBytesPerSecond: 500 * MiB, copyBytesPerSecond: 100 * MiB, setupMs: 10, switchoverMs: 30 } });
    expect(slow["total-time"]).toBeGreaterThan(plain["total-time"] * 5);
    expect(slow["setup-time"]).toBeGreaterThanOrEqual(10);
    expect(slow.downtime!).toBeGreaterThanOrEqual(30);
    expect(slow["downtime-breakdown"]?.["switch-over"]).toBeCloseTo(30, 3);
    expect(slow.ram.total).toBe(GiB);
  });

  it("charges the source's first read of each never-touched page once, to the thread that reads it", async () => {
    // 1 GiB, 100 MiB used: 262144 - 25600 = 236544 zero pages the guest never touched, each read
    // once (an idle guest dirties none again), 10 us each on top of the read.
    const zeroPages = 262144 - 25600;
    const s = scenario(idleYaml("1GiB", "100MiB"));
    const base: MachineProfile = { pageReadBytesPerSecond: 15e9, copyBytesPerSecond: 1e9 };
    const without = await simulate(s, { profile: base });
    const withFirstRead = await simulate(s, { profile: { ...base, sourceFirstReadUsPerPage: 10 } });
    const extra = withFirstRead["total-time"] - without["total-time"];
    expect(extra / (zeroPages * 0.01)).toBeGreaterThan(0.98);
    expect(extra / (zeroPages * 0.01)).toBeLessThan(1.02);
    // multifd: each channel's zero check populates its own packets' pages, so two channels on
    // cores enough share the work: half the extra time (the link at 100 Gbit/s is not what binds).
    const mf = scenario(scenarioYaml({ name: "idle", memory: "1GiB", used: "100MiB", bandwidth: "100Gbit/s", migration: "maxBandwidth: 0, multifd: {channels: 2}, hostCores: 8" }));
    const mfWithout = await simulate(mf, { profile: base });
    const mfWith = await simulate(mf, { profile: { ...base, sourceFirstReadUsPerPage: 10 } });
    const mfExtra = mfWith["total-time"] - mfWithout["total-time"];
    expect(mfExtra / (zeroPages * 0.01 / 2)).toBeGreaterThan(0.95);
    expect(mfExtra / (zeroPages * 0.01 / 2)).toBeLessThan(1.05);
  });

  it("follows QEMU's 50 ms iterations when the profile names a QEMU release, and only then", () => {
    const s = scenario(idleYaml("1GiB", "200MiB"));
    const paramsWith = (profile: MachineProfile) => {
      const clock = new VirtualClock();
      return prepareMigration(s, clock, new SimLink(clock, { bandwidth: s.link.bandwidth, latencyMs: 0 }), { profile }).env.params;
    };
    expect(paramsWith({ qemu: "10.0.2" }).iterationMs).toBe(50);
    expect(paramsWith({ pageReadBytesPerSecond: 1e9 }).iterationMs).toBeUndefined();
  });

  it("reads and writes profile files, naming a bad field", () => {
    const dir = mkdtempSync(join(tmpdir(), "livemig-profile-"));
    try {
      const file = join(dir, "p.yaml");
      writeProfile(file, { pageReadBytesPerSecond: 1e9, setupMs: 1.5 }, { machine: "m", fittedFrom: ["a"] });
      expect(readProfile(file)).toEqual({ pageReadBytesPerSecond: 1e9, setupMs: 1.5 });
      writeProfile(file, { pageReadBytesPerSecond: 1e9, qemu: "10.0.2" }, { machine: "m", fittedFrom: ["a"] });
      expect(readProfile(file)).toEqual({ pageReadBytesPerSecond: 1e9, qemu: "10.0.2" });
      writeProfile(file, { firstTouchUsPerPage: 10.2344, sourceFirstReadUsPerPage: 13.1, destinationFirstReadUsPerPage: 1.3314 }, { machine: "m", fittedFrom: ["a"] });
      expect(readProfile(file)).toEqual({ firstTouchUsPerPage: 10.234, sourceFirstReadUsPerPage: 13.1, destinationFirstReadUsPerPage: 1.331 });
      writeProfile(file, { cpuWaitShare: 0.123456 }, { machine: "m", fittedFrom: ["a"] });
      expect(readProfile(file)).toEqual({ cpuWaitShare: 0.1235 });
      // Every field of a profile survives the file (a field left out of the reader or writer is lost).
      const every: Required<MachineProfile> = {
        pageReadBytesPerSecond: 1e10, copyBytesPerSecond: 2e9, firstTouchUsPerPage: 9.5, sourceFirstReadUsPerPage: 12, destinationFirstReadUsPerPage: 1.25,
        idleLayout: [0.5, 0.25, 0.25], setupMs: 3, switchoverMs: 14.5, hostCores: 2, multifdQueueUsPerPage: 0.75, socketBufferBytes: 6291456,
        laggingBufferBytes: 4325376, multifdSendBytesPerSecond: 3e9, qemu: "10.0.2", cpuWaitShare: 0.118,
      };
      writeProfile(file, every, { machine: "m", fittedFrom: ["a"] });
      expect(readProfile(file)).toEqual(every);
      writeFileSync(file, "qemu: ten\n");
      expect(() => readProfile(file)).toThrow(/qemu/);
      writeFileSync(file, "pageReadBytesPerSecond: -1\n");
      expect(() => readProfile(file)).toThrow(ProfileError);
      expect(() => readProfile(file)).toThrow(/pageReadBytesPerSecond/);
      writeFileSync(file, "pageRate: 5\n");
      expect(() => readProfile(file)).toThrow(/unknown key\(s\) pageRate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * A normal page's first arrival at a destination without preallocation, us: the destination's
 * thread copies it out of the stream (the normal page's cost less the source's read, 4 KiB at
 * the documented 15 GB/s) and populates it, beside the source; the slower of the two sets the pace.
 */
const firstArrivalUs = (normalUs: number, firstTouchUs: number) => Math.max(normalUs, normalUs - (4096 / 15e9) * 1e6 + firstTouchUs);

/** The machine the synthetic QEMU-like runs were made on: microseconds per page. */
const truth = { zeroUs: 0.4, normalUs: 3 };

/**
 * An idle guest's first pass as QEMU sends it, page by page in address order: per-page costs
 * (plus the first-touch cost of a destination without preallocation), QEMU's rate limiter
 * (a budget of cap / 10 per 100 ms window, then a sleep to the window's end) and a
 * query-migrate poll every 50 ms. Kernel clusters at the bottom, a third of the way in and at
 * the top (as idle Linux guests show them), the filled working set above the first.
 */
function qemuLikeRun(o: { label: string; memoryPages: number; fillPages?: number; cap: number; prealloc: boolean; zeroUs: number; normalUs: number; firstTouchUs?: number; zeroNearNormalUs?: number; destinationFirstReadUs?: number }): IdleRun {
  const kernel = 10_000;
  const third = Math.floor(o.memoryPages / 3);
  // With zeroNearNormalUs the kernel's middle cluster is scattered, one page in eight, as
  // an idle guest's slab and page tables are.
  const middle = (p: number) => (o.zeroNearNormalUs === undefined ? p < third + kernel : p < third + 8 * kernel && p % 8 === 0);
  const isNormal = (p: number) => p < kernel + (o.fillPages ?? 0) || (p >= third && middle(p)) || p >= o.memoryPages - 8192;
  // Where a zero page shares its 2 MiB (512 pages) with a normal one, and the host populated it whole.
  const hugePage = 512;
  const touchedHuge = (p: number) => { const h = p - (p % hugePage); for (let q = h; q < h + hugePage; q += 8) if (isNormal(q)) return true; return false; };
  const zeroCost = (p: number) => (o.zeroNearNormalUs !== undefined && touchedHuge(p) ? o.zeroNearNormalUs : o.zeroUs) + (o.prealloc ? 0 : (o.destinationFirstReadUs ?? 0));
  const budget = o.cap > 0 ? o.cap / 10 : Infinity;
  const setupMs = 2;
  let t = setupMs, bytes = 0, zero = 0, normal = 0, windowStart = t, windowBytes = 0, nextPoll = 50;
  const samples: Sample[] = [];
  const pollUntil = (until: number) => {
    for (; nextPoll <= until; nextPoll += 50) samples.push({ t: nextPoll, transferred: bytes, duplicate: zero, normal, sync: 1 });
  };
  for (let p = 0; p < o.memoryPages; p += 64) {
    // 64 pages at a time, as QEMU checks its rate limit every few pages.
    const n = Math.min(64, o.memoryPages - p);
    let normalHere = 0;
    for (let q = p; q < p + n; q++) if (isNormal(q)) normalHere++;
    const zeroHere = n - normalHere;
    const ms = (zeroHere * zeroCost(p) + normalHere * (o.prealloc ? o.normalUs : firstArrivalUs(o.normalUs, o.firstTouchUs ?? 0))) / 1000;
    const chunkBytes = zeroHere * 9 + normalHere * 4105;
    t += ms;
    pollUntil(t - 1e-9);
    bytes += chunkBytes;
    zero += zeroHere;
    normal += normalHere;
    windowBytes += chunkBytes;
    if (windowBytes >= budget) {
      t = Math.max(t, windowStart + 100); // sleep to the end of the window
      pollUntil(t - 1e-9);
    }
    if (t >= windowStart + 100) {
      windowStart = t;
      windowBytes = 0;
    }
  }
  const downtime = 3;
  const total = t + downtime;
  const s = scenario(scenarioYaml({ name: o.label, memory: `${o.memoryPages * 4}KiB`, bandwidth: "100Gbit/s", migration: `maxBandwidth: ${o.cap}B/s` }));
  const base = {
    status: "completed", "total-time": Math.round(total), "setup-time": setupMs, downtime,
    ram: { total: o.memoryPages * 4096, duplicate: zero, normal, transferred: bytes, "downtime-bytes": 0, "precopy-bytes": bytes, "dirty-sync-count": 2 },
  };
  return { label: o.label, scenario: s, result: base as unknown as MigrationResult, samples, destinationPrealloc: o.prealloc };
}
