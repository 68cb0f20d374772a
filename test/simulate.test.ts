// How simulate() assembles a run from a scenario: the receive ring's pages, seeds, the probe,
// a machine profile's copy rate. Expected figures from the documented models (docs/model.md).

import { describe, expect, it } from "vitest";
import { simulate } from "../src/sim/simulate.js";
import { MiB, run, scenario } from "./helpers.js";

const rxGuest = (device: string, size: string) => `
name: rx
vm: {memory: 64MiB, workload: {kind: uniform, workingSet: 1MiB, rate: 0, rx: {rate: 100000, size: ${size}}}}
link: {bandwidth: 1Gbit/s}
migration: {maxBandwidth: 0}
devices: [${device}]
`;

describe("simulate", () => {
  it("receive buffers: 512 descriptors, 2 KiB buffers, two to a page for frames up to 2 KiB, one above", async () => {
    // Untracked, 100k frames/s go round the ring every few ms: every buffer page sent before
    // the stop is written again after it. A 1 ms downtime limit leaves almost nothing to send
    // in the downtime, so nearly all the ring's pages are stale, and never more than it has.
    const stale = async (size: string) => (await run(rxGuest("{kind: vf-enlightened, trackDma: false}", size).replace("maxBandwidth: 0", "maxBandwidth: 0, downtimeLimit: 1ms")))["stale-pages"];
    const small = await stale("1000B");
    expect(small).toBeLessThanOrEqual(256);
    expect(small).toBeGreaterThan(256 * 0.9);
    expect(await stale("2048B")).toBe(small); // the same ring: 2 KiB still fits a buffer
    const large = await stale("3000B");
    expect(large).toBeLessThanOrEqual(512);
    expect(large).toBeGreaterThan(512 * 0.9);
  });

  it("the seed: the scenario's, unless the caller gives one; the same seed gives the same run", async () => {
    const text = "name: s\nseed: 5\nvm: {memory: 256MiB, workload: {kind: uniform, workingSet: 64MiB, rate: 5000, rx: {rate: 20000}}}\nlink: {bandwidth: 1Gbit/s}\ndevices: [{kind: vf-enlightened, trackDma: false}]\n";
    const s = scenario(text);
    const a = await simulate(s);
    expect(await simulate(s, { seed: 5 })).toEqual(a);
    expect(await simulate(scenario(text.replace("seed: 5", "seed: 6")))).toEqual(await simulate(s, { seed: 6 }));
    expect(await simulate(s, { seed: 6 })).not.toEqual(a);
  });

  it("a working set of all of RAM: every page dirty at every sync", async () => {
    const r = await run("name: w\nvm: {memory: 16MiB, workload: {kind: scan, workingSet: 16MiB, rate: 100000}}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\n");
    // 100k sequential writes a second over its 4096 pages: all of them dirty at every sync after the first 41 ms.
    for (const p of r.passes.filter((p) => p.t > 50)) expect(p["dirty-pages"]).toBe(4096);
    expect(r.passes.filter((p) => p.t > 50).length).toBeGreaterThan(0);
  });

  it("reports the service downtime only when the scenario has a prober", async () => {
    const text = "name: p\nvm: {memory: 16MiB}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\n";
    expect((await run(text))["service-downtime"]).toBeUndefined();
    const probed = await run(text + "probe: {interval: 1ms}\n");
    expect(probed["service-downtime"]).toBeGreaterThanOrEqual(probed.downtime! - 1);
    expect(probed.network!["probe-interval"]).toBe(1);
  });

  it("a profile's copy rate caps the link; a faster one does not raise it", async () => {
    const s = scenario("name: c\nvm: {memory: 64MiB}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\n");
    const link = await simulate(s);
    const slow = await simulate(s, { profile: { copyBytesPerSecond: 25e6 } });
    const fast = await simulate(s, { profile: { copyBytesPerSecond: 1e12 } });
    expect(fast["total-time"]).toBe(link["total-time"]);
    // 64 MiB of pages at 25 MB/s instead of 125 MB/s: five times as long, give or take the fixed parts.
    const stream = 64 * MiB * (4104 / 4096);
    expect(slow["total-time"]).toBeGreaterThanOrEqual((stream / 25e6) * 1000);
    expect(slow["total-time"]).toBeLessThan((stream / 25e6) * 1000 * 1.05);
  });

  it("the guest's shape: RAM in whole pages (a memory size that is not a multiple of the page size loses the rest), its page size", async () => {
    // 16 MiB + 100 B in 4 KiB pages: 4096 pages, 16 MiB; in 2 MiB pages: 8 pages, the same.
    for (const pageSize of ["4KiB", "2MiB"]) {
      const r = await run(`name: shape\nvm: {memory: 16777316B, pageSize: ${pageSize}}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\n`);
      expect(r.ram.total).toBe(16 * MiB);
      expect(r.ram["page-size"]).toBe(pageSize === "4KiB" ? 4096 : 2 * MiB);
    }
  });

  it("receive buffers: 512 descriptors per queue pair, two buffers to a page: 256 pages a queue pair", async () => {
    // An empty guest whose only non-zero pages are its receive buffers (one frame a second:
    // none arrives during the migration).
    const ring = async (queuePairs: number) =>
      (await run(`name: q\nvm: {memory: 64MiB, used: 0B, workload: {kind: idle, rx: {rate: 1}}}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\ndevices: [{kind: virtio, queuePairs: ${queuePairs}}]\n`)).ram.normal;
    expect(await ring(1)).toBe(256);
    expect(await ring(2)).toBe(512);
    // A prober's pings alone (one a second) are one flow: they fill one queue's ring, however many queue pairs.
    const pinged = async (queuePairs: number) =>
      (await run(`name: q\nvm: {memory: 64MiB, used: 0B, workload: {kind: idle}}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\ndevices: [{kind: virtio, queuePairs: ${queuePairs}}]\nprobe: {interval: 1000ms}\n`)).ram.normal;
    expect(await pinged(1)).toBe(256);
    expect(await pinged(4)).toBe(256);
  });

  it("the prober's echo requests are received frames: an idle, probed guest's final RAM holds the buffer pages they wrote", async () => {
    // 1000 pings/s walk one queue's 512 buffers (256 pages) every 0.5 s: a first pass of ~1.1 s
    // (128 MiB over 1 Gbit/s) leaves all of them dirty at the switch-over. Unprobed: nothing.
    const idle = "name: p\nvm: {memory: 256MiB, used: 128MiB, workload: {kind: idle}}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\ndevices: [{kind: virtio}]\n";
    const finalPages = (r: Awaited<ReturnType<typeof run>>) => r.passes[r.passes.length - 1]["dirty-pages"];
    const probed = await run(idle + "probe: {interval: 1ms}\n");
    expect(finalPages(probed)).toBe(256);
    expect(probed["downtime-breakdown"]!["final-ram"]).toBeGreaterThanOrEqual(((256 * 4104) / 125e6) * 1000);
    expect(finalPages(await run(idle))).toBe(0);
    // A ping every 10 ms: 100 frames/s reach ~100 buffers of the ring during the last pass, not all.
    const sparse = finalPages(await run(idle + "probe: {interval: 10ms}\n"));
    expect(sparse).toBeGreaterThan(0);
    expect(sparse).toBeLessThan(256);
  });

  it("a receive rate of 0 is no receive traffic: no buffer pages made non-zero", async () => {
    const text = "name: z\nvm: {memory: 64MiB, used: 1MiB, workload: {kind: idle, rx: {rate: 0}}}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\n";
    const r = await run(text);
    expect(r.ram.normal).toBe(256); // the 1 MiB used, nothing else
  });

  it("passes the receive rate to the devices: the enlightened VF drops the frames its ring holds at stop (rate x 125 us interrupt interval)", async () => {
    const text = "name: d\nvm: {memory: 64MiB, workload: {kind: uniform, workingSet: 1MiB, rate: 0, rx: {rate: 100000}}}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\ndevices: [{kind: vf-enlightened}]\n";
    const r = await run(text);
    const frames = 100_000 * 125e-6; // 12.5 -> 13 frames in the ring
    expect(r.warnings).toContain(`${Math.round(frames)} received frames dropped: descriptor rings dropped at stop (rebuilt fresh at the destination)`);
  });

  it("keeps the writes inside the working set: a 1 MiB working set never has more than its 256 pages newly dirty", async () => {
    const r = await run("name: w\nvm: {memory: 64MiB, workload: {kind: uniform, workingSet: 1MiB, rate: 100000}}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0, giveUp: {passes: 10}}\n");
    // Newly dirty at a sync: pages written since the last that were not dirty already.
    const later = r.passes.slice(1);
    for (const p of later) expect(p["newly-dirty"]).toBeLessThanOrEqual(256);
    expect(later.reduce((n, p) => n + p["newly-dirty"], 0)).toBeGreaterThan(0);
  });

  it("adds a profile's fixed setup and switch-over work, either alone, as the machine's spans", async () => {
    const s = scenario("name: m\nvm: {memory: 16MiB}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\n");
    const base = await simulate(s);
    const setup = await simulate(s, { profile: { setupMs: 50 } });
    const switchover = await simulate(s, { profile: { switchoverMs: 30 } });
    expect(setup["setup-time"]).toBeCloseTo(base["setup-time"] + 50, 6);
    expect(setup.downtime).toBeCloseTo(base.downtime!, 6);
    expect(switchover["setup-time"]).toBe(base["setup-time"]);
    expect(switchover.downtime).toBeCloseTo(base.downtime! + 30, 6);
    expect(switchover["downtime-breakdown"]!["switch-over"]).toBeCloseTo(30, 6);
    const spans = (r: typeof base) => r.timeline.flatMap((e) => (e.kind === "span" && e.name.startsWith("machine") ? [{ name: e.name, component: e.component, side: e.side }] : []));
    expect(spans(setup)).toEqual([{ name: "machine setup", component: "setup", side: "source" }, { name: "machine switch-over", component: "switch-over", side: "destination" }]);
    // A profile without fixed costs adds no participant.
    expect(spans(await simulate(s, { profile: { pageReadBytesPerSecond: 15e9 } }))).toEqual([]);
  });

  it("a profile's copy rate of 0 (not measured) leaves the link as it is; no prober, no probe gaps", async () => {
    const s = scenario("name: c\nvm: {memory: 16MiB}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0}\n");
    const link = await simulate(s);
    expect((await simulate(s, { profile: { copyBytesPerSecond: 0 } }))["total-time"]).toBe(link["total-time"]);
    expect(link.timeline.filter((e) => e.kind === "probe-gap")).toEqual([]);
  });
});

