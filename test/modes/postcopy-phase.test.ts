// The post-copy phase's fault accounting (src/core/postcopy.ts, rules in docs/model.md) on a
// phase small enough to work out by hand: 3 missing pages, a background slice of one page that
// takes 10 ms, a one-way latency of 2 ms, a requested page sent in 1 ms. The guest touches the
// pages a test gives it in the first step and nothing after.

import { describe, expect, it } from "vitest";
import { PageBitmap, type PageRuns } from "../../src/core/bitmap.js";
import type { GuestRam } from "../../src/core/ports.js";
import type { Device } from "../../src/core/device.js";
import { postcopyPhase, postcopyPinningWarning } from "../../src/core/postcopy.js";
import { VirtualClock } from "../../src/sim/clock.js";
import { run } from "../helpers.js";

/** `touch`: the pages the guest touches in the first step, or in each step (an array per step). */
async function phase(opts: { touch: number[] | number[][]; vcpus: number; preempt: boolean; pages?: number; pushFromTop?: boolean; latencyMs?: number }) {
  const clock = new VirtualClock();
  const pages = opts.pages ?? 3;
  const missing = new PageBitmap(pages);
  missing.setAll();
  const throttles: number[] = [];
  let step = 0;
  const ram = {
    setThrottle: (f: number) => void throttles.push(f),
    syncDirtyLog(into: PageBitmap) {
      const perStep = Array.isArray(opts.touch[0]) ? (opts.touch as number[][]) : [opts.touch as number[]];
      const touched = perStep[step++] ?? [];
      for (const p of touched) into.set(p);
      return touched.length;
    },
  } as unknown as GuestRam;
  const requested: number[] = [];
  const stats = await clock.run(() =>
    postcopyPhase({
      clock,
      ram,
      missing,
      vcpus: opts.vcpus,
      latencyMs: opts.latencyMs ?? 2,
      preempt: opts.preempt,
      // The background push: the first missing page, 10 ms.
      async push() {
        await clock.sleep(10);
        let page = missing.nextSet(0);
        if (opts.pushFromTop) for (let p = page; p >= 0; p = missing.nextSet(p + 1)) page = p;
        missing.clear(page);
      },
      async sendRequested(runs: PageRuns) {
        for (let r = 0; r < runs.count; r++) {
          for (let p = runs.starts[r]; p < runs.starts[r] + runs.lengths[r]; p++) {
            requested.push(p);
            missing.clear(p);
            await clock.sleep(1);
          }
        }
      },
    }),
  );
  return { stats, throttles, requested, end: clock.now() };
}

