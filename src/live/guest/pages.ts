// Page-level operations on guest RAM: the zero check (QEMU's buffer_is_zero), the hash both
// sides compare at switch-over, and the touch that faults a page in (pinning).

import { pageSize, wordsPerPage } from "./layout.js";

const zeroPage = Buffer.alloc(pageSize);

/** A Buffer over guest RAM (no copy), for the memcmp-based zero check. */
export function ramBuffer(ram: SharedArrayBuffer): Buffer {
  return Buffer.from(ram);
}

/** Whether a page is all zeroes: a memcmp, several times faster than a loop in JS. */
export function isZeroPage(ram: Buffer, page: number): boolean {
  return ram.compare(zeroPage, 0, pageSize, page * pageSize, (page + 1) * pageSize) === 0;
}

/** 32-bit hash of a page (two multiplicative lanes, mixed): only equality matters. */
export function hashPage(words: Int32Array, page: number): number {
  let a = 0x811c9dc5 | 0;
  let b = 0x01234567 | 0;
  const from = page * wordsPerPage;
  const to = from + wordsPerPage;
  for (let i = from; i < to; i += 2) {
    a = Math.imul(a ^ words[i], 0x01000193);
    b = Math.imul(b ^ words[i + 1], 0x5bd1e995);
  }
  return (a ^ Math.imul(b ^ (b >>> 15), 0x27d4eb2d)) >>> 0;
}

/** hashPage, with the zero check first: most of a guest's RAM is often zero. */
export function hashPageOrZero(ram: Buffer, words: Int32Array, page: number): number {
  return isZeroPage(ram, page) ? zeroPageHash : hashPage(words, page);
}

/** The hash of an all-zero page. */
export const zeroPageHash = hashPage(new Int32Array(wordsPerPage), 0);

/**
 * Faults pages [from, to) in by writing to each (an atomic add of 0 changes nothing but is a
 * write, so the kernel allocates and zeroes the page), as pinning does for a DMA mapping.
 */
export function touchPages(words: Int32Array, from: number, to: number): void {
  for (let p = from; p < to; p++) Atomics.add(words, p * wordsPerPage, 0);
}
