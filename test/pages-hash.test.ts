// The live engine's stale-page check hashes each page on both sides at switch-over: a
// difference anywhere in a page, its last byte included, must change the hash.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pageSize, wordsPerPage } from "../src/live/guest/layout.js";
import { hashPage, hashPageOrZero, isZeroPage, zeroPageHash } from "../src/live/guest/pages.js";

/** The hash as its definition states it (page-hash.ts), in JavaScript: the WebAssembly must agree. */
function definedHash(words: Int32Array, page: number): number {
  let a = 0x811c9dc5 | 0;
  let b = 0x01234567 | 0;
  for (let i = page * wordsPerPage; i < (page + 1) * wordsPerPage; i += 2) {
    a = Math.imul(a ^ words[i], 0x01000193);
    b = Math.imul(b ^ words[i + 1], 0x5bd1e995);
  }
  return (a ^ Math.imul(b ^ (b >>> 15), 0x27d4eb2d)) >>> 0;
}

describe("page hashes (src/live/guest/pages.ts)", () => {
  it("change when any one byte of the page changes, the first and the last included", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: pageSize * 2, maxLength: pageSize * 2 }), fc.nat(pageSize - 1), fc.integer({ min: 1, max: 255 }), (bytes, offset, flip) => {
        const before = [hashPage(bytes, 0), hashPage(bytes, 1)];
        for (const at of [offset, 0, pageSize - 1]) {
          bytes[pageSize + at] ^= flip; // page 1
          expect(hashPage(bytes, 1)).not.toBe(before[1]);
          expect(hashPage(bytes, 0)).toBe(before[0]);
          bytes[pageSize + at] ^= flip;
          expect(hashPage(bytes, 1)).toBe(before[1]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("are the defined two-lane hash of the page's words, whatever the page holds and wherever it lies", () => {
    const words = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(0, -1, 1, 2 ** 31 - 1, -(2 ** 31)));
    fc.assert(
      fc.property(fc.array(words, { minLength: wordsPerPage * 3, maxLength: wordsPerPage * 3 }), fc.nat(2), (list, page) => {
        const w = Int32Array.from(list);
        expect(hashPage(new Uint8Array(w.buffer), page)).toBe(definedHash(w, page));
      }),
      { numRuns: 100 },
    );
    expect(zeroPageHash).toBe(definedHash(new Int32Array(wordsPerPage), 0));
  });

  it("a page whose only non-zero byte is its last is neither zero nor hashed as zero", () => {
    const ram = new SharedArrayBuffer(pageSize * 2);
    const buffer = Buffer.from(ram);
    expect(isZeroPage(buffer, 1)).toBe(true);
    expect(hashPageOrZero(buffer, 1)).toBe(zeroPageHash);
    buffer[2 * pageSize - 1] = 1;
    expect(isZeroPage(buffer, 1)).toBe(false);
    expect(isZeroPage(buffer, 0)).toBe(true);
    expect(hashPageOrZero(buffer, 1)).not.toBe(zeroPageHash);
    expect(wordsPerPage * 4).toBe(pageSize);
  });
});
