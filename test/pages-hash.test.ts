// The live engine's stale-page check hashes each page on both sides at switch-over: a
// difference anywhere in a page, its last byte included, must change the hash.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pageSize, wordsPerPage } from "../src/live/guest/layout.js";
import { PageHashing } from "../src/live/guest/page-hashes.js";
import { groupDigest, hashGroupPages, hashPage, hashPageOrZero, isZeroPage, zeroPageHash } from "../src/live/guest/pages.js";

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

describe("group digests kept current page by page (src/live/guest/page-hashes.ts)", () => {
  it("equal the digest computed afresh from the group's hashes, after any marks and writes", () => {
    const pages = 3 * hashGroupPages + 7;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(pages - 1), fc.nat(wordsPerPage - 1), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })), { maxLength: 60 }), fc.boolean(), (writes, zeroFirst) => {
        const ram = new SharedArrayBuffer(pages * pageSize);
        const words = new Int32Array(ram);
        const pending = new Int32Array(new SharedArrayBuffer(Math.ceil(pages / 32) * 4));
        const hashes = new Int32Array(new SharedArrayBuffer(pages * 4)).fill(zeroPageHash | 0);
        const digests = new Int32Array(new SharedArrayBuffer(Math.ceil(pages / hashGroupPages) * 4));
        for (let g = 0; g < digests.length; g++) digests[g] = groupDigest(hashes, g);
        const hashing = new PageHashing({ ram, pending: pending.buffer as SharedArrayBuffer, hashes: hashes.buffer as SharedArrayBuffer, digests: digests.buffer as SharedArrayBuffer }, zeroFirst);
        // Rounds of writes, each followed by marking the written pages and hashing them.
        for (let at = 0; at < writes.length; at += 7) {
          const marked: number[] = [];
          for (const [page, word, value] of writes.slice(at, at + 7)) {
            words[page * wordsPerPage + word] = value;
            Atomics.or(pending, page >>> 5, 1 << (page & 31));
            marked.push(page >>> 5);
          }
          hashing.hashPending(at % 2 === 0 ? marked : undefined);
        }
        for (let p = 0; p < pages; p++) expect(hashes[p] >>> 0).toBe(hashPage(new Uint8Array(ram), p));
        for (let g = 0; g < digests.length; g++) expect(digests[g]).toBe(groupDigest(hashes, g));
      }),
      { numRuns: 60 },
    );
  });
});
