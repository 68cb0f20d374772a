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
  write(count: number, mark: (page: number) => void): void;
}

export function writeModel(spec: WorkloadSpec, base: number, random: Random): WriteModel {
  switch (spec.kind) {
    case "idle":
      return { rate: 0, write() {} };
    case "uniform": {
      const n = spec.workingSetPages;
      return {
        rate: spec.rate,
        write(count, mark) {
          for (let i = 0; i < count; i++) mark(base + random.below(n));
        },
      };
    }
    case "hotcold": {
      const hot = Math.max(1, Math.round(spec.workingSetPages * spec.hotFraction));
      const cold = Math.max(1, spec.workingSetPages - hot);
      return {
        rate: spec.rate,
        write(count, mark) {
          for (let i = 0; i < count; i++) {
            if (random.float() < spec.hotShare) mark(base + random.below(hot));
            else mark(base + hot + random.below(cold));
          }
        },
      };
    }
    case "zipf": {
      // Continuous inverse-CDF approximation of Zipf(s) over ranks 1..n, ranks scattered
      // over the working set by a multiplicative permutation (hot pages are not adjacent).
      const n = spec.workingSetPages;
      const s = spec.exponent;
      const stride = coprimeStride(n);
      const rank =
        Math.abs(s - 1) < 1e-9
          ? (u: number) => Math.exp(u * Math.log(n + 1))
          : (u: number) => Math.pow((Math.pow(n + 1, 1 - s) - 1) * u + 1, 1 / (1 - s));
      return {
        rate: spec.rate,
        write(count, mark) {
          for (let i = 0; i < count; i++) {
            const r = Math.min(n, Math.max(1, Math.floor(rank(random.float())))) - 1;
            mark(base + ((r * stride) % n));
          }
        },
      };
    }
    case "scan": {
      const n = spec.workingSetPages;
      let next = 0;
      return {
        rate: spec.rate,
        write(count, mark) {
          for (let i = 0; i < count; i++) {
            mark(base + next);
            next = next + 1 === n ? 0 : next + 1;
          }
        },
      };
    }
  }
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
