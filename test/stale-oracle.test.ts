// Stale pages against a reference model that knows nothing of the simulator's bookkeeping:
// a plain array of page versions. Every write the guest's vCPUs make and every write the
// NIC's DMA makes bumps a page's version; every page the controller reads for sending
// copies its version to the destination. At switch-over a page is stale when the two
// versions differ. The simulator's own answer (its stale and sent bitmaps, fed by the
// strategy's "is DMA logged" flag) must be the same list, page by page.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PageRuns } from "../src/core/bitmap.js";
import { migrate } from "../src/core/controller.js";
import { buildResult } from "../src/core/result.js";
import type { GuestRam } from "../src/core/ports.js";
import { createDevices, migrationParams } from "../src/scenario/assemble.js";
import { VirtualClock } from "../src/sim/clock.js";
import { SimLink } from "../src/sim/link.js";
import { Random } from "../src/sim/random.js";
import { SimGuestRam } from "../src/sim/ram.js";
import { writeModel, type WriteModel } from "../src/sim/workload.js";
import { propertyRuns, scenario } from "./helpers.js";
import { migrateWatched } from "./sim-harness.js";

/** The reference model: versions of each page on the source and on the destination. */
class PageVersions {
  readonly source: Int32Array;
  /** -1: never copied. */
  readonly destination: Int32Array;

  constructor(pageCount: number) {
    this.source = new Int32Array(pageCount);
    this.destination = new Int32Array(pageCount).fill(-1);
  }

  write(page: number): void {
    this.source[page]++;
  }

  copy(page: number): void {
    this.destination[page] = this.source[page];
  }

  stale(): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.source.length; p++) if (this.destination[p] !== this.source[p]) out.push(p);
    return out;
  }
}

/** The vCPUs' writes, each also told to the reference model. */
function recorded(inner: WriteModel, versions: PageVersions): WriteModel {
  return {
    rate: inner.rate,
    write(count, mark) {
      inner.write(count, (page) => {
        versions.write(page);
        mark(page);
      });
    },
  };
}

/**
 * The receive ring's buffer pages, as the NIC reads them: each read of an element is one DMA
 * write into that page (the simulated NIC picks the page of each frame from this array).
 */