describe("post-copy faults, worked by hand", () => {
  it("one fault, one vCPU, no preempt: waits a round trip and half a slice, then its page", async () => {
    // Step 1: the push takes 10 ms, the guest touched page 2 (missing): 1 request, sent in 1 ms; step 11 ms.
    // Its wait: 2 x 2 ms + 10 / 2 ms = 9 ms, and its own page, (1 + 1) / 2 x 1 ms = 1 ms: 10 ms blocked of 11.
    // Step 2: the push sends page 1, nothing touched, nothing missing: the phase ends at 21 ms.
    const { stats, throttles, requested, end } = await phase({ touch: [2], vcpus: 1, preempt: false });
    expect(requested).toEqual([2]);
    expect(stats).toEqual({ requests: 1, blocktime: 10, vcpuBlocktime: 10 });
    expect(end).toBe(21);
    // The second step runs at the blocked share the first saw, x / (1 + x) with x = (1/11 touches/ms) x 1 x 10 ms = 10/11:
    // 10/21; the throttle is lifted at the end.
    expect(throttles).toHaveLength(3);
    expect(throttles[0]).toBe(0);
    expect(throttles[1]).toBeCloseTo(10 / 21, 12);
    expect(throttles[2]).toBe(0);
  });

  it("preempt: the page does not wait behind the slice", async () => {
    // 2 x 2 ms + 1 ms = 5 ms blocked; x = 5/11, so the next step runs at 5/16.
    const { stats, throttles } = await phase({ touch: [2], vcpus: 1, preempt: true });
    expect(stats).toEqual({ requests: 1, blocktime: 5, vcpuBlocktime: 5 });
    expect(throttles[1]).toBeCloseTo(5 / 16, 12);
  });

  it("two vCPUs: the 10 ms blocked are shared; both blocked at once only for the square of the share", async () => {
    // Share 10 / (2 x 11); per vCPU 10 / 2 = 5 ms; all at once 11 x (10/22)^2 = 2.273 ms; x = 5/11.
    const { stats, throttles } = await phase({ touch: [2], vcpus: 2, preempt: false });
    expect(stats).toEqual({ requests: 1, blocktime: 2.273, vcpuBlocktime: 5 });
    expect(throttles[1]).toBeCloseTo(5 / 16, 12);
  });

  it("two faults: the second waits for the first's page; the share is capped at the whole step", async () => {
    // 5 pages; step 1: push page 0 (10 ms), faults on 2 and 4 sent in 2 ms: step 12 ms.
    // Blocked 2 x 9 + 2 x (2 + 1) / 2 = 21 ms > 12 ms of one vCPU: the share is 1, 12 ms blocked.
    // x = (2 / 12) x (2 / 2) x (21 / 2) = 1.75: the next step at 1.75 / 2.75.
    const { stats, throttles, requested } = await phase({ touch: [2, 4], vcpus: 1, preempt: false, pages: 5 });
    expect(requested).toEqual([2, 4]);
    expect(stats).toEqual({ requests: 2, blocktime: 12, vcpuBlocktime: 12 });
    expect(throttles[1]).toBeCloseTo(1.75 / 2.75, 12);
  });

  it("faults in two steps: the second step's touch rate is taken at full speed, from the throttled one", async () => {
    // 5 pages. Step 1 as above (fault on 2): 10 ms blocked, next at 10/21. Step 2 runs at 10/21: the push
    // sends page 1, the guest touched page 3 (1 touch in 11 ms at 11/21 of full speed: 21/121 per ms at full speed),
    // fault, 10 ms blocked; x = 21/121 x 1 x 10 = 210/121, so step 3 runs at 210/331 and sends page 4, the last.
    const { stats, throttles } = await phase({ touch: [[2], [3]], vcpus: 1, preempt: false, pages: 5 });
    expect(stats).toEqual({ requests: 2, blocktime: 20, vcpuBlocktime: 20 });
    expect(throttles.map((t) => +t.toFixed(12))).toEqual([0, +(10 / 21).toFixed(12), +(210 / 331).toFixed(12), 0]);
  });

  it("a step in which the guest touched nothing lifts the throttle", async () => {
    // 4 pages: step 1 faults on 2 (next at 10/21); step 2 touches nothing (page 3 still missing): step 3 at 0.
    const { throttles } = await phase({ touch: [[2], []], vcpus: 1, preempt: false, pages: 4 });
    expect(throttles.map((t) => +t.toFixed(12))).toEqual([0, +(10 / 21).toFixed(12), 0, 0]);
  });

  it("a step in which the guest touched only pages already there lifts the throttle: its miss share is 0", async () => {
    // 5 pages: step 1 faults on 2 (next at 10/21, no vCPU waits past the step: 9 ms < 11 ms); step 2 touches
    // page 0, which came with the first push: no miss, so x = 0 for step 3; steps 3 and 4 push pages 3 and 4.
    const { stats, throttles } = await phase({ touch: [[2], [0]], vcpus: 1, preempt: false, pages: 5 });
    expect(stats.requests).toBe(1);
    expect(throttles.map((t) => +t.toFixed(12))).toEqual([0, +(10 / 21).toFixed(12), 0, 0, 0]);
  });

  it("a vCPU still waiting for its page keeps the guest slowed, though it raises no fault meanwhile", async () => {
    // One-way latency 20 ms: the fault on 2 waits 2 x 20 + 10 / 2 = 45 ms, longer than the 11 ms step, so the
    // vCPU is blocked until 45 ms. Blocked 45 + 1 = 46 ms for the one request: x = (1/11) x 1 x 46 = 46/11, share
    // 46/57. Steps 2 (11-21 ms, touches missing page 3), 3 (21-31) and 4 (31-41) raise no fault: the vCPU still waits.
    // Blocked from 0 to the phase's end at 41 ms (pushes of pages 0, 1, 3, 4): 41 ms, all vCPUs at once.
    const { stats, throttles, requested } = await phase({ touch: [[2], [3]], vcpus: 1, preempt: false, pages: 5, latencyMs: 20 });
    expect(requested).toEqual([2]);
    expect(stats).toEqual({ requests: 1, blocktime: 41, vcpuBlocktime: 41 });
    expect(throttles.map((t) => +t.toFixed(12))).toEqual([0, +(46 / 57).toFixed(12), +(46 / 57).toFixed(12), +(46 / 57).toFixed(12), 0]);
  });

  it("with two vCPUs, one still waiting is enough to keep the guest slowed", async () => {
    // As above, the fault on vCPU 0 (45 ms); vCPU 1 never waits. x = (1/11) x 1 x 46 / 2 = 23/11, share 23/34,
    // kept while vCPU 0 waits. vCPU 0 blocked 41 ms of the phase, vCPU 1 none: 20.5 ms each, never both at once.
    const { stats, throttles } = await phase({ touch: [[2], []], vcpus: 2, preempt: false, pages: 5, latencyMs: 20 });
    expect(stats).toEqual({ requests: 1, blocktime: 0, vcpuBlocktime: 20.5 });
    expect(throttles.map((t) => +t.toFixed(12))).toEqual([0, +(23 / 34).toFixed(12), +(23 / 34).toFixed(12), +(23 / 34).toFixed(12), 0]);
  });

  it("a wait that ends with its step carries nothing over: it is counted by the share, page time included", async () => {
    // preempt, one-way latency 5.5 ms: the fault on 2 waits 11 ms, as long as the step (10 ms push + 1 ms page), so no
    // vCPU is still blocked after it. Blocked 11 + (1 + 1) / 2 x 1 = 12 ms of 2 x 11: share 6/11, per vCPU 12 / 2 = 6 ms,
    // both at once 11 x (6/11)^2 = 36/11 ms. (Taken as a long wait it would be one vCPU for 11 ms: 5.5 ms each, never both.)
    const { stats, throttles, end } = await phase({ touch: [2], vcpus: 2, preempt: true, latencyMs: 5.5 });
    expect(stats).toEqual({ requests: 1, blocktime: 3.273, vcpuBlocktime: 6 });
    expect(end).toBe(21);
    // x = (1/11) x 1 x 12 / 2 = 6/11: the next step at 6/17.
    expect(throttles[1]).toBeCloseTo(6 / 17, 12);
  });

  it("two long waits raised in one step go to two vCPUs: a vCPU waits for one page at a time", async () => {
    // 5 pages, 3 vCPUs, one-way latency 20 ms: step 1 pushes page 0 (0-10 ms), faults on 2 and 4 are sent in 2 ms;
    // each waits 2 x 20 + 10 / 2 = 45 ms, longer than the 12 ms step, so vCPUs 0 and 1 are blocked 0-45 ms and
    // vCPU 2 not at all. Steps 2 (12-22, page 1) and 3 (22-32, page 3) raise nothing; the phase ends at 32 ms.
    // Blocked 12 + 12 in step 1, 10 + 10 in each of the two others: 64 / 3 ms each; never all three at once.
    // Throttle: blocked 2 x 45 + 2 x (2 + 1) / 2 = 93 ms; x = (2/12) x (2/2) x (93/2) / 3 = 31/12: 31/43, kept while they wait.
    const { stats, throttles, requested, end } = await phase({ touch: [[2, 4]], vcpus: 3, preempt: false, pages: 5, latencyMs: 20 });
    expect(requested).toEqual([2, 4]);
    expect(end).toBe(32);
    expect(stats).toEqual({ requests: 2, blocktime: 0, vcpuBlocktime: 21.333 });
    expect(throttles.map((t) => +t.toFixed(12))).toEqual([0, +(31 / 43).toFixed(12), +(31 / 43).toFixed(12), 0]);
  });

  it("a vCPU whose wait ends within a step and that faults again in it is blocked the whole step: the two waits are one", async () => {
    // 7 pages, one vCPU, one-way latency 20 ms: the fault on 2 in step 1 (0-11) blocks it 0-45; steps 2-4 (11-41)
    // push pages 1, 3, 4 and raise nothing. Step 5 (41-52) pushes page 5; the vCPU, free at 45, touches page 6:
    // one fault, its page sent 51-52, a wait from 45 to 90. The vCPU ran at no moment of the phase: blocked 0-52.
    const { stats, requested, end } = await phase({ touch: [[2], [], [], [], [6]], vcpus: 1, preempt: false, pages: 7, latencyMs: 20 });
    expect(requested).toEqual([2, 6]);
    expect(end).toBe(52);
    expect(stats).toEqual({ requests: 2, blocktime: 52, vcpuBlocktime: 52 });
  });

  it("a touched page that has arrived counts in the touch rate, not in the misses: the same share as one touch and one miss", async () => {
    // Touches 0 (arrived with the push) and 2: 2 touches in 11 ms, 1 miss of 2: x = (2/11) x (1/2) x 10 = 10/11, so 10/21.
    const { stats, throttles } = await phase({ touch: [0, 2], vcpus: 1, preempt: false });
    expect(stats).toEqual({ requests: 1, blocktime: 10, vcpuBlocktime: 10 });
    expect(throttles[1]).toBeCloseTo(10 / 21, 12);
  });

  it("page 0 faults like any other", async () => {
    // The push sends from the top (page 2); the guest touched page 0, still missing: as the first test, mirrored.
    const { stats, requested } = await phase({ touch: [0], vcpus: 1, preempt: false, pushFromTop: true });
    expect(requested).toEqual([0]);
    expect(stats).toEqual({ requests: 1, blocktime: 10, vcpuBlocktime: 10 });
  });

  it("a touched page that has already arrived is no fault", async () => {
    // Page 0 arrives with the first push; the guest touching it then waits for nothing.
    const { stats, requested, throttles } = await phase({ touch: [0], vcpus: 1, preempt: false });
    expect(requested).toEqual([]);
    expect(stats).toEqual({ requests: 0, blocktime: 0, vcpuBlocktime: 0 });
    expect(throttles.every((t) => t === 0)).toBe(true);
  });
});

