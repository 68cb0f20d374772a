// The destination's first-touch figure crosses the network in the Config reply: the source
// believes only a well-formed one.
import { describe, expect, it } from "vitest";
import { checkFirstTouch, measureFirstTouch } from "../../src/live/first-touch.js";

describe("first touch", () => {
  it("measures the pages it was asked to touch", async () => {
    const t = await measureFirstTouch(256);
    expect(t.pages).toBe(256);
    expect(t.wallUs).toBeGreaterThan(0);
    expect(checkFirstTouch(t)).toEqual(t);
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

  it("refuses a malformed figure from the peer", () => {
    const good = { cpuUs: 3.1, wallUs: 4.2, pages: 16384 };
    expect(checkFirstTouch(good)).toEqual(good);
    expect(checkFirstTouch({ ...good, extra: "dropped" })).toEqual(good);
    for (const bad of [undefined, null, 3, {}, { ...good, cpuUs: -1 }, { ...good, wallUs: Number.NaN }, { ...good, cpuUs: "3" }, { ...good, pages: 0 }, { ...good, pages: 1.5 }, { ...good, wallUs: 1e9 }]) {
      expect(checkFirstTouch(bad)).toBeUndefined();
    }
  });
});
