// Auto-converge's migrate parameters (cpu-throttle-initial, -increment, -tailslow,
// max-cpu-throttle) as scenario fields, honoured as QEMU's mig_throttle_guest_down does.
import { describe, expect, it } from "vitest";
import { run } from "./helpers.js";

const busy = (migration: string) => `
name: throttle
vm: {memory: 4GiB, used: 1GiB, vcpus: 2, workload: {kind: uniform, workingSet: 512MiB, rate: 60000}}
link: {bandwidth: 10Gbit/s}
migration: {maxBandwidth: 128MiB/s, autoConverge: true, giveUp: {passes: 60}, ${migration}}
`;

const steps = (r: Awaited<ReturnType<typeof run>>) =>
  r.timeline.flatMap((e) => (e.kind === "throttle" ? [Math.round(e.fraction * 100)] : []));

describe("auto-converge's throttle parameters", () => {
  it("starts at cpu-throttle-initial, raises by cpu-throttle-increment, stops at max-cpu-throttle", async () => {
    const r = await run(busy("cpuThrottleInitial: 30, cpuThrottleIncrement: 5, maxCpuThrottle: 50"));
    const pct = steps(r);
    expect(pct[0]).toBe(30);
    for (let i = 1; i < pct.length; i++) expect(pct[i]).toBe(Math.min(pct[i - 1] + 5, 50));
    expect(Math.max(...pct)).toBeLessThanOrEqual(50);
    expect(r.parameters).toMatchObject({ "cpu-throttle-initial": 30, "cpu-throttle-increment": 5, "cpu-throttle-tailslow": false, "max-cpu-throttle": 50 });
  });

  it("with tailslow, raises by no more than the increment, and less near the end", async () => {
    const linear = steps(await run(busy("cpuThrottleIncrement: 20")));
    const slow = steps(await run(busy("cpuThrottleIncrement: 20, cpuThrottleTailslow: true")));
    expect(slow[0]).toBe(20);
    const raises = slow.slice(1).map((p, i) => p - slow[i]);
    for (const d of raises) expect(d).toBeGreaterThanOrEqual(0);
    for (const d of raises) expect(d).toBeLessThanOrEqual(20);
    // Without tailslow every raise is the full increment; with it at least one is smaller.
    for (let i = 1; i < linear.length; i++) expect(linear[i]).toBe(Math.min(linear[i - 1] + 20, 99));
    expect(raises.some((d) => d < 20)).toBe(true);
    // ... but it does raise: tailslow caps a raise, it does not stop them.
    expect(Math.max(...raises)).toBeGreaterThan(0);
  });

  it("refuses a throttle outside QEMU's range", async () => {
    await expect(run(busy("maxCpuThrottle: 100"))).rejects.toThrow(/migration\.maxCpuThrottle: expected an integer in \[1, 99\], got 100/);
  });
});
