// Seeded randomness for the models: same seed, same run.

import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

export class Random {
  private readonly gen;

  constructor(seed: number) {
    this.gen = xoroshiro128plus(seed);
  }

  /** Uniform integer in [0, 2^32): the draw behind `float`. */
  bits(): number {
    return this.gen.next() >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.bits() / 4294967296;
  }

  /** Uniform integer in [0, n), n <= 2^32. */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }
}
