// Which pages the vCPUs write. Each model turns a number of page writes into page indices
// within its working set, which starts at page `base`.

import { Random } from "./random.js";

export type WorkloadSpec =
  | { kind: "idle" }
  | { kind: "uniform"; workingSetPages: number; rate: number }
  | { kind: "hotcold"; workingSetPages: number; rate: number; hotFraction: number; hotShare: number }
  | { kind: "zipf"; workingSetPages: number; rate: number; exponent: number }
  | { kind: "scan"; workingSetPages: number; rate: number };

export interface WriteModel {
  /** Page writes per second at full speed (no throttle). */
  readonly rate: number;
  /** Pages from `base` on that a write can land on. */
  readonly support: number;
  /** `count` writes, one at a time: the cost grows with `count`. */
  write(count: number, mark: (page: number) => void): void;
  /**
   * The pages `count` writes touch, drawn per page (hit with probability 1 - (1 - p)^count)
   * instead of per write: the cost grows with the working set, not with the write rate.
   * The same distribution as `write` up to that independence, but a different random sequence.
   */
  writeMany(count: number, mark: (page: number) => void, markRange: (from: number, to: number) => void): void;
}

/** The chance that `count` writes, each landing on a page with probability p, touch it. */
function hitChance(p: number, count: number): number {
  return p >= 1 ? 1 : -Math.expm1(count * Math.log1p(-p));
}

/** Each page of [from, to) written with probability hitChance(p, count); all of them when a miss is that unlikely. */
function touchEach(random: Random, from: number, to: number, p: number, count: number, mark: (page: number) => void, markRange: (from: number, to: number) => void): void {
  const hit = hitChance(p, count);
  if (hit >= 1 - 1e-12) return markRange(from, to);
  for (let page = from; page < to; page++) if (random.float() < hit) mark(page);
}

export function writeModel(spec: WorkloadSpec, base: number, random: Random): WriteModel {
  switch (spec.kind) {
    case "idle":
      return { rate: 0, support: 0, write() {}, writeMany() {} };
    case "uniform": {
      const n = spec.workingSetPages;
      return {
        rate: spec.rate,
        support: n,
        write(count, mark) {
          for (let i = 0; i < count; i++) mark(base + random.below(n));
        },
        writeMany(count, mark, markRange) {
          touchEach(random, base, base + n, 1 / n, count, mark, markRange);
        },
      };
    }
    case "hotcold": {
      const hot = Math.max(1, Math.round(spec.workingSetPages * spec.hotFraction));
      const cold = Math.max(1, spec.workingSetPages - hot);
      return {
        rate: spec.rate,
        support: hot + cold,
        write(count, mark) {
          for (let i = 0; i < count; i++) {
            if (random.float() < spec.hotShare) mark(base + random.below(hot));
            else mark(base + hot + random.below(cold));
          }
        },
        writeMany(count, mark, markRange) {
          touchEach(random, base, base + hot, spec.hotShare / hot, count, mark, markRange);
          touchEach(random, base + hot, base + hot + cold, (1 - spec.hotShare) / cold, count, mark, markRange);
        },
      };
    }
    case "zipf": {
      // Continuous inverse-CDF approximation of Zipf(s) over ranks 1..n, ranks scattered
      // over the working set by a multiplicative permutation (hot pages are not adjacent).
      const n = spec.workingSetPages;
      const s = spec.exponent;
      const stride = coprimeStride(n);
      const harmonic = Math.abs(s - 1) < 1e-9;
      // The constants of the inverse CDF, computed once: a write costs one exp or pow, not three.
      const logTop = Math.log(n + 1);
      const span = Math.pow(n + 1, 1 - s) - 1;
      const inverseExponent = 1 / (1 - s);
      const rank = harmonic ? (u: number) => Math.exp(u * logTop) : (u: number) => Math.pow(span * u + 1, inverseExponent);
      /** The inverse of rank: the u below which ranks fall under x. */
      const below = harmonic ? (x: number) => Math.log(x) / logTop : (x: number) => (Math.pow(x, 1 - s) - 1) / span;
      let ranks: Int32Array | undefined;
      /** The rank table's ranks as the pages they land on (from `base`): a draw it answers costs no modulo either. */
      let offsets: Int32Array | undefined;
      let drawn = 0;
      return {
        rate: spec.rate,
        support: n,
        write(count, mark) {
          // The table costs two formulas per entry: worth it once the writes are many more, or
          // at once where another model of this working set and exponent built it (a fleet's).
          drawn += count;
          // pow's rounding grows with its exponent: the margin with it.
          ranks ??= drawn < rankTableWorthDraws ? rankTables.get(rankTableKey(n, s)) : rankTable(n, s, rank, harmonic ? 1e-12 : 1e-12 * (1 + Math.abs(inverseExponent)));
          if (!ranks) {
            for (let i = 0; i < count; i++) mark(base + modulo(rankIndex(rank(random.float()), n) * stride, n));
            return;
          }
          offsets ??= ranks.map((r) => (r >= 0 ? modulo(r * stride, n) : -1));
          for (let i = 0; i < count; i++) {
            const k = random.bits();
            const known = offsets[k >>> rankTableShift];
            mark(base + (known >= 0 ? known : modulo(rankIndex(rank(k / 2 ** 32), n) * stride, n)));
          }
        },
        writeMany(count, mark) {
          // Rank r (from 1) is drawn when rank(u) falls in [r, r + 1); its chance falls with r,
          // so the ranks touched for certain are a prefix, found by bisection.
          const chance = (r: number) => hitChance(below(r + 1) - below(r), count);
          let certain = 0;
          for (let hi = n; certain < hi; ) {
            const mid = (certain + hi + 1) >> 1;
            if (chance(mid) >= 1 - 1e-12) certain = mid;
            else hi = mid - 1;
          }
          const page = (r: number) => base + modulo((r - 1) * stride, n);
          for (let r = 1; r <= certain; r++) mark(page(r));
          for (let r = certain + 1; r <= n; r++) if (random.float() < chance(r)) mark(page(r));
        },
      };
    }
    case "scan": {
      const n = spec.workingSetPages;
      let next = 0;
      const write = (count: number, mark: (page: number) => void) => {
        for (let i = 0; i < count; i++) {
          mark(base + next);
          next = next + 1 === n ? 0 : next + 1;
        }
      };
      return {
        rate: spec.rate,
        support: n,
        write,
        writeMany(count, mark, markRange) {
          // n writes in a row touch every page: exactly what `write` would do.
          if (count < n) return write(count, mark);
          markRange(base, base + n);
          next = (next + count) % n;
        },
      };
    }
  }
}