function dmaObserved(pages: Uint32Array, versions: PageVersions): Uint32Array {
  return new Proxy(pages, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof key === "string" && /^\d+$/.test(key)) versions.write(value as number);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

interface Case {
  strategy: string;
  memoryMiB: number;
  workload: string;
  rxRate: number;
  capMiB: number;
  seed: number;
  pool: number[];
}

const strategies = [
  "{kind: virtio}",
  "{kind: vf-enlightened}",
  "{kind: vf-enlightened, trackDma: false}",
  "{kind: vf-tracked}",
  "{kind: vf-tracked, trackDma: false}",
  "{kind: vdpa, queuePairs: 1}",
  "{kind: vdpa, queuePairs: 1, tracking: device}",
  "{kind: vf-failover, unplugMs: 300}",
];

const cases: fc.Arbitrary<Case> = fc
  .record({
    strategy: fc.constantFrom(...strategies),
    memoryMiB: fc.integer({ min: 8, max: 32 }),
    kind: fc.constantFrom("uniform", "hotcold", "scan"),
    share: fc.double({ min: 0.05, max: 1, noNaN: true }),
    rate: fc.integer({ min: 0, max: 20000 }),
    rxRate: fc.integer({ min: 100, max: 40000 }),
    capMiB: fc.constantFrom(0, 16, 64),
    seed: fc.nat(),
    poolSeed: fc.nat(),
  })
  .map((c) => {
    const pageCount = (c.memoryMiB << 20) / 4096;
    const workingSetMiB = Math.max(1, Math.round(c.memoryMiB * c.share));
    // Receive buffers at scattered pages, some next to each other (as pages of a ring are).
    const random = new Random(c.poolSeed);
    const pool = new Set<number>();
    while (pool.size < 64) {
      const p = random.below(pageCount);
      pool.add(p);
      if (random.float() < 0.3 && p + 1 < pageCount) pool.add(p + 1);
    }
    return {
      strategy: c.strategy,
      memoryMiB: c.memoryMiB,
      workload: `{kind: ${c.kind}, workingSet: ${workingSetMiB}MiB, rate: ${c.rate}}`,
      rxRate: c.rxRate,
      capMiB: c.capMiB,
      seed: c.seed,
      pool: [...pool],
    };
  });

/** One simulated migration with the reference model watching; the two stale lists. */
async function runWithOracle(c: Case) {
  const s = scenario(`
name: oracle
vm: {memory: ${c.memoryMiB}MiB, workload: ${c.workload}}
link: {bandwidth: 1Gbit/s}
migration: {maxBandwidth: ${c.capMiB === 0 ? 0 : `${c.capMiB}MiB/s`}, giveUp: {passes: 60}}
devices: [${c.strategy}]
`);
  const w = s.vm.workload;
  if (w.kind === "idle") throw new Error("the cases always have a workload");
  let oracle: number[] | undefined;
  let simulated: number[] | undefined;
  const result = await migrateWatched(s, {
    rxFramesPerSecond: c.rxRate,
    ram({ clock, devices, pageCount, pageSize }) {
      const versions = new PageVersions(pageCount);
      const ram = new SimGuestRam({
        clock,
        pageCount,
        pageSize,
        usedPages: pageCount,
        writes: recorded(writeModel({ ...w, workingSetPages: Math.floor(w.workingSet / pageSize) }, 0, new Random(c.seed)), versions),
        rx: { framesPerSecond: c.rxRate, bufferPages: dmaObserved(Uint32Array.from(c.pool), versions), buffersPerPage: 2, logged: () => devices[0].dmaLogged() },
        memoryReadBytesPerSecond: 15e9,
      });
      // The controller's view of RAM, with the copies and the switch-over check told to the model.
      return {
        pageCount,
        pageSize,
        startDirtyLog: () => ram.startDirtyLog(),
        stopDirtyLog: () => ram.stopDirtyLog(),
        syncDirtyLog: (into) => ram.syncDirtyLog(into),
        isZero: (page) => ram.isZero(page),
        runOfKind: (from, max, zero) => ram.runOfKind(from, max, zero),
        readPages(runs: PageRuns) {
          const read = ram.readPages(runs); // applies the writes due up to now, then copies
          for (let r = 0; r < runs.count; r++) for (let p = runs.starts[r]; p < runs.starts[r] + runs.lengths[r]; p++) versions.copy(p);
          return read;
        },
        stopVcpus: () => ram.stopVcpus(),
        resumeVcpus: () => ram.resumeVcpus(),
        setThrottle: (f) => ram.setThrottle(f),
        stalePages() {
          simulated = ram.stalePages();
          oracle = versions.stale();
          return simulated;
        },
      };
    },
  });
  return { result, oracle, simulated };
}

describe("stale pages: the simulator against a reference model of page versions", () => {
  it("agree page by page, for every strategy, workload and seed", async () => {
    let unsafe = 0;
    let safe = 0;
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const { result, oracle, simulated } = await runWithOracle(c);
        if (result.status === "failed") return; // never switched over: nothing to compare
        expect(simulated).toEqual(oracle);
        expect(result["stale-pages"]).toBe(oracle!.length);
        expect(result.status).toBe(oracle!.length > 0 ? "completed-unsafe" : "completed");
        if (oracle!.length > 0) unsafe++;
        else safe++;
      }),
      { numRuns: propertyRuns(40) },
    );
    // The cases must have exercised both outcomes, or the comparison says little.
    expect(unsafe).toBeGreaterThan(0);
    expect(safe).toBeGreaterThan(0);
  }, 120_000);

  it("tracked DMA leaves no stale page; untracked DMA into pages already sent does", async () => {
    const base: Omit<Case, "strategy"> = { memoryMiB: 16, workload: "{kind: uniform, workingSet: 16MiB, rate: 2000}", rxRate: 20000, capMiB: 16, seed: 3, pool: Array.from({ length: 64 }, (_, i) => 100 + 37 * i) };
    const tracked = await runWithOracle({ ...base, strategy: "{kind: vf-tracked}" });
    expect(tracked.result.status).toBe("completed");
    expect(tracked.oracle).toEqual([]);
    expect(tracked.simulated).toEqual([]);
    const untracked = await runWithOracle({ ...base, strategy: "{kind: vf-tracked, trackDma: false}" });
    expect(untracked.oracle!.length).toBeGreaterThan(0);
    expect(untracked.simulated).toEqual(untracked.oracle);
  });
});
