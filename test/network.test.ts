// The shared network: max-min fair rates checked against allocations computed by hand, and a
// flow that re-plans its send when another joins and leaves.

import { describe, expect, it } from "vitest";
import { VirtualClock } from "../src/sim/clock.js";
import { NetLink, SharedNetwork, maxMinRates, type FlowSpec } from "../src/sim/network.js";

const flow = (path: NetLink[], cap = 0, ceiling = Infinity): FlowSpec => ({ path, cap, ceiling, latencyMs: 0 });

describe("max-min fair sharing", () => {
  it("matches a hand-computed allocation with two links and a capped flow", () => {
    // L1 = 10, L2 = 6. A on L1; B on L1 and L2; C on L2; D on L2 capped at 1.
    // Filling: all rise to 1 (D's cap); then A, B, C to 2.5, where L2 (1 + 2.5 + 2.5) is full;
    // then A alone takes the rest of L1: 10 - 2.5 = 7.5. Nothing is left for D's bursts.
    const l1 = new NetLink("L1", 10);
    const l2 = new NetLink("L2", 6);
    const rates = maxMinRates([flow([l1]), flow([l1, l2]), flow([l2]), flow([l2], 1)]);
    expect(rates.map((r) => +r.toFixed(9))).toEqual([7.5, 2.5, 2.5, 1]);
  });

  it("capped flows get their caps first, then burst evenly into what nobody else wants", () => {
    // Link 10, caps 2 and 3: entitled 2 and 3, the spare 5 split evenly: 4.5 and 5.5.
    const l = new NetLink("L", 10);
    expect(maxMinRates([flow([l], 2), flow([l], 3)]).map((r) => +r.toFixed(9))).toEqual([4.5, 5.5]);
  });

  it("a flow alone gets exactly its slowest link, or its sender's ceiling", () => {
    const fast = new NetLink("fast", 3.1e9);
    const slow = new NetLink("slow", 1.25e9);
    expect(maxMinRates([flow([fast, slow], 128 * 2 ** 20)])).toEqual([1.25e9]);
    expect(maxMinRates([flow([fast], 0, 1e9)])).toEqual([1e9]);
  });

  it("a send re-plans when another flow joins and leaves (hand-computed finish times)", async () => {
    // 1000 B/s. A sends 1000 B from 0; B sends 250 B from 0.5 s: A alone for 0.5 s (500 B),
    // then 500 B/s each: B done at 1.0 s, A has 250 B left, alone again: done at 1.25 s.
    const clock = new VirtualClock();
    const net = new SharedNetwork(clock);
    const link = net.link("L", 1000);
    const a = net.flow(flow([link]));
    const b = net.flow(flow([link]));
    const done: Record<string, number> = {};
    await clock.run(async () => {
      const ta = clock.spawn(async () => {
        await a.send(1000);
        done.a = clock.now();
        a.close();
      });
      const tb = clock.spawn(async () => {
        await clock.sleep(500);
        await b.send(250);
        done.b = clock.now();
        b.close();
      });
      await clock.join([ta, tb]);
    });
    expect(done.b).toBeCloseTo(1000, 6);
    expect(done.a).toBeCloseTo(1250, 6);
    expect(link.carried).toBeCloseTo(1250, 6);
    // Per second: A's 500 B, then 250 B each by 1 s; A's last 250 B in the next second.
    expect(link.carriedPerBin.map((b) => +b.toFixed(6))).toEqual([1000, 250]);
  });

  it("a send that spans seconds is spread over them by time", async () => {
    // 2500 B at 1000 B/s from 0.4 s: 600 B in the first second, 1000 in the next, 900 in the last.
    const clock = new VirtualClock();
    const net = new SharedNetwork(clock);
    const link = net.link("L", 1000);
    await clock.run(async () => {
      await clock.sleep(400);
      await net.flow(flow([link])).send(2500);
    });
    expect(link.carriedPerBin.map((b) => +b.toFixed(6))).toEqual([600, 1000, 900]);
  });

  it("an aborted flow fails its send with the reason", async () => {
    const clock = new VirtualClock();
    const net = new SharedNetwork(clock);
    const f = net.flow(flow([net.link("L", 1000)]));
    const outcome = await clock.run(async () => {
      const t = clock.spawn(() => f.send(1000).then(() => "sent", (e: Error) => e.message));
      await clock.sleep(100);
      f.abort("cancelled by test");
      return (await clock.join([t]))[0];
    });
    expect(outcome).toBe("cancelled by test");
  });
});
