// The RAM section of the migration stream. QEMU's migration/ram.c puts a be64 header before
// every page; here a section is a list of run records, so that a run of pages leaves guest RAM
// as one slice of it (no per-page copy, no per-page object) and lands in the destination's RAM
// with one copy per run:
//
//   record: kind (u8: 1 zero, 2 data, 0 end) | 3 reserved zero bytes | first page (u32 BE) | pages (u32 BE)
//   a data record is followed by its pages' contents; a zero record by nothing; an end record
//   (first page 0, pages 0) closes the section. A section is one Memory frame (a controller slice).
//
// The stream's bytes are therefore fewer than QEMU's (12 bytes per run instead of 8 per page,
// no byte per zero page); the link is charged with the bytes the controller counts at QEMU's
// sizes (src/core/wire.ts), so the emulated link's timing is QEMU's stream, not this encoding.

import type { PageRuns } from "../core/bitmap.js";
import { PageBitmap } from "../core/bitmap.js";
import { runOfKind } from "./guest/pages.js";

export const runHeaderBytes = 12;
const kindEnd = 0;
const kindZero = 1;
const kindData = 2;

/**
 * Payload bytes of one Memory frame at most: one controller slice (1 MiB of QEMU's wire
 * bytes, so at most 256 pages of data) fits in one frame, so a frame's two GMAC tags are
 * computed over a megabyte, not 32 KiB: per tag, node:crypto spends ~6 us creating the
 * cipher, as long as GMAC takes for 25 KiB here (docs/live.md). The destination does not
 * join a frame's socket reads (applySection takes them as they came).
 */
export const sectionBytes = 2 << 20;

/**
 * The pages of `runs`, in order, as sections of at most `sectionBytes` each (a frame each), a
 * section as its chunks: record headers and slices of `ram` itself. No copy: the bytes leave
 * when the socket takes them, as QEMU's pages leave guest RAM when its buffer is flushed; a
 * page written meanwhile is dirty and sent again. `checkedZero`: pages the sender found zero
 * since they were last synced (the controller's walk), taken as zero without a second look, as
 * QEMU checks a page once (save_zero_page): a write after that check is in the dirty log.
 */
export function encodeSections(ram: Buffer, words: Int32Array, pageSize: number, runs: PageRuns, checkedZero?: PageBitmap): Uint8Array[][] {
  const sections: Uint8Array[][] = [];
  let section: Uint8Array[] = [];
  let size = 0;
  const maxPages = Math.floor((sectionBytes - 2 * runHeaderBytes) / pageSize);
  const close = () => {
    section.push(record(kindEnd, 0, 0));
    sections.push(section);
    section = [];
    size = 0;
  };
  for (let r = 0; r < runs.count; r++) {
    for (let page = runs.starts[r], end = page + runs.lengths[r]; page < end; ) {
      let zero = checkedZero ? checkedZero.runLength(page, end - page, true) : 0;
      if (page + zero < end) zero += runOfKind(ram, words, page + zero, end - page - zero, true);
      if (zero > 0) {
        if (size + 2 * runHeaderBytes > sectionBytes) close();
        section.push(record(kindZero, page, zero));
        size += runHeaderBytes;
        page += zero;
        continue;
      }
      if (size + 2 * runHeaderBytes + pageSize > sectionBytes) close();
      const room = Math.min(maxPages, Math.floor((sectionBytes - size - 2 * runHeaderBytes) / pageSize));
      const data = runOfKind(ram, words, page, Math.min(room, end - page), false);
      section.push(record(kindData, page, data), ram.subarray(page * pageSize, (page + data) * pageSize));
      size += runHeaderBytes + data * pageSize;
      page += data;
    }
  }
  if (section.length > 0 || sections.length === 0) close();
  return sections;
}

