// multifd (issue 17): channels that read and zero-check their own packets, share the link and
// the host's cores. Expected figures from QEMU's packet format (migration/multifd.h) and the
// simulator's documented page-read rate (docs/model.md), not from runs.

import { describe, expect, it } from "vitest";
import { loadScenario } from "../../src/scenario/load.js";
import { simulate } from "../../src/sim/simulate.js";
import { mutating, run, scenario } from "../helpers.js";

/** A normal page in a full packet on the wire: its 4096 B and a 128th of the packet's 1344 B of header and offsets. */
const wirePerPage = 4096 + 1344 / 128;

const idle = (memory: string, used: string, link: string, extra = "") => `
name: mf
vm: {memory: ${memory}, used: ${used}, vcpus: 8}
link: {bandwidth: ${link}}
migration: {maxBandwidth: 0${extra}}
`;

describe("multifd", () => {
  it("must-show: idle 64 GiB (48 GiB used) over 100 Gbit/s: time never grows with channels, flattens at the link, 8 channels <= 0.6x one", { timeout: 120_000 }, async () => {
    if (mutating) return;
    const runs = loadScenario(idle("64GiB", "48GiB", "100Gbit/s"), "t.yaml")[0].scenario;
    const time = async (channels: number) => (await simulate({ ...runs, migration: { ...runs.migration, multifd: { channels } } }))["total-time"];
    const t = { 1: await time(1), 2: await time(2), 4: await time(4), 8: await time(8), 16: await time(16) };
    expect(t[2]).toBeLessThanOrEqual(t[1]);
    expect(t[4]).toBeLessThanOrEqual(t[2]);
    expect(t[8]).toBeLessThanOrEqual(t[4]);
    expect(t[16]).toBeLessThanOrEqual(t[8]);
    expect(t[8]).toBeLessThanOrEqual(0.6 * t[1]);
    // Where the link binds: 48 GiB of pages at 12.5 GB/s is the floor, and 16 channels are within 5 % of 8.
    const linkFloor = (48 * 2 ** 30 * wirePerPage) / 4096 / 12.5e9 * 1000;
    expect(t[16]).toBeGreaterThanOrEqual(linkFloor);
    expect(t[8] - t[16]).toBeLessThan(0.05 * t[8]);
  });

  it("multifd-bytes: per packet of up to 128 pages 320 B of header and 128 offset slots, 4096 B per normal page, and each channel's SYNC packets", async () => {
    // 64 MiB = 16384 pages, 4096 of them used: one pass of 128 full packets of 320 + 128 x 8 =
    // 1344 B besides their normal pages, and a SYNC packet (1344 B) on each of the 4 channels at
    // setup and at completion. (The walk ends its pass exactly at the end of RAM with the last
    // packet; without a profile's iterationMs the iteration ends there, the dirty sync finds
    // nothing and the switch comes before the walk passes the end again.)
    const r = await run(idle("64MiB", "16MiB", "10Gbit/s", ", multifd: {channels: 4}"));
    expect(r.status).toBe("completed");
    expect(r.ram["multifd-bytes"]).toBe(128 * 1344 + 4096 * 4096 + 2 * 4 * 1344);
    expect(r.ram.normal).toBe(4096);
    expect(r.ram.duplicate).toBe(16384 - 4096);
    expect(r.parameters!["multifd-channels"]).toBe(4);
    // Without multifd the field is absent, as in QEMU's reply without the capability.
    expect((await run(idle("64MiB", "16MiB", "10Gbit/s")))).not.toHaveProperty("ram.multifd-bytes");
  });

  it("CPU-bound channels share the host's cores: 8 channels and the migration thread on 3 cores run each channel's reads 3x slower", { timeout: 60_000 }, async () => {
    // A 1 Tbit/s link leaves the page reads (15 GB/s a thread) as what binds. A channel reads
    // its packet (c) and then puts it on the link (l); with 9 threads on 3 cores its reads take 3c.
    const base = idle("8GiB", "8GiB", "1000Gbit/s", ", multifd: {channels: 8}");
    const roomy = await run(base);
    const crowded = await run(base.replace("multifd: {channels: 8}", "multifd: {channels: 8}, hostCores: 3"));
    const c = (128 * 4096) / 15e9;
    const l = (128 * wirePerPage) / 125e9;
    const expected = (3 * c + l) / (c + l);
    expect(crowded["total-time"] / roomy["total-time"]).toBeCloseTo(expected, 1);
  });

  it("the channels share one link: where it binds, twice the channels send no faster", async () => {
    const text = (n: number) => idle("1GiB", "1GiB", "1Gbit/s", `, multifd: {channels: ${n}}`);
    const two = await run(text(2));
    const eight = await run(text(8));
    expect(eight["total-time"]).toBeCloseTo(two["total-time"], -1);
    // 1 GiB of normal pages at 125 MB/s: the floor.
    expect(two["total-time"]).toBeGreaterThanOrEqual(((2 ** 30 * wirePerPage) / 4096 / 125e6) * 1000);
  });

  it("QEMU refuses multifd with xbzrle, with its message", () => {
    expect(() => scenario(idle("64MiB", "16MiB", "1Gbit/s", ", multifd: {channels: 2}, xbzrle: {cacheSize: 64MiB}"))).toThrow(
      "test.yaml:5: migration.xbzrle: Multifd is not compatible with xbzrle",
    );
  });

  it("QEMU 10.0 refuses multifd with post-copy, with its message (migrate_caps_check, answered so here)", () => {
    expect(() => scenario(idle("64MiB", "16MiB", "1Gbit/s", ", multifd: {channels: 2}, postcopy: {after: {passes: 2}}"))).toThrow(
      "test.yaml:5: migration.postcopy: Postcopy is not yet compatible with multifd",
    );
  });
});
