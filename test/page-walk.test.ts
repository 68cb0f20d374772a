// The controller's page walk (ram_find_and_save_block, ram_save_iterate) against a reference
// kept by the guest RAM itself: the set of pages the controller has been told are dirty and
// has not read since. From it, by QEMU's rules and nothing of the controller's code:
// - the next page sent is the first dirty page at or after the one after the last page sent,
//   else (the walk wraps) the first dirty page of RAM; no page is sent that is not dirty;
// - a section costs its pages (8 + 1 B zero, 8 + 4096 B normal) and an 8-byte EOS, exactly;
// - a section stops at the page that reaches its budget: without its last page it is below
//   max-bandwidth / 10 (before the stop) or the 1 MiB slice (after it);
// - normal and duplicate count the pages sent of each kind, transferred every byte sent.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PageBitmap, PageRuns } from "../src/core/bitmap.js";
import { migrate, runChunkMaxPages, sliceBuildMs } from "../src/core/controller.js";
import { qemuDefaults, type MigrationParams } from "../src/core/params.js";
import type { GuestRam } from "../src/core/ports.js";
import { buildResult } from "../src/core/result.js";
import { VirtualClock } from "../src/sim/clock.js";
import { SimLink } from "../src/sim/link.js";
import { propertyRuns } from "./helpers.js";

const pageSize = 4096;
const cost = (zero: boolean) => (zero ? 8 + 1 : 8 + pageSize);

/** RAM whose zero pages are fixed, that dirties given pages at each sync after the first, and checks the walk. */
class WalkedRam implements GuestRam {
  readonly pageSize = pageSize;
  /** Dirty in the controller's view: reported at a sync, not read since. */
  readonly dirty: boolean[];
  /** Each section read: its pages, whether the vCPUs were stopped, whether dirty pages were left after it. */
  readonly sections: { pages: number[]; stopped: boolean; left: boolean }[] = [];
  readonly violations: string[] = [];
  private next = 0;
  private clean = false;
  private syncs = 0;
  private stopped = false;

  constructor(
    readonly zero: boolean[],
    private readonly writes: number[][],
  ) {
    this.dirty = zero.map(() => false);
  }

  get pageCount(): number {
    return this.zero.length;
  }

  startDirtyLog(): void {}
  stopDirtyLog(): void {}
  syncDirtyLog(into: PageBitmap): number {
    // The first sync hands over what setup marked (all of RAM); later ones the guest's writes.
    const pages = this.syncs++ === 0 ? this.zero.map((_, p) => p) : this.stopped ? [] : (this.writes[(this.syncs - 2) % this.writes.length] ?? []);
    let fresh = 0;
    for (const p of pages) {
      if (!into.test(p)) fresh++;
      into.set(p);
      this.dirty[p] = true;
    }
    return fresh;
  }
  isZero(page: number): boolean {
    return this.zero[page];
  }
  async readPages(runs: PageRuns): Promise<undefined> {
    const pages: number[] = [];
    for (let r = 0; r < runs.count; r++) for (let i = 0; i < runs.lengths[r]; i++) pages.push(runs.starts[r] + i);
    pages.forEach((p, i) => {
      // Once a search found RAM clean, the next starts over at page 0 (last_page is left at the
      // end of RAM): after a section that left nothing dirty either start is QEMU's.
      const expected = i === 0 && this.clean ? [this.nextDirty(this.next), this.nextDirty(0)] : [this.nextDirty(this.next)];
      if (!expected.includes(p)) this.violations.push(`sent page ${p}, the walk's next dirty page is ${expected.join(" or ")}`);
      this.dirty[p] = false;
      this.next = p + 1;
    });
    this.clean = !this.dirty.includes(true);
    this.sections.push({ pages, stopped: this.stopped, left: !this.clean });
    return undefined;
  }
  private nextDirty(from: number): number {
    for (let p = from; p < this.dirty.length; p++) if (this.dirty[p]) return p;
    return this.dirty.indexOf(true);
  }
  stopVcpus(): void {
    this.stopped = true;
  }
  resumeVcpus(): void {}
  setThrottle(): void {}
  stalePages(): number[] {
    return [];
  }
}

/** The same RAM answering runs of one kind itself, page by page (the port's optional fast path). */
class WalkedRamWithRuns extends WalkedRam {
  runOfKind(from: number, max: number, zero: boolean): number {
    let n = 0;
    while (n < max && from + n < this.pageCount && this.zero[from + n] === zero) n++;
    return n;
  }
}

async function walk(ram: WalkedRam, budget: number) {
  const clock = new VirtualClock();
  const sends: number[] = [];
  const link = new SimLink(clock, { bandwidth: 1e9, latencyMs: 0 });
  const params: MigrationParams = { ...qemuDefaults, maxBandwidth: budget * 10, giveUp: { passes: 6 } };
  const channel = { send: (b: number) => (sends.push(b), link.send(b)), drain: () => link.drain() };
  const timeline = await clock.run(() => migrate({ clock, ram, channel, devices: [], params }));
  return { sends, result: buildResult(timeline, { ramBytes: ram.pageCount * pageSize, pageSize, params }) };
}

/** Runs of zero and non-zero pages, alternating, of the given lengths. */
const layout = (runs: number[], zeroFirst: boolean) => runs.flatMap((n, i) => new Array<boolean>(n).fill((i % 2 === 0) === zeroFirst));

/**
 * Migrates `zero`'s RAM with `written` dirtied at the syncs and checks the walk and its sections
 * by QEMU's rules (the file's head); returns the sections read.
 */