function record(kind: number, first: number, pages: number): Buffer {
  const h = Buffer.allocUnsafe(runHeaderBytes);
  h.writeUInt32BE(kind << 24, 0);
  h.writeUInt32BE(first, 4);
  h.writeUInt32BE(pages, 8);
  return h;
}

export class StreamError extends Error {}

/**
 * Applies a RAM section, given as the parts it arrived in (socket reads, not joined), to
 * `ram`: one copy per data run (per part it spans); a zero run clears only the pages
 * `nonZero` says may hold data (a fresh destination's RAM is zero). `onChange(first, pages)`
 * runs for the pages whose contents changed, once they are in place: each data run, and each
 * page a zero run cleared (the others were zero and stay so). Returns the pages its records name.
 */
export function applySection(
  section: Uint8Array | readonly Uint8Array[],
  ram: Uint8Array,
  pageSize: number,
  nonZero: PageBitmap,
  onChange: (first: number, pages: number) => void,
): number {
  const input = new PartReader(section instanceof Uint8Array ? [section] : section);
  const pageCount = nonZero.size;
  let named = 0;
  while (input.remaining >= runHeaderBytes) {
    const record = input.record();
    const head = record.getUint32(0);
    const kind = head >>> 24;
    const first = record.getUint32(4);
    const pages = record.getUint32(8);
    if ((head & 0xffffff) !== 0) throw new StreamError("RAM section: reserved bytes of a run record are not zero");
    if (kind === kindEnd) {
      if (input.remaining !== 0) throw new StreamError("RAM section: bytes after the end record");
      return named;
    }
    if (pages === 0 || first + pages > pageCount) throw new StreamError(`RAM section names pages ${first}..${first + pages - 1}, beyond the guest's ${pageCount} pages`);
    named += pages;
    if (kind === kindZero) {
      for (let p = nonZero.nextSet(first, first + pages); p >= 0; p = nonZero.nextSet(p + 1, first + pages)) {
        ram.fill(0, p * pageSize, (p + 1) * pageSize);
        onChange(p, 1);
      }
      nonZero.clearRange(first, first + pages);
    } else if (kind === kindData) {
      const bytes = pages * pageSize;
      if (bytes > input.remaining) break;
      input.copyTo(ram, first * pageSize, bytes);
      nonZero.setRange(first, first + pages);
      onChange(first, pages);
    } else {
      throw new StreamError(`RAM section: unknown run kind ${kind}`);
    }
  }
  throw new StreamError("RAM section truncated (no end record)");
}

/** Reads a section laid over several parts in order: run records (which may straddle two) and data copied out. */
class PartReader {
  private part = 0;
  private at = 0;
  remaining: number;
  private readonly scratch = new Uint8Array(runHeaderBytes);
  private readonly scratchView = new DataView(this.scratch.buffer);

  constructor(private readonly parts: readonly Uint8Array[]) {
    this.remaining = parts.reduce((n, p) => n + p.length, 0);
  }

  /** The next run record (its 12 bytes). */
  record(): DataView {
    const p = this.current();
    if (p.length - this.at >= runHeaderBytes) {
      const view = new DataView(p.buffer, p.byteOffset + this.at, runHeaderBytes);
      this.skip(runHeaderBytes);
      return view;
    }
    this.copyTo(this.scratch, 0, runHeaderBytes);
    return this.scratchView;
  }

  /** Copies the next `bytes` to `to` at `offset`: one copy per part they span. */
  copyTo(to: Uint8Array, offset: number, bytes: number): void {
    while (bytes > 0) {
      const p = this.current();
      const n = Math.min(bytes, p.length - this.at);
      to.set(p.subarray(this.at, this.at + n), offset);
      offset += n;
      bytes -= n;
      this.skip(n);
    }
  }

  private current(): Uint8Array {
    while (this.at === this.parts[this.part].length) {
      this.part++;
      this.at = 0;
    }
    return this.parts[this.part];
  }

  private skip(n: number): void {
    this.at += n;
    this.remaining -= n;
  }
}
