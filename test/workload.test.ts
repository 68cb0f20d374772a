// The write models (src/sim/workload.ts) against their definitions: where single writes land
// (uniform over the working set; hotShare of them in the hot hotFraction; Zipf's continuous
// CDF F(x) = (x^(1-s) - 1) / ((n+1)^(1-s) - 1) over ranks, ln x / ln(n+1) at s = 1; scan in
// order), and how many pages `count` writes touch when drawn per page: sum over pages of
// 1 - (1 - p)^count. Statistical bounds are 5 standard deviations of the count.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PageBitmap } from "../src/core/bitmap.js";
import { Random } from "../src/sim/random.js";
import { modulo, writeModel, type WorkloadSpec } from "../src/sim/workload.js";

const n = 1000;
const base = 300;

function writes(spec: WorkloadSpec, count: number, seed = 1): number[] {
  const out: number[] = [];
  writeModel(spec, base, new Random(seed)).write(count, (p) => void out.push(p));
  return out;
}

function touched(spec: WorkloadSpec, count: number, seed = 1): PageBitmap {
  const b = new PageBitmap(base + n + 100);
  writeModel(spec, base, new Random(seed)).writeMany(count, (p) => void b.set(p), (from, to) => b.setRange(from, to));
  return b;
}

/** Expected pages touched and its standard deviation, for independent pages hit with chance 1 - (1 - p)^count. */
function expectedTouched(ps: number[], count: number) {
  const hits = ps.map((p) => 1 - Math.pow(1 - p, count));
  return { mean: hits.reduce((a, h) => a + h, 0), sd: Math.sqrt(hits.reduce((a, h) => a + h * (1 - h), 0)) };
}

const zipfCdf = (s: number) => (x: number) => (Math.abs(s - 1) < 1e-9 ? Math.log(x) / Math.log(n + 1) : (Math.pow(x, 1 - s) - 1) / (Math.pow(n + 1, 1 - s) - 1));

