// The single-VM link (src/sim/link.ts) and a link's utilisation bins at an instant, worked out by hand.

import { describe, expect, it } from "vitest";
import { VirtualClock } from "../src/sim/clock.js";
import { SimLink } from "../src/sim/link.js";
import { SharedNetwork } from "../src/sim/network.js";

describe("the single-VM link", () => {
  it("a send takes its bytes at the bandwidth; a drain ends one latency after the last byte left", async () => {
    // 250,000 B at 125,000,000 B/s (1 Gbit/s): 2 ms; then 5 ms of latency before the drain ends.
    const clock = new VirtualClock();
    const link = new SimLink(clock, { bandwidth: 125e6, latencyMs: 5 });
    const times: number[] = [];
    await clock.run(async () => {
      await link.send(250_000);
      times.push(clock.now());
      await link.drain();
      times.push(clock.now());
    });
    expect(times.map((t) => +t.toFixed(9))).toEqual([2, 7]);
  });
});

describe("a link's utilisation bins", () => {
  it("bytes carried at one instant (a re-plan at the time a send began) go to that instant's bin, not NaN", () => {
    const link = new SharedNetwork(new VirtualClock()).link("L", 1000);
    link.carry(0, 1500, 1500);
    link.carry(100, 2500, 2500);
    expect(link.carriedPerBin).toEqual([0, 0, 100]);
    expect(link.carried).toBe(100);
  });
});
