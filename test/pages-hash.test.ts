// The live engine's stale-page check hashes each page on both sides at switch-over: a
// difference anywhere in a page, its last byte included, must change the hash.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pageSize, wordsPerPage } from "../src/live/guest/layout.js";
import { hashPage, hashPageOrZero, isZeroPage, zeroPageHash } from "../src/live/guest/pages.js";

describe("page hashes (src/live/guest/pages.ts)", () => {
  it("change when any one byte of the page changes, the first and the last included", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: pageSize * 2, maxLength: pageSize * 2 }), fc.nat(pageSize - 1), fc.integer({ min: 1, max: 255 }), (bytes, offset, flip) => {
        const words = new Int32Array(bytes.buffer);
        const before = [hashPage(words, 0), hashPage(words, 1)];
        for (const at of [offset, 0, pageSize - 1]) {
          bytes[pageSize + at] ^= flip; // page 1
          expect(hashPage(words, 1)).not.toBe(before[1]);
          expect(hashPage(words, 0)).toBe(before[0]);
          bytes[pageSize + at] ^= flip;
          expect(hashPage(words, 1)).toBe(before[1]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a page whose only non-zero byte is its last is neither zero nor hashed as zero", () => {
    const ram = new SharedArrayBuffer(pageSize * 2);
    const buffer = Buffer.from(ram);
    const words = new Int32Array(ram);
    expect(isZeroPage(buffer, 1)).toBe(true);
    expect(hashPageOrZero(buffer, words, 1)).toBe(zeroPageHash);
    buffer[2 * pageSize - 1] = 1;
    expect(isZeroPage(buffer, 1)).toBe(false);
    expect(isZeroPage(buffer, 0)).toBe(true);
    expect(hashPageOrZero(buffer, words, 1)).not.toBe(zeroPageHash);
    expect(wordsPerPage * 4).toBe(pageSize);
  });
});