async function walkChecked(zero: boolean[], written: number[][], budget: number, fast: boolean) {
  const ram = fast ? new WalkedRamWithRuns(zero, written) : new WalkedRam(zero, written);
  const { sends, result } = await walk(ram, budget);
  expect(ram.violations).toEqual([]);
  expect(ram.sections.length).toBe(sends.length);
  let normal = 0;
  let duplicate = 0;
  ram.sections.forEach(({ pages, stopped, left }, i) => {
    expect(pages.length).toBeGreaterThan(0);
    const bytes = pages.reduce((s, p) => s + cost(zero[p]), 0);
    expect(sends[i]).toBe(bytes + 8);
    const withoutLast = bytes - cost(zero[pages[pages.length - 1]]);
    // Before the stop a slice's budget is what is left of the window's (at most
    // max-bandwidth / 10, all of it in the first window); after it, 1 MiB.
    const most = stopped ? 1 << 20 : budget;
    expect(withoutLast).toBeLessThan(most);
    if (stopped || i === 0) expect(bytes >= most || !left).toBe(true);
    normal += pages.filter((p) => !zero[p]).length;
    duplicate += pages.filter((p) => zero[p]).length;
  });
  expect(result.ram.normal).toBe(normal);
  expect(result.ram.duplicate).toBe(duplicate);
  expect(result.ram.transferred).toBe(sends.reduce((a, b) => a + b, 0));
  // What was dirty at the stop is all sent before the resume.
  if (result.status === "completed") expect(ram.dirty.includes(true)).toBe(false);
  return ram.sections;
}

describe("the page walk and its sections", () => {
  it("follows the dirty pages from where it stopped, wrapping; each section costs its pages exactly and stops at the page that reaches its budget", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        // At each sync, the guest's writes: a few ranges of pages, or many short ones scattered
        // (words of the dirty bitmap holding a few short runs: what the sender takes a word at a time).
        fc.array(
          fc.oneof(
            fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 200 })), { maxLength: 4 }),
            fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 3 })), { maxLength: 120 }),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        fc.integer({ min: 1000, max: 400_000 }),
        fc.boolean(),
        async (runs, zeroFirst, writes, budget, fast) => {
          const zero = layout(runs, zeroFirst);
          const n = zero.length;
          const written = writes.map((ranges) => ranges.flatMap(([from, length]) => Array.from({ length }, (_, i) => (from + i) % n)));
          await walkChecked(zero, written, budget, fast);
        },
      ),
      { numRuns: propertyRuns(60) },
    );
  });

  it("a bitmap word whose dirty pages are of both kinds is not taken as one kind: each page costs its own kind", async () => {
    // Worked by hand. Pages 1-2, 33-34 and 67 are zero, every other page of the three words is not.
    // After the first pass the guest writes pages 1, 3, 33, 35, 65 and 67 at every sync: words 0 and 1
    // each hold a zero page and, past a clean zero page, a normal one; word 2 a normal page and, past a
    // clean normal one, a zero one. No word is dirty to its end, so the sender may take a word's dirty
    // pages at once only if they are all of its first page's kind: they are not, and the slice is
    // 3 x 9 + 3 x 4104 B of pages and the 8-byte EOS (taken by the first page's kind: 2 x 9 + 2 x 9 +
    // 2 x 4104 B, one normal page fewer).
    const zero = new Array<boolean>(96).fill(false);
    for (const p of [1, 2, 33, 34, 67]) zero[p] = true;
    for (const fast of [true, false]) {
      const sections = await walkChecked(zero, [[1, 3, 33, 35, 65, 67]], 400_000, fast);
      expect(sections.some((s) => s.pages.join() === "1,3,33,35,65,67")).toBe(true);
    }
  });
});

/** A virtual clock on which examining pages takes time, as it does on a wall clock. */
class ExaminingClock extends VirtualClock {
  spent = 0;
  override now(): number {
    return super.now() + this.spent;
  }
}

/** RAM whose zero checks cost `usPerPage` of the clock's time for each page they look at. */
class ExaminedRam extends WalkedRamWithRuns {
  constructor(
    zero: boolean[],
    private readonly clock: ExaminingClock,
    private readonly usPerPage: number,
  ) {
    super(zero, []);
  }
  override isZero(page: number): boolean {
    this.clock.spent += this.usPerPage / 1000;
    return super.isZero(page);
  }
  override runOfKind(from: number, max: number, zero: boolean): number {
    const n = super.runOfKind(from, max, zero);
    this.clock.spent += (Math.min(max, n + 1) * this.usPerPage) / 1000;
    return n;
  }
}

describe("a slice's build time (the live engine's event loop)", () => {
  it("a slice ends once building it took sliceBuildMs of the clock; the walk and the pages sent are the same", async () => {
    // 150k zero pages, a run of data, 49k zero: without the bound the first slice holds 116k pages.
    const zero = layout([150_000, 1000, 49_000], true);
    const usPerPage = 1;
    const clock = new ExaminingClock();
    const ram = new ExaminedRam(zero, clock, usPerPage);
    const link = new SimLink(clock, { bandwidth: 1e9, latencyMs: 0 });
    const params: MigrationParams = { ...qemuDefaults, giveUp: { passes: 6 } };
    const channel = { send: (b: number) => link.send(b), drain: () => link.drain() };
    const timeline = await clock.run(() => migrate({ clock, ram, channel, devices: [], params }));
    const result = buildResult(timeline, { ramBytes: ram.pageCount * pageSize, pageSize, params });
    expect(result.status).toBe("completed");
    expect(ram.violations).toEqual([]);
    // Each slice looked at no more pages than fit in its build time, and one more zero check.
    const most = Math.ceil(sliceBuildMs / (usPerPage / 1000)) + runChunkMaxPages;
    const sizes = ram.sections.map((s) => s.pages.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(most);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(zero.length);
    expect(result.ram.duplicate).toBe(199_000);
    expect(result.ram.normal).toBe(1000);
  });
});
