// The shared network: max-min fair rates checked against allocations computed by hand, and a
// flow that re-plans its send when another joins and leaves.

import { describe, expect, it } from "vitest";
import { VirtualClock } from "../src/sim/clock.js";
import { NetLink, SharedNetwork, maxMinRates, type FlowSpec } from "../src/sim/network.js";

const flow = (path: NetLink[], cap = 0, ceiling = Infinity): FlowSpec => ({ path, cap, ceiling, latencyMs: 0 });

/**
 * Flows on one 1000 B/s link, each running its steps (a send of N bytes, or a sleep) from 0;
 * returns when each send ended, per flow.
 */
async function oneLink(steps: Record<string, (number | { sleep: number })[]>) {
  const clock = new VirtualClock();
  const net = new SharedNetwork(clock);
  const link = net.link("L", 1000);
  const flows = Object.fromEntries(Object.keys(steps).map((name) => [name, net.flow(flow([link]))]));
  const done: Record<string, number[]> = Object.fromEntries(Object.keys(steps).map((name) => [name, []]));
  await clock.run(async () => {
    const threads = Object.entries(steps).map(([name, list]) =>
      clock.spawn(async () => {
        for (const step of list) {
          if (typeof step === "number") {
            await flows[name].send(step);
            done[name].push(clock.now());
          } else await clock.sleep(step.sleep);
        }
        flows[name].close();
      }),
    );
    await clock.join(threads);
  });
  return { link, flows, done };
}

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
    const { link, done } = await oneLink({ a: [1000], b: [{ sleep: 500 }, 250] });
    expect(done.b[0]).toBeCloseTo(1000, 6);
    expect(done.a[0]).toBeCloseTo(1250, 6);
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

  it("a flow gets what its ceiling leaves; flows capped above their share split the link evenly", () => {
    // One link of 1000: A's sender pushes at most 200, so B takes the 800 left.
    const l = new NetLink("L", 1000);
    expect(maxMinRates([flow([l], 0, 200), flow([l])]).map((r) => +r.toFixed(9))).toEqual([200, 800]);
    // Caps of 800 each: both rise to 500, where the link is full; nothing is left to burst into.
    expect(maxMinRates([flow([l], 800), flow([l], 800)]).map((r) => +r.toFixed(9))).toEqual([500, 500]);
    // A sender that can push nothing gets nothing, and leaves the link to the other.
    expect(maxMinRates([flow([l], 0, 0), flow([l])]).map((r) => +r.toFixed(9))).toEqual([0, 1000]);
    // Flows on links apart each get their own link, whatever the other is.
    const m = new NetLink("M", 300);
    expect(maxMinRates([flow([l]), flow([m])])).toEqual([1000, 300]);
  });

  it("a link of no capacity is refused, naming the link", () => {
    const net = new SharedNetwork(new VirtualClock());
    expect(() => net.link("a tx", 0)).toThrow(new RangeError("link a tx: capacity 0: expected > 0 bytes/s"));
    expect(() => net.link("b rx", Number.NaN)).toThrow(/^link b rx: capacity NaN/);
    expect(net.link("c", 1).capacity).toBe(1);
  });

  it("a flow across three links sends at the slowest, each link carries its bytes, and the last byte lands one latency after the drain", async () => {
    // 3000, 2000 and 1000 B/s: 2000 B at 1000 B/s take 2000 ms; the 5 ms latency follows the drain.
    const clock = new VirtualClock();
    const net = new SharedNetwork(clock);
    const path = [net.link("tx", 3000), net.link("fabric", 2000), net.link("rx", 1000)];
    const f = net.flow({ path, cap: 0, ceiling: Infinity, latencyMs: 5 });
    const times: number[] = [];
    let during = 0;
    await clock.run(async () => {
      await f.send(2000);
      times.push(clock.now());
      during = net.flows.size;
      await f.drain();
      times.push(clock.now());
    });
    expect(times[0]).toBeCloseTo(2000, 6);
    expect(times[1]).toBeCloseTo(2005, 6);
    expect(during).toBe(1);
    expect(net.flows.size).toBe(0);
    expect(f.rate).toBe(0);
    expect(f.sent).toBeCloseTo(2000, 6);
    for (const l of path) expect(l.carried, l.name).toBeCloseTo(2000, 6);
    for (const l of path) expect(l.flows.size, l.name).toBe(0);
  });

  it("two sends in a row on one flow hold one share, and a flow that left gives the other the whole link", async () => {
    // 1000 B/s. A sends 300 B twice in a row, B 200 B, both from 0: 500 B/s each until B is
    // done at 400 ms (A has 200 B of its first send); then A alone at 1000 B/s: its first send
    // ends at 500 ms, its second (one share throughout, not two) at 800 ms.
    const { link, flows, done } = await oneLink({ a: [300, 300], b: [200] });
    expect(done.b[0]).toBeCloseTo(400, 6);
    expect(done.a[0]).toBeCloseTo(500, 6);
    expect(done.a[1]).toBeCloseTo(800, 6);
    expect(flows.a.sent).toBeCloseTo(600, 6);
    expect(link.carried).toBeCloseTo(800, 6);
  });

  it("an aborted flow leaves the link at once to the others, and keeps its first reason", async () => {
    // 1000 B/s shared: 500 B/s each; B is aborted at 200 ms when A has 100 B sent: A's 900 B
    // left go at 1000 B/s, done at 1100 ms.
    const clock = new VirtualClock();
    const net = new SharedNetwork(clock);
    const link = net.link("L", 1000);
    const a = net.flow(flow([link]));
    const b = net.flow(flow([link]));
    const out: Record<string, number | string> = {};
    await clock.run(async () => {
      const ta = clock.spawn(async () => {
        await a.send(1000);
        out.a = clock.now();
      });
      const tb = clock.spawn(() => b.send(1000).then(() => "sent", (e: Error) => e.message));
      await clock.sleep(200);
      b.abort("first");
      b.abort("second");
      out.b = (await clock.join([tb]))[0];
      out.bAt = clock.now();
      // A send after the abort fails at once.
      out.again = await b.send(10).then(() => "sent", (e: Error) => e.message);
      await clock.join([ta]);
    });
    expect(out.a).toBeCloseTo(1100, 6);
    expect(out.b).toBe("first");
    expect(out.bAt).toBeCloseTo(200, 6);
    expect(out.again).toBe("first");
    expect(a.sent).toBeCloseTo(1000, 6);
  });

  it("a capped flow alone gets its link's capacity exactly, not the cap plus the rest rounded", () => {
    // cap + (capacity - cap) is 185.74486104258466 in floating point, not the capacity: a VM alone
    // in a fleet must send at exactly the rate of its dedicated link in `simulate`.
    const capacity = 185.7448610425847;
    const cap = 21.119650654533828;
    expect(cap + (capacity - cap)).not.toBe(capacity);
    expect(maxMinRates([flow([new NetLink("L", capacity)], cap)])).toEqual([capacity]);
  });

  it("a flow aborted between sends fails its next send with the reason, without waiting", async () => {
    const clock = new VirtualClock();
    const net = new SharedNetwork(clock);
    const f = net.flow(flow([net.link("L", 1000)]));
    const out = await clock.run(async () => {
      f.abort("cancelled before the first byte");
      return f.send(1000).then(() => "sent", (e: Error) => e.message);
    });
    expect(out).toBe("cancelled before the first byte");
    expect(clock.now()).toBe(0);
    expect(f.sent).toBe(0);
  });
});