describe("post-copy's bytes, exactly", () => {
  // post-copy at once (after: {time: 0}): every page is still to come at the switch, and an idle guest
  // touches none of them, so the phase is background slices only (no request is sent without a fault).
  // A slice stops at the page that reaches 1 MiB: normal pages cost 8 + 4096 B, zero pages 8 + 1 B, and
  // each slice ends with an 8-byte EOS. At the switch: the discard bitmap, one range of all pages
  // (2 x 8 B), and virtio's 4096 B of device state.
  const idle = (used: string) => run(`
name: pc-bytes
vm: {memory: 4MiB, used: ${used}}
link: {bandwidth: 1Gbit/s}
migration: {maxBandwidth: 0, postcopy: {after: {time: 0}}}
`);

  it("1024 normal pages: slices of 256 (255 x 4104 B < 1 MiB <= 256 x 4104 B), 4 slices", async () => {
    const r = await idle("4MiB");
    expect(r.status).toBe("completed");
    expect(r.ram["postcopy-requests"]).toBe(0);
    expect(r.ram["postcopy-bytes"]).toBe(1024 * 4104 + 4 * 8);
    expect(r.ram["downtime-bytes"]).toBe(2 * 8 + 4096);
    expect(r.ram["precopy-bytes"]).toBe(0);
    expect(r.ram.transferred).toBe(1024 * 4104 + 4 * 8 + 2 * 8 + 4096);
  });

  it("256 normal and 768 zero pages: 1,057,536 B of pages, more than one slice and less than two, so 2 EOS", async () => {
    const r = await idle("1MiB");
    expect([r.ram.normal, r.ram.duplicate]).toEqual([256, 768]);
    expect(r.ram["postcopy-bytes"]).toBe(256 * 4104 + 768 * 9 + 2 * 8);
  });
});

describe("the warning for devices that pin the destination's RAM", () => {
  const d = (kind: string, pinsDestinationMemory: boolean): Device => ({ kind, pinsDestinationMemory, dmaLogged: () => true, stateBytes: () => 0 });

  it("names every such device and only those; none, no warning", () => {
    const w = postcopyPinningWarning([d("virtio", false), d("vdpa", true), d("vf-enlightened", true)])!;
    expect(w.startsWith("post-copy with vdpa, vf-enlightened: the device pins guest RAM for DMA at the destination")).toBe(true);
    // What it cannot vouch for, and why QEMU lets it run.
    expect(w).toMatch(/QEMU 10\.0 does not refuse it/);
    expect(w).toMatch(/userfaultfd/);
    expect(w).toMatch(/treat this result as unverified$/);
    expect(postcopyPinningWarning([d("virtio", false)])).toBeUndefined();
    expect(postcopyPinningWarning([])).toBeUndefined();
  });
});
