// The seeds' mechanisms and figures, from the scenarios in scenarios/.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadScenario } from "../src/scenario/load.js";
import { simulate } from "../src/sim/simulate.js";
import { mutating, propertyRuns, run } from "./helpers.js";

/** The named variants of a scenario file, simulated (all of them when none is named). */
async function scenarioFile(file: string, ...variants: string[]) {
  const runs = loadScenario(readFileSync(`scenarios/${file}`, "utf8"), file);
  const out: Record<string, Awaited<ReturnType<typeof simulate>>> = {};
  for (const r of runs) if (variants.length === 0 || variants.includes(r.variant)) out[r.variant] = await simulate(r.scenario);
  return out;
}

// Under `npm run mutate` the seed-figure runs of 2 to 128 GiB guests (seconds each on
// instrumented code) are left out: they check costs, and the mechanisms they exercise are
// covered by smaller runs (docs/mutation.md).

const within = (x: number, target: number, tolerance: number) => Math.abs(x - target) / target <= tolerance;

describe("2015: 82599 VF over 1 GbE, ping every 1 ms", () => {
  // Each test runs its scenario itself (no shared beforeAll), so that mutation testing sees
  // which test covers which code.
  const results = (...variants: string[]) => scenarioFile("2015-82599-enlightened.yaml", ...variants);

  it("vf-enlightened: completed, no stale pages, and the service gap outlasts QEMU's downtime by the VF's re-init and link-up", async () => {
    const r = await results("base");
    expect(r.base.status).toBe("completed");
    expect(r.base["stale-pages"]).toBe(0);
    // After resume the driver re-initialises the VF (vfReinitMs 50) and waits for link-up
    // (linkUpMs 100); the first lost probe is at most one 1 ms interval after vm-stop.
    expect(r.base["service-downtime"]!).toBeGreaterThanOrEqual(r.base.downtime! + 50 + 100 - 1);
  });

  // "about 180ms": one run on two laptops, quoted to two figures; "about" read as +-10 %.
  // The model gives ~230 ms (docs/model.md, "The 2015 figures": ~80 ms of final RAM under the
  // 32 MiB/s cap's threshold plus 150 ms of VF re-init and link-up): a known miss, kept as one.
  it.fails("vf-enlightened: service downtime within 10 % of the reported ~180 ms (known miss: the model gives ~230 ms)", async () => {
    const r = await results("base");
    expect(within(r.base["service-downtime"]!, 180, 0.1)).toBe(true);
  });

  it("vf-enlightened without the enlightenment loses data, loudly", async () => {
    const u = (await results("no-enlightenment"))["no-enlightenment"];
    expect(u.status).toBe("completed-unsafe");
    expect(u["stale-pages"]).toBeGreaterThan(0);
    expect(u["stale-page-list"]!.length).toBe(Math.min(1000, u["stale-pages"]));
    expect(u.warnings.join("\n")).toMatch(/UNSAFE/);
  });

  it("vf-failover: a gap at unplug, one at switch-over, and a degraded window as long as the precopy", async () => {
    const f = (await results("failover")).failover;
    expect(f.status).toBe("completed");
    const gaps = f.timeline.filter((e) => e.kind === "probe-gap");
    expect(gaps.length).toBe(2);
    const setupDone = f.timeline.find((e) => e.kind === "setup-done")!.t;
    expect(gaps[0].t).toBeLessThan(setupDone);
    const stop = f.timeline.find((e) => e.kind === "vm-stop")!.t;
    expect(gaps[1].t).toBeGreaterThanOrEqual(stop);
    // wait-unplug polls every 250 ms: setup covers the 5 s unplug, rounded up to a poll.
    expect(f["setup-time"]).toBeGreaterThanOrEqual(5000);
    expect(f["setup-time"] % 250).toBeCloseTo(0, 6);
    // Degraded from the failover until the VF is back at the destination: longer than precopy.
    expect(f.network!["degraded-time"]).toBeGreaterThan(f["total-time"] - f.downtime!);
  });
});

