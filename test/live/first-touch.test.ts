// The hosts' per-page probes: the destination's first touch and apply (they cross the network in
// the Config reply: the source believes only well-formed ones) and the source's zero check.
import { describe, expect, it } from "vitest";
import { applyFramePages, measureApply } from "../../src/live/apply-probe.js";
import { checkPageProbe, measureFirstTouch } from "../../src/live/first-touch.js";
import { measureZeroCheck } from "../../src/live/zero-probe.js";

describe("first touch", () => {
  it("measures the pages it was asked to touch", async () => {
    const t = await measureFirstTouch(256);
    expect(t.pages).toBe(256);
    expect(t.wallUs).toBeGreaterThan(0);
    expect(checkPageProbe(t)).toEqual(t);
  });

  it("lets the event loop turn between its chunks (a probe of 1 MiB chunks)", async () => {
    // 4 MiB: four chunks, so the loop turns at least three times while the probe runs.
    let turns = 0;
    let stop = false;
    const tick = () => {
      if (stop) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const t = await measureFirstTouch((4 << 20) / 4096);
    stop = true;
    expect(t.pages).toBe(1024);
    expect(turns).toBeGreaterThanOrEqual(3);
  });

  it("applies a sealed frame of data pages to each MiB of the memory the first touch populated, and times that", async () => {
    const frames = 4;
    const ram = new SharedArrayBuffer(frames * applyFramePages * 4096);
    await measureFirstTouch(frames * applyFramePages, ram);
    const a = await measureApply(ram);
    expect(a.pages).toBe(frames * applyFramePages);
    expect(a.wallUs).toBeGreaterThan(0);
    expect(checkPageProbe(a)).toEqual(a);
    // Each frame passed its GMAC check and landed: every MiB holds the frame's random pages.
    const bytes = Buffer.from(ram);
    const frame = bytes.subarray(0, applyFramePages * 4096);
    expect(frame.equals(Buffer.alloc(frame.length))).toBe(false);
    for (let i = 1; i < frames; i++) expect(bytes.subarray(i * frame.length, (i + 1) * frame.length).equals(frame)).toBe(true);
  });

  it("times the source's zero check over fresh memory, every page of which it finds zero", async () => {
    const z = await measureZeroCheck(8192);
    expect(z.pages).toBe(8192);
    expect(z.wallUs).toBeGreaterThan(0);
    expect(checkPageProbe(z)).toEqual(z);
  });

  it("refuses a malformed figure from the peer", () => {
    const good = { cpuUs: 3.1, wallUs: 4.2, pages: 16384 };
    expect(checkPageProbe(good)).toEqual(good);
    expect(checkPageProbe({ ...good, extra: "dropped" })).toEqual(good);
    for (const bad of [undefined, null, 3, {}, { ...good, cpuUs: -1 }, { ...good, wallUs: Number.NaN }, { ...good, cpuUs: "3" }, { ...good, pages: 0 }, { ...good, pages: 1.5 }, { ...good, wallUs: 1e9 }]) {
      expect(checkPageProbe(bad)).toBeUndefined();
    }
  });
});