describe("write models", () => {
  it("idle writes nothing and can reach nothing", () => {
    const m = writeModel({ kind: "idle" }, base, new Random(1));
    expect([m.rate, m.support]).toEqual([0, 0]);
    expect(writes({ kind: "idle" }, 100)).toEqual([]);
    expect(touched({ kind: "idle" }, 1e9).count).toBe(0);
  });

  it("uniform: every write in the working set, each page about count / n times", () => {
    const spec: WorkloadSpec = { kind: "uniform", workingSetPages: n, rate: 7 };
    const m = writeModel(spec, base, new Random(1));
    expect([m.rate, m.support]).toEqual([7, n]);
    const w = writes(spec, 100_000);
    expect(Math.min(...w)).toBe(base);
    expect(Math.max(...w)).toBe(base + n - 1);
    // The first half of the working set gets half of the writes: sd sqrt(100000 / 4) = 158.
    const low = w.filter((p) => p < base + n / 2).length;
    expect(Math.abs(low - 50_000)).toBeLessThan(5 * 158);
  });

  it("hot/cold: hotShare of the writes in the first hotFraction of the working set", () => {
    const spec: WorkloadSpec = { kind: "hotcold", workingSetPages: n, rate: 1, hotFraction: 0.1, hotShare: 0.8 };
    expect(writeModel(spec, base, new Random(1)).support).toBe(n);
    const w = writes(spec, 50_000);
    expect(w.every((p) => p >= base && p < base + n)).toBe(true);
    const hot = w.filter((p) => p < base + 100).length;
    // Binomial: sd sqrt(50000 x 0.8 x 0.2) = 89.
    expect(Math.abs(hot - 40_000)).toBeLessThan(5 * 89);
    // Cold writes spread over the other 900 pages: both halves of them get some.
    expect(w.filter((p) => p >= base + 100 && p < base + 550).length).toBeGreaterThan(4000);
    expect(w.filter((p) => p >= base + 550).length).toBeGreaterThan(4000);
  });

  it.each([1, 1.5])("zipf (s = %d): the most written page gets F(2) of the writes, the first ten ranks F(11)", (s) => {
    const spec: WorkloadSpec = { kind: "zipf", workingSetPages: n, rate: 1, exponent: s };
    const w = writes(spec, 50_000);
    expect(w.every((p) => p >= base && p < base + n)).toBe(true);
    const byPage = new Map<number, number>();
    for (const p of w) byPage.set(p, (byPage.get(p) ?? 0) + 1);
    const counts = [...byPage.values()].sort((a, b) => b - a);
    const F = zipfCdf(s);
    const binomial = (p: number) => ({ mean: 50_000 * p, sd: Math.sqrt(50_000 * p * (1 - p)) });
    const top = binomial(F(2));
    expect(Math.abs(counts[0] - top.mean)).toBeLessThan(5 * top.sd);
    const ten = binomial(F(11));
    expect(Math.abs(counts.slice(0, 10).reduce((a, c) => a + c, 0) - ten.mean)).toBeLessThan(5 * ten.sd);
    // Hot pages are scattered, not adjacent: the ten most written are not a run.
    const hottest = [...byPage.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([p]) => p).sort((a, b) => a - b);
    expect(hottest[9] - hottest[0]).toBeGreaterThan(10);
  });

  it("scan: pages in order from the working set's start, wrapping at its end", () => {
    const spec: WorkloadSpec = { kind: "scan", workingSetPages: 5, rate: 1 };
    const out: number[] = [];
    const m = writeModel(spec, 10, new Random(1));
    m.write(7, (p) => void out.push(p));
    m.write(4, (p) => void out.push(p));
    expect(out).toEqual([10, 11, 12, 13, 14, 10, 11, 12, 13, 14, 10]);
  });

  it("a hit certain to within 1e-12 marks the whole range and draws no random number: the writes after it are those of a fresh model", () => {
    // 1e9 writes over 1000 pages: a page is missed with chance (1 - 1/1000)^1e9, about e^-1e6, so all are marked at once.
    for (const spec of [{ kind: "uniform", workingSetPages: n, rate: 1 }, { kind: "hotcold", workingSetPages: n, rate: 1, hotFraction: 0.1, hotShare: 0.8 }] as WorkloadSpec[]) {
      const after = writeModel(spec, base, new Random(9));
      const ranges: [number, number][] = [];
      after.writeMany(1e9, () => undefined, (from, to) => void ranges.push([from, to]));
      const fresh = writeModel(spec, base, new Random(9));
      const pages = (m: ReturnType<typeof writeModel>) => {
        const out: number[] = [];
        m.writeMany(50, (p) => void out.push(p), () => undefined);
        return out;
      };
      expect(ranges.reduce((sum, [from, to]) => sum + to - from, 0)).toBe(n);
      const freshPages = pages(fresh);
      expect(freshPages.length).toBeGreaterThan(0);
      expect(pages(after)).toEqual(freshPages);
    }
  });

  it("zipf drawn per page: every rank certain to be hit is marked, the last of them too, and none costs a draw", () => {
    // 1e12 writes: even rank n's chance per write, ln((n + 1) / n) / ln(n + 1) = 1.45e-4, makes it certain, so all n are.
    const spec: WorkloadSpec = { kind: "zipf", workingSetPages: n, rate: 1, exponent: 1 };
    const after = writeModel(spec, base, new Random(4));
    const marked = new Set<number>();
    after.writeMany(1e12, (p) => void marked.add(p), () => undefined);
    expect(marked.size).toBe(n);
    const pages = (m: ReturnType<typeof writeModel>) => {
      const out: number[] = [];
      m.writeMany(50, (p) => void out.push(p), () => undefined);
      return out;
    };
    expect(pages(after)).toEqual(pages(writeModel(spec, base, new Random(4))));
  });

  it("scan drawn per page: fewer writes than pages are the single writes; as many or more touch the whole working set and move the next page on by their count", () => {
    const calls: string[] = [];
    const m = writeModel({ kind: "scan", workingSetPages: 5, rate: 1 }, 10, new Random(1));
    const mark = (p: number) => void calls.push(`${p}`);
    const range = (from: number, to: number) => void calls.push(`${from}-${to}`);
    m.writeMany(3, mark, range); // 10, 11, 12; next 13
    m.writeMany(12, mark, range); // all five; next (3 + 12) mod 5 = 0
    m.writeMany(5, mark, range); // all five again; next still 0
    m.writeMany(4, mark, range); // 10..13; next 14
    m.write(2, mark); // 14, then 10
    expect(calls).toEqual(["10", "11", "12", "10-15", "10-15", "10", "11", "12", "13", "14", "10"]);
  });

  it.each<[string, WorkloadSpec, number[]]>([
    ["uniform", { kind: "uniform", workingSetPages: n, rate: 1 }, new Array(n).fill(1 / n)],
    ["hotcold", { kind: "hotcold", workingSetPages: n, rate: 1, hotFraction: 0.1, hotShare: 0.8 }, [...new Array(100).fill(0.8 / 100), ...new Array(900).fill(0.2 / 900)]],
    ["zipf", { kind: "zipf", workingSetPages: n, rate: 1, exponent: 1.2 }, Array.from({ length: n }, (_, r) => zipfCdf(1.2)(r + 2) - zipfCdf(1.2)(r + 1))],
  ])("%s drawn per page: as many pages as 1 - (1 - p)^count says, only in the working set", (_, spec, ps) => {
    for (const count of [30, 300, 3000, 30_000]) {
      const { mean, sd } = expectedTouched(ps, count);
      const b = touched(spec, count, count);
      expect(Math.abs(b.count - mean)).toBeLessThan(5 * sd + 1);
      expect(b.nextSet(0)).toBeGreaterThanOrEqual(base);
      expect(b.nextSet(base + n)).toBe(-1);
    }
  });

  it("zipf drawn per page: the ranks certain to be hit are all marked (the hottest page first of all)", () => {
    const F = zipfCdf(1);
    // With 1e6 writes the top rank (F(2) = 10 %) is certain; find its page from single writes.
    const w = writes({ kind: "zipf", workingSetPages: n, rate: 1, exponent: 1 }, 20_000);
    const byPage = new Map<number, number>();
    for (const p of w) byPage.set(p, (byPage.get(p) ?? 0) + 1);
    const hottest = [...byPage.entries()].sort((a, b) => b[1] - a[1])[0][0];
    expect(F(2)).toBeGreaterThan(0.09);
    for (let seed = 1; seed <= 5; seed++) expect(touched({ kind: "zipf", workingSetPages: n, rate: 1, exponent: 1 }, 1e6, seed).test(hottest)).toBe(true);
  });

  it.each([1, 2])("zipf (s = %d) over 4 pages: drawn per page, each page is touched as often as single writes say it should be", (s) => {
    const spec: WorkloadSpec = { kind: "zipf", workingSetPages: 4, rate: 1, exponent: s };
    // Single writes: each page's share f.
    const single = new Array<number>(4).fill(0);
    writeModel(spec, 0, new Random(1)).write(40_000, (p) => void single[p]++);
    const f = single.map((c) => c / 40_000);
    // Three writes drawn per page, 2000 times: page p touched with chance 1 - (1 - f)^3.
    const runs = 2000;
    const hits = new Array<number>(4).fill(0);
    const random = new Random(2); // one generator for all the runs (the first draws of nearby seeds are alike)
    for (let i = 0; i < runs; i++) {
      writeModel(spec, 0, random).writeMany(3, (p) => void hits[p]++, (from, to) => { for (let p = from; p < to; p++) hits[p]++; });
    }
    f.forEach((share, page) => {
      const chance = 1 - Math.pow(1 - share, 3);
      // sd of the frequency over the runs, plus the uncertainty of f itself (sd <= 0.0025).
      const sd = Math.sqrt((chance * (1 - chance)) / runs) + 3 * 0.0025;
      expect(Math.abs(hits[page] / runs - chance), `page ${page}`).toBeLessThan(5 * sd);
    });
  });

  it("a write is one page: count writes mark count times, whatever the model", () => {
    const specs: WorkloadSpec[] = [
      { kind: "uniform", workingSetPages: n, rate: 1 },
      { kind: "hotcold", workingSetPages: n, rate: 1, hotFraction: 0.1, hotShare: 0.8 },
      { kind: "zipf", workingSetPages: n, rate: 1, exponent: 1 },
      { kind: "scan", workingSetPages: n, rate: 1 },
    ];
    for (const spec of specs) expect(writes(spec, 1234).length).toBe(1234);
  });

  it("zipf over a working set whose size shares a factor with the rank stride still reaches every page", () => {
    // 40503 mod 6 = 3, which 6 shares: the stride must be moved to one coprime with 6.
    const b = new PageBitmap(base + 6);
    writeModel({ kind: "zipf", workingSetPages: 6, rate: 1, exponent: 0.5 }, base, new Random(3)).write(5000, (p) => void b.set(p));
    expect(b.count).toBe(6);
    // Every rank certain (1e12 writes), marked in rank order: rank r on page (r - 1) x stride mod 6, the stride
    // moved from 3 past 4 (which shares 2 with 6) to 5, so ranks 1..6 land on 0, 5, 4, 3, 2, 1.
    const order: number[] = [];
    writeModel({ kind: "zipf", workingSetPages: 6, rate: 1, exponent: 1 }, base, new Random(3)).writeMany(1e12, (p) => void order.push(p - base), () => undefined);
    expect(order).toEqual([0, 5, 4, 3, 2, 1]);
  });
});


describe("modulo (zipf's rank-to-page permutation without fmod)", () => {
  it("equals x % n for every integer 0 <= x < 2^52 and 1 <= n <= 2^32", () => {
    const x = fc.bigInt({ min: 0n, max: 2n ** 52n - 1n }).map(Number);
    const divisor = fc.integer({ min: 1, max: 2 ** 32 });
    fc.assert(fc.property(x, divisor, (x, n) => modulo(x, n) === x % n), { numRuns: 20000 });
    // Where a rounded quotient would be one too large or too small: next to multiples of n, up to 2^52.
    for (const n of [2, 3, 524287, 2 ** 31 - 1, 2 ** 32 - 5, 2 ** 32]) {
      for (const q of [1, 12345, Math.floor((2 ** 52 - 1) / n)]) {
        for (const d of [-1, 0, 1]) {
          const x = q * n + d;
          if (x >= 0 && x < 2 ** 52) expect(modulo(x, n)).toBe(x % n);
        }
      }
    }
  });
});