describe("2015: VF with no migration support", () => {
  it("is blocked with QEMU's reason", async () => {
    const r = await scenarioFile("2015-82599-no-support.yaml", "base");
    expect(r.base.status).toBe("failed");
    expect(r.base["error-desc"]).toMatch(/doesn't support device and IOMMU dirty tracking/);
    expect(r.base.ram.transferred).toBe(0);
  });
  it.skipIf(mutating)("forced, every sync dirties all of RAM: 2 GiB never fits a 9.6 MiB threshold", async () => {
    const r = await scenarioFile("2015-82599-no-support.yaml", "forced");
    expect(r.forced.status).toBe("failed");
    for (const p of r.forced.passes.slice(1)) expect(p["dirty-pages"]).toBe((2 * 2 ** 30) / 4096);
  });
  it("forced converges when all of RAM fits the threshold", async () => {
    const small = await run(`
name: tiny
vm: {memory: 64MiB}
link: {bandwidth: 10Gbit/s}
migration: {maxBandwidth: 0, giveUp: {passes: 10}}
devices: [{kind: vf, force: true}]
`);
    expect(small.status).toBe("completed");
  });
});

describe.skipIf(mutating)("2025: vDPA, 8 queue pairs, pinning at start vs early, one cost table", () => {
  const results = async (at39: string[], at128: string[]) => ({
    r39: await scenarioFile("2025-vdpa-39g.yaml", ...at39),
    r128: await scenarioFile("2025-vdpa-128g.yaml", ...at128),
  });
  // The series gives one figure per cell (back-to-back migrations, no spread, three
  // significant figures), so its own uncertainty sets no bound; 10 % is the bound the project
  // holds every cell to, not one chosen per cell from the model's output.
  const tolerance = 0.1;

  it("at-start is within 10 % of the series (4.72 s at 39G, 14.72 s at 128G); early within 10 % at 128G (5.83 s)", async () => {
    const { r39, r128 } = await results(["base"], ["base", "early"]);
    expect(within(r39.base["guest-visible-downtime"]!, 4720, tolerance)).toBe(true);
    expect(within(r128.base["guest-visible-downtime"]!, 14720, tolerance)).toBe(true);
    expect(within(r128.early["guest-visible-downtime"]!, 5830, tolerance)).toBe(true);
  });

  // The model gives 1.86 s (-11 %): the series' fixed part with early pinning is ~0.11 s larger
  // than at start and no mechanism with a figure behind it explains that (docs/model.md, "What
  // the 2025 figures say"). A known miss, not a widened bound.
  it.fails("early is within 10 % at 39G (2.09 s) (known miss: the model gives ~1.86 s)", async () => {
    const { r39 } = await results(["early"], []);
    expect(within(r39.early["guest-visible-downtime"]!, 2090, tolerance)).toBe(true);
  });

  it("early pinning leaves the downtime, and what remains still grows with RAM", async () => {
    const { r39, r128 } = await results(["base", "early"], ["early"]);
    expect(r39.base["downtime-breakdown"]!.pinning).toBeGreaterThan(2000);
    expect(r39.early["downtime-breakdown"]!.pinning ?? 0).toBeLessThan(50);
    const perGiB = (r128.early["guest-visible-downtime"]! - r39.early["guest-visible-downtime"]!) / (128 - 39);
    expect(perGiB).toBeGreaterThan(20);
    // The part that grows is the source unpinning guest RAM after suspend, not the destination.
    expect(r128.early["downtime-breakdown"]!.unpinning).toBeGreaterThan(r39.early["downtime-breakdown"]!.unpinning * 3);
    expect(r39.early["downtime-breakdown"]!["memory-key"] ?? 0).toBe(0);
  });
});

describe("stale pages, property-based", () => {
  const scenarioFor = (kind: string, trackDma: boolean | undefined, seed: number, rate: number, rx: number) => `
name: prop
seed: ${seed}
vm: {memory: 256MiB, workload: {kind: uniform, workingSet: 64MiB, rate: ${rate}, rx: {rate: ${rx}}}}
link: {bandwidth: 1Gbit/s}
migration: {maxBandwidth: 64MiB/s, giveUp: {passes: 40}}
devices: [{kind: ${kind}${trackDma === undefined ? "" : `, trackDma: ${trackDma}`}}]
`;
  const tracking: [string, boolean | undefined][] = [["virtio", undefined], ["vf-enlightened", true], ["vf-tracked", true], ["vdpa", undefined], ["vf-failover", undefined]];
  const untracked: [string, boolean | undefined][] = [["vf-enlightened", false], ["vf-tracked", false]];

  it("are 0 for every strategy that tracks DMA, whatever the workload and seed", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...tracking), fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 100, max: 50000 }), async ([kind, t], seed, rate, rx) => {
        const r = await run(scenarioFor(kind, t, seed, rate, rx));
        return r.status === "completed" && r["stale-pages"] === 0;
      }),
      { numRuns: propertyRuns(12) },
    );
  });

  it("are > 0 when DMA is untracked and receive traffic hits pages already sent", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...untracked), fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 100, max: 50000 }), async ([kind, t], seed, rate, rx) => {
        const r = await run(scenarioFor(kind, t, seed, rate, rx));
        return r.status === "completed-unsafe" && r["stale-pages"] > 0;
      }),
      { numRuns: propertyRuns(8) },
    );
  });
});