/** A draw's top 32 - rankTableShift bits pick its entry of a rank table. */
export const rankTableShift = 18;
/** Writes a zipf model draws with its formula alone before it builds its rank table (16 x the table's entries). */
const rankTableWorthDraws = 2 ** (36 - rankTableShift);
/** Rank tables by working set and exponent (`rankTableKey`): the fleet's VMs of one kind share one. */
const rankTables = new Map<string, Int32Array>();
const rankTableKey = (n: number, exponent: number) => `${n} ${exponent}`;

/** The rank (from 0) of the inverse CDF's value x: floor(x), within 1..n, less one. */
const rankIndex = (x: number, n: number) => Math.min(n, Math.max(1, Math.floor(x))) - 1;

/**
 * For each range of draws that share their top bits, the rank (from 0) every draw in it gives,
 * or -1 where they do not all give the same: a hot rank's draw then costs a look-up instead of
 * an exp or pow, with exactly the rank the formula gives. A range counts as one rank only when
 * the formula puts its two ends inside that rank by `margin` (relative), far more than its
 * rounding (a few ulps), so no draw between them can round into a neighbour.
 */
export function rankTable(n: number, exponent: number, rank: (u: number) => number, margin: number): Int32Array {
  const key = rankTableKey(n, exponent);
  const cached = rankTables.get(key);
  if (cached) return cached;
  const table = new Int32Array(2 ** (32 - rankTableShift)).fill(-1);
  const width = 2 ** rankTableShift;
  // A boundary the clamp to 1..n hides (below rank 2, above rank n) needs no margin.
  const inside = (x: number) => {
    const r = Math.floor(x);
    return (r <= 1 || x - r > margin * x) && (r + 1 > n || r + 1 - x > margin * x);
  };
  for (let b = 0; b < table.length; b++) {
    const low = rank((b * width) / 2 ** 32);
    const high = rank((b * width + width - 1) / 2 ** 32);
    const r = rankIndex(low, n);
    if (r === rankIndex(high, n) && inside(low) && inside(high)) table[b] = r;
  }
  rankTables.set(key, table);
  return table;
}

/**
 * x mod n for integers 0 <= x < 2^52 and n >= 1, exactly as `x % n`, without the C fmod call
 * `%` becomes once x leaves 32 bits (one per zipf write). Exact because below 2^52 the quotient's
 * rounding error (half an ulp, < 1/(2n)) is less than its distance to the next integer (>= 1/n),
 * so the floor is the true quotient; rank x stride stays below 2^52 for any guest.
 */
export function modulo(x: number, n: number): number {
  return x - Math.floor(x / n) * n;
}

function coprimeStride(n: number): number {
  let stride = 40503 % n || 1; // small enough that rank * stride stays exact in a double
  while (gcd(stride, n) !== 1) stride++;
  return stride;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
