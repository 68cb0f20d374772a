// The RAM section of the migration stream, laid out as QEMU's migration/ram.c writes it: per
// page a be64 header (byte offset | flags), then one fill byte for a zero page or the page's
// contents; an 8-byte end-of-section marker closes each slice. The controller counts bytes
// with the same sizes (src/core/wire.ts), so counted and sent bytes agree.

import type { PageRuns } from "../core/bitmap.js";
import { endOfSectionBytes, pageHeaderBytes } from "../core/wire.js";
import { isZeroPage } from "./guest/pages.js";

/** RAM_SAVE_FLAG_ZERO, RAM_SAVE_FLAG_PAGE, RAM_SAVE_FLAG_EOS */
const flagZero = 0x02;
const flagPage = 0x08;
const flagEos = 0x10;

function writeHeader(view: DataView, at: number, page: number, pageSize: number, flags: number): void {
  const offset = page * pageSize + flags;
  view.setUint32(at, Math.floor(offset / 2 ** 32));
  view.setUint32(at + 4, offset >>> 0);
}

/** Encodes the pages of `runs`, in order (copying them: from here on the copy is what is sent). */
export function encodePages(ram: Buffer, pageSize: number, runs: PageRuns): Uint8Array {
  let size = endOfSectionBytes;
  const zero = new Uint8Array(runs.pages);
  let i = 0;
  for (let r = 0; r < runs.count; r++) {
    for (let page = runs.starts[r], end = page + runs.lengths[r]; page < end; page++, i++) {
      zero[i] = isZeroPage(ram, page) ? 1 : 0;
      size += pageHeaderBytes + (zero[i] ? 1 : pageSize);
    }
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  i = 0;
  for (let r = 0; r < runs.count; r++) {
    for (let page = runs.starts[r], end = page + runs.lengths[r]; page < end; page++, i++) {
      writeHeader(view, at, page, pageSize, zero[i] ? flagZero : flagPage);
      at += pageHeaderBytes;
      if (zero[i]) {
        out[at++] = 0;
      } else {
        out.set(ram.subarray(page * pageSize, (page + 1) * pageSize), at);
        at += pageSize;
      }
    }
  }
  writeHeader(view, at, 0, pageSize, flagEos);
  return out;
}

export class StreamError extends Error {}

/**
 * Applies a RAM section to `ram`: `onPage(page, zero)` runs after each page is written. A
 * zero page is written only where the destination's copy is not already zero (`isZero`).
 */
export function applyPages(
  section: Uint8Array,
  ram: Uint8Array,
  pageSize: number,
  pageCount: number,
  isZero: (page: number) => boolean,
  onPage: (page: number, zero: boolean) => void,
): void {
  const view = new DataView(section.buffer, section.byteOffset, section.byteLength);
  let at = 0;
  while (at + pageHeaderBytes <= section.length) {
    const offset = view.getUint32(at) * 2 ** 32 + view.getUint32(at + 4);
    at += pageHeaderBytes;
    const flags = offset % pageSize;
    const page = (offset - flags) / pageSize;
    if (flags === flagEos) return;
    if (page >= pageCount) throw new StreamError(`RAM section names page ${page}, beyond the guest's ${pageCount} pages`);
    if (flags === flagZero) {
      if (at + 1 > section.length) break;
      at += 1;
      if (!isZero(page)) ram.fill(0, page * pageSize, (page + 1) * pageSize);
      onPage(page, true);
    } else if (flags === flagPage) {
      if (at + pageSize > section.length) break;
      ram.set(section.subarray(at, at + pageSize), page * pageSize);
      at += pageSize;
      onPage(page, false);
    } else {
      throw new StreamError(`RAM section: unknown page flags 0x${flags.toString(16)}`);
    }
  }
  throw new StreamError("RAM section truncated (no end-of-section marker)");
}
