// The emulated NIC in its own thread: it keeps moving frames while the hypervisor's main
// thread is busy, logs its DMA only when told to, and a suspend is final. Uses the built
// modules (dist/), since the NIC, vCPUs and network are worker threads.
import { afterEach, describe, expect, it } from "vitest";

type Live = {
  guest: typeof import("../../src/live/guest/guest.js");
  nic: typeof import("../../src/live/nic.js");
  fabric: typeof import("../../src/live/fabric.js");
  bitmap: typeof import("../../src/core/bitmap.js");
  layout: typeof import("../../src/live/guest/layout.js");
};
const load = async (): Promise<Live> => ({
  guest: await import("../../dist/src/live/guest/guest.js" as string),
  nic: await import("../../dist/src/live/nic.js" as string),
  fabric: await import("../../dist/src/live/fabric.js" as string),
  bitmap: await import("../../dist/src/core/bitmap.js" as string),
  layout: await import("../../dist/src/live/guest/layout.js" as string),
});

const macText = "52:54:00:12:34:56";
const mac = Uint8Array.from(macText.split(":").map((h) => parseInt(h, 16)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup.length = 0;
});

async function setUp(dmaLogged: () => boolean) {
  const m = await load();
  const fabric = await m.fabric.Fabric.start("127.0.0.1");
  cleanup.push(() => fabric.close());
  const guest = await m.guest.Guest.create({ pageCount: 4096, vcpus: 1, workload: { kind: "idle" }, seed: 1, mac, boot: { usedPages: 1024 } });
  cleanup.push(() => guest.shutdown());
  const nic = new m.nic.Nic(guest, { mac, switchAddress: { host: "127.0.0.1", port: fabric.port }, dmaLogged });
  await nic.open();
  cleanup.push(() => nic.close());
  nic.run();
  nic.announce();
  return { m, fabric, guest, nic };
}

describe("the emulated NIC (its own thread)", () => {
  it("answers pings while the main thread is blocked", async () => {
    const { fabric } = await setUp(() => true);
    fabric.probe(macText, 1);
    await sleep(200);
    const from = performance.timeOrigin + performance.now();
    const until = performance.now() + 300;
    while (performance.now() < until); // a long synchronous step of the migration
    const to = performance.timeOrigin + performance.now();
    await sleep(100);
    const { record } = await fabric.stopProbe();
    const repliedDuring = record.replied.filter((t) => t >= from + 20 && t <= to).length;
    // With the NIC on the main thread none is answered before it is free again; in its own
    // thread it answers during the block (how many is a matter of load, not of mechanism).
    expect(repliedDuring).toBeGreaterThan(0);
  }, 20_000);

  it("marks its receive DMA dirty only while the strategy logs it; nothing moves once suspended", async () => {
    let logged = false;
    const { m, fabric, guest, nic } = await setUp(() => logged);
    const { PageBitmap } = m.bitmap;
    const region = m.layout.nicLayout(guest.pageCount);
    const nicPagesDirty = () => {
      const b = new PageBitmap(guest.pageCount);
      guest.syncDirtyLog(b);
      let n = 0;
      // The pages only receive DMA writes: the used ring and the receive buffers.
      if (b.test(region.rxUsedPage)) n++;
      for (let k = 0; k < m.layout.rxEntries / 2; k++) if (b.test(m.layout.bufferPage(region, k))) n++;
      return n;
    };
    fabric.traffic(macText, 2000, 1000);
    await sleep(150);
    guest.syncDirtyLog(new PageBitmap(guest.pageCount));
    await sleep(150);
    expect(nic.stats.rx).toBeGreaterThan(100);
    expect(nicPagesDirty()).toBe(0); // untracked DMA: the dirty log never hears of it
    logged = true;
    nic.syncDmaLogged();
    await sleep(150);
    expect(nicPagesDirty()).toBeGreaterThan(10);
    nic.suspend();
    const state = nic.saveState();
    const rx = nic.stats.rx;
    const before = Buffer.from(guest.bytes.slice(region.rxUsedPage * 4096, guest.pageCount * 4096));
    nicPagesDirty();
    await sleep(150);
    expect(nic.saveState()).toEqual(state);
    expect(nic.stats.rx).toBe(rx);
    expect(nic.stats.rxDropped).toBeGreaterThan(100);
    expect(nicPagesDirty()).toBe(0);
    // The driver (vCPU 0) may still consume and repost, but the device's pages are unchanged.
    const after = Buffer.from(guest.bytes.slice(region.rxUsedPage * 4096, guest.pageCount * 4096));
    const usedPage = (b: Buffer) => b.subarray(0, 4096);
    expect(usedPage(after).equals(usedPage(before))).toBe(true);
  }, 20_000);
});
