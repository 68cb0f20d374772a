// Page-level operations on guest RAM: the zero check (QEMU's buffer_is_zero), the hash both
// sides compare at switch-over, and the touch that faults a page in (pinning).

import { pageSize, wordsPerPage } from "./layout.js";
import { hashPage } from "./page-hash.js";

export { hashPage };

const zeroPage = Buffer.alloc(pageSize);

/** A Buffer over guest RAM (no copy), for the memcmp-based zero check. */
export function ramBuffer(ram: SharedArrayBuffer): Buffer {
  return Buffer.from(ram);
}

/** Whether a page is all zeroes: a memcmp, several times faster than a loop in JS. */
export function isZeroPage(ram: Buffer, page: number): boolean {
  return ram.compare(zeroPage, 0, pageSize, page * pageSize, (page + 1) * pageSize) === 0;
}

/** hashPage, with the zero check first: most of a guest's RAM is often zero. */
export function hashPageOrZero(ram: Buffer, page: number): number {
  return isZeroPage(ram, page) ? zeroPageHash : hashPage(ram, page);
}

/** The hash of an all-zero page. */
export const zeroPageHash = hashPage(new Uint8Array(pageSize), 0);

/**
 * Pages per group of the switch-over comparison: the sides exchange a digest per group
 * (4 bytes per MiB of RAM) and the page hashes only of groups that differ, so what the
 * comparison costs in the downtime does not grow with the guest's RAM (docs/live.md).
 */
export const hashGroupPages = 256;

/**
 * Page `page`'s share of its group's digest: its hash mixed with its number (so that the same
 * hash on another page counts differently). For a given page a bijection of the hash, so a new
 * hash always changes the share.
 */
export function digestTerm(page: number, hash: number): number {
  let x = Math.imul(hash ^ Math.imul(page, 0x9e3779b1), 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) | 0;
}

/**
 * Digest of the page hashes of group `group` (pages [group * hashGroupPages, ...) within
 * `hashes`): the sum of its pages' shares, modulo 2^32, so a page hashed again updates it in
 * a step (page-hashes.ts) instead of the group's 256 hashes being read again. Read again, in
 * JavaScript not yet compiled, inside the downtime, the NIC's ~290 groups took 1.8-9 ms.
 */
export function groupDigest(hashes: Int32Array, group: number): number {
  let a = 0;
  const from = group * hashGroupPages;
  const to = Math.min(hashes.length, from + hashGroupPages);
  for (let p = from; p < to; p++) a = (a + digestTerm(p, hashes[p])) | 0;
  return a;
}

/**
 * Faults pages [from, to) in by writing to each (an atomic add of 0 changes nothing but is a
 * write, so the kernel allocates and zeroes the page), as pinning does for a DMA mapping.
 */
export function touchPages(words: Int32Array, from: number, to: number): void {
  for (let p = from; p < to; p++) Atomics.add(words, p * wordsPerPage, 0);
}

/** Pages compared against zero at once when looking for a run of zero pages. */
const zeroChunkPages = 64;
const zeroChunk = Buffer.alloc(zeroChunkPages * pageSize);

/**
 * How many pages from `from` on, at most `max`, are all zero (`zero`) or all non-zero (0 if
 * `from` is not). A written page usually shows data in its first word (one load); zero runs
 * are compared a chunk of pages per memcmp.
 */
export function runOfKind(ram: Buffer, words: Int32Array, from: number, max: number, zero: boolean): number {
  let n = 0;
  if (!zero) {
    while (n < max && (words[(from + n) * wordsPerPage] !== 0 || !isZeroPage(ram, from + n))) n++;
    return n;
  }
  while (n < max) {
    const chunk = Math.min(zeroChunkPages, max - n);
    const at = (from + n) * pageSize;
    if (words[(from + n) * wordsPerPage] === 0 && ram.compare(zeroChunk, 0, chunk * pageSize, at, at + chunk * pageSize) === 0) {
      n += chunk;
      continue;
    }
    while (n < max && isZeroPage(ram, from + n)) n++;
    return n;
  }
  return n;
}
