// QEMU's XBZRLE (migration/ram.c save_xbzrle_page and xbzrle_cache_zero_page,
// migration/page_cache.c, migration/xbzrle.c). The cache is not an LRU: it is direct-mapped,
// slot = page index & (slots - 1), and a slot's page is replaced only if it was not inserted
// or hit in this generation or the one before (CACHED_PAGE_LIFETIME 2); the generation is the
// pass number. A page is looked up only from the second round on (xbzrle_started). A miss
// sends the whole page and inserts it (not at completion); a hit encodes the difference from
// the cached copy: nothing changed -> the page is skipped; the encoding would exceed a page ->
// `overflow`, the whole page goes; else header + 1 + 2 + encoded bytes. docs/model.md.

import { pageHeaderBytes } from "./wire.js";

/** CACHED_PAGE_LIFETIME: a slot's page is kept while inserted or hit this generation or the last. */
const cachedPageLifetime = 2;
/** ENCODING_FLAG_XBZRLE (1 B) and the be16 encoded length after the page header. */
const xbzrleFrameBytes = 3;

/** uleb128_encode_small: one byte below 128, two below 16384. */
function ulebBytes(n: number): number {
  return n < 128 ? 1 : 2;
}

/**
 * xbzrle_encode_buffer's output for a page whose `changed` bytes form one run: the unchanged
 * run before it (uleb128), its length (uleb128) and its bytes; the trailing unchanged run is
 * not encoded. The run is taken to start past the first 127 bytes (a two-byte zero run) unless
 * it cannot. -1: longer than the page (overflow); 0: nothing changed (the page is skipped).
 */
export function xbzrleEncodedBytes(changed: number, pageSize: number): number {
  if (changed <= 0) return 0;
  const run = Math.min(changed, pageSize);
  const encoded = ulebBytes(pageSize - run) + ulebBytes(run) + run;
  return encoded > pageSize ? -1 : encoded;
}

/** The xbzrle-cache member of query-migrate, QEMU's names. Rates over the whole migration. */
export interface XbzrleCacheStats {
  "cache-size": number;
  bytes: number;
  pages: number;
  "cache-miss": number;
  "cache-miss-rate": number;
  "encoding-rate": number;
  overflow: number;
}

export interface XbzrleOptions {
  cacheSize: number;
  pageSize: number;
  /** Bytes of a page changed since it was last sent (the workload's bytes per write). */
  changedBytes: number;
}

export class XbzrleCache {
  /** The page each slot holds (-1: empty), and the generation it was last inserted or hit. */
  private readonly slotPage: Int32Array;
  private readonly slotAge: Uint32Array;
  private readonly mask: number;
  private readonly encoded: number;
  private bytes = 0;
  private pages = 0;
  private misses = 0;
  private overflows = 0;
  /** Pages sent while the cache was in use (cache-miss-rate's denominator). */
  private looked = 0;
  /** Memory the work moved: cache inserts and encodings (bytes), for its CPU cost. */
  private moved = 0;
  /** Whether the last `sendNormal` sent the whole page (a miss or an overflow: a `normal` page). */
  lastWhole = false;

  constructor(private readonly o: XbzrleOptions) {
    const slots = Math.max(1, Math.floor(o.cacheSize / o.pageSize));
    this.slotPage = new Int32Array(slots).fill(-1);
    this.slotAge = new Uint32Array(slots);
    this.mask = slots - 1;
    this.encoded = xbzrleEncodedBytes(o.changedBytes, o.pageSize);
  }

  /**
   * A normal page at generation `gen`: its bytes on the wire (0 when skipped). `last`: the
   * completion stage, where a miss is not inserted and a hit does not update the cache.
   */
  sendNormal(page: number, gen: number, last: boolean): number {
    const { pageSize } = this.o;
    const whole = pageHeaderBytes + pageSize;
    this.looked++;
    const slot = page & this.mask;
    this.lastWhole = true;
    if (this.slotPage[slot] !== page) {
      this.misses++;
      if (!last) this.insert(slot, page, gen);
      return whole;
    }
    this.slotAge[slot] = gen;
    this.pages++;
    // Copy the page out, compare it with the cached copy, copy it back into the cache.
    this.moved += 6 * pageSize;
    this.lastWhole = this.encoded < 0;
    if (this.encoded === 0) return 0;
    if (this.encoded < 0) {
      this.overflows++;
      this.bytes += pageSize;
      return whole;
    }
    this.bytes += xbzrleFrameBytes + this.encoded;
    return pageHeaderBytes + xbzrleFrameBytes + this.encoded;
  }

  /** xbzrle_cache_zero_page: a zero page sent replaces the cached copy, so later small writes encode. */
  sendZero(page: number, gen: number): void {
    this.looked++;
    this.insert(page & this.mask, page, gen);
  }

  /** Bytes of memory moved since the last call (the CPU work to charge). */
  takeMovedBytes(): number {
    const m = this.moved;
    this.moved = 0;
    return m;
  }

  stats(): XbzrleCacheStats {
    return {
      "cache-size": this.o.cacheSize,
      bytes: this.bytes,
      pages: this.pages,
      "cache-miss": this.misses,
      "cache-miss-rate": this.looked > 0 ? round(this.misses / this.looked) : 0,
      "encoding-rate": this.bytes > 0 ? round((this.pages * this.o.pageSize) / this.bytes) : 0,
      overflow: this.overflows,
    };
  }

  /** cache_insert: refused while the slot's other page is fresh. */
  private insert(slot: number, page: number, gen: number): void {
    const held = this.slotPage[slot];
    if (held >= 0 && held !== page && this.slotAge[slot] + cachedPageLifetime > gen) return;
    this.slotPage[slot] = page;
    this.slotAge[slot] = gen;
    this.moved += 2 * this.o.pageSize;
  }
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
