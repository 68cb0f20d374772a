// xbzrle (issue 17): QEMU's page cache (migration/page_cache.c: direct-mapped, a slot's page
// kept for CACHED_PAGE_LIFETIME = 2 generations), save_xbzrle_page's counters and
// xbzrle_encode_buffer's sizes, derived by hand from QEMU's source.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { MigrationResult } from "../../src/core/result.js";
import { XbzrleCache, xbzrleEncodedBytes } from "../../src/core/xbzrle.js";
import { loadScenario } from "../../src/scenario/load.js";
import { simulate } from "../../src/sim/simulate.js";
import { scenario } from "../helpers.js";

/**
 * Bytes on the wire per page re-sent once the cache could hold it: the passes after the second
 * (xbzrle starts after the first round and inserts pages on their first re-send). A pass sends
 * the pages dirty at the sync that opens it.
 */
function laterBytesPerPage(r: MigrationResult): number {
  const p = r.passes;
  let bytes = 0;
  let pages = 0;
  for (let i = 2; i + 1 < p.length; i++) {
    bytes += p[i + 1].transferred - p[i].transferred;
    pages += p[i]["dirty-pages"];
  }
  return bytes / pages;
}

describe("xbzrle", () => {
  it("encoded size: a zero run and a changed run as uleb128 lengths, then the changed bytes; over a page overflows", () => {
    expect(xbzrleEncodedBytes(0, 4096)).toBe(0); // unchanged: the page is skipped
    expect(xbzrleEncodedBytes(64, 4096)).toBe(2 + 1 + 64);
    expect(xbzrleEncodedBytes(200, 4096)).toBe(2 + 2 + 200);
    expect(xbzrleEncodedBytes(4000, 4096)).toBe(1 + 2 + 4000); // 96 unchanged bytes: a one-byte zero run
    expect(xbzrleEncodedBytes(4094, 4096)).toBe(-1); // 1 + 2 + 4094 > 4096
    expect(xbzrleEncodedBytes(4096, 4096)).toBe(-1);
  });

  it("encoded size at uleb128's boundaries: a run or gap of 127 bytes takes one byte, 128 two; exactly a page is not an overflow", () => {
    // Page 4096: 3969 changed leave a 127-byte gap (1 B), 3968 leave 128 (2 B); the run's length is over 127 (2 B).
    expect(xbzrleEncodedBytes(3969, 4096)).toBe(1 + 2 + 3969);
    expect(xbzrleEncodedBytes(3968, 4096)).toBe(2 + 2 + 3968);
    expect(xbzrleEncodedBytes(127, 4096)).toBe(2 + 1 + 127);
    expect(xbzrleEncodedBytes(128, 4096)).toBe(2 + 2 + 128);
    // 1 + 2 + 4093 = 4096: fits; more than a page changed is a page.
    expect(xbzrleEncodedBytes(4093, 4096)).toBe(4096);
    expect(xbzrleEncodedBytes(5000, 4096)).toBe(-1);
    expect(xbzrleEncodedBytes(-1, 4096)).toBe(0);
    // A 256-byte page: 100 changed leave a 156-byte gap (2 B) and a 1-byte length.
    expect(xbzrleEncodedBytes(100, 256)).toBe(2 + 1 + 100);
  });

  it("a zero page sent takes the slot, so the next small write encodes; the CPU's memory traffic: 2 pages an insert, 6 a hit", () => {
    const c = new XbzrleCache({ cacheSize: 2 * 4096, pageSize: 4096, changedBytes: 64 });
    c.sendZero(3, 1);
    expect(c.takeMovedBytes()).toBe(2 * 4096);
    expect(c.takeMovedBytes()).toBe(0);
    expect(c.sendNormal(3, 2, false)).toBe(8 + 3 + 67);
    expect(c.lastWhole).toBe(false);
    expect(c.takeMovedBytes()).toBe(6 * 4096);
    // Page 5 shares slot 1 (5 & 1) with page 3, which is fresh: refused, nothing moved.
    expect(c.sendNormal(5, 2, false)).toBe(8 + 4096);
    expect(c.lastWhole).toBe(true);
    expect(c.takeMovedBytes()).toBe(0);
    // Re-inserting the page a slot holds is allowed whatever its age.
    c.sendZero(3, 2);
    expect(c.takeMovedBytes()).toBe(2 * 4096);
    // Looked at: 4 pages, 1 miss.
    expect(c.stats()).toEqual({ "cache-size": 2 * 4096, bytes: 70, pages: 1, "cache-miss": 1, "cache-miss-rate": 0.25, "encoding-rate": +(4096 / 70).toFixed(4), overflow: 0 });
  });

  it("an unchanged page is skipped (0 B, not whole); no page looked at gives rates of 0; a cache smaller than a page has one slot", () => {
    const same = new XbzrleCache({ cacheSize: 4096, pageSize: 4096, changedBytes: 0 });
    expect(same.stats()).toMatchObject({ "cache-miss-rate": 0, "encoding-rate": 0 });
    same.sendNormal(9, 1, false);
    expect(same.sendNormal(9, 2, false)).toBe(0);
    expect(same.lastWhole).toBe(false);
    expect(same.stats()).toMatchObject({ pages: 1, bytes: 0, "encoding-rate": 0, "cache-miss-rate": 0.5 });
    const tiny = new XbzrleCache({ cacheSize: 100, pageSize: 4096, changedBytes: 64 });
    tiny.sendNormal(6, 1, false);
    expect(tiny.sendNormal(6, 2, false)).toBe(8 + 3 + 67);
  });

  it("the cache: slot = page mod slots; a fresh slot (this generation or the last) is not replaced", () => {
    const c = new XbzrleCache({ cacheSize: 4 * 4096, pageSize: 4096, changedBytes: 64 });
    const whole = 8 + 4096;
    const delta = 8 + 3 + 67;
    expect(c.sendNormal(0, 1, false)).toBe(whole); // miss, inserted in slot 0
    expect(c.sendNormal(4, 1, false)).toBe(whole); // miss, slot 0 is fresh: not inserted
    expect(c.sendNormal(0, 2, false)).toBe(delta); // hit: the slot's age becomes 2
    expect(c.sendNormal(4, 3, false)).toBe(whole); // 2 + 2 > 3: still fresh
    expect(c.sendNormal(4, 4, false)).toBe(whole); // 2 + 2 > 4 is false: page 4 replaces page 0
    expect(c.sendNormal(4, 5, false)).toBe(delta);
    expect(c.sendNormal(0, 5, false)).toBe(whole);
    const s = c.stats();
    expect(s["cache-miss"]).toBe(5);
    expect(s.pages).toBe(2);
    expect(s.bytes).toBe(2 * (3 + 67)); // the 8 B header is not counted
    expect(s["cache-miss-rate"]).toBeCloseTo(5 / 7, 4);
    expect(s["encoding-rate"]).toBeCloseTo((2 * 4096) / (2 * 70), 3);
  });

  it("at completion a miss is not inserted; an overflow sends the whole page and counts 4096 B", () => {
    const last = new XbzrleCache({ cacheSize: 4096, pageSize: 4096, changedBytes: 64 });
    last.sendNormal(7, 1, true);
    expect(last.sendNormal(7, 5, false)).toBe(8 + 4096); // still a miss: nothing was inserted
    const whole = new XbzrleCache({ cacheSize: 4096, pageSize: 4096, changedBytes: 4096 });
    whole.sendNormal(7, 1, false);
    expect(whole.sendNormal(7, 2, false)).toBe(8 + 4096);
    expect(whole.lastWhole).toBe(true); // an overflow goes as a normal page
    expect(whole.stats()).toMatchObject({ overflow: 1, pages: 1, bytes: 4096 });
  });

  it("must-show: a scan writer re-dirtying 256 MiB sends fewer bytes with a 512 MiB cache; with 16 MiB the saving mostly goes, the misses reported", { timeout: 60_000 }, async () => {
    const runs = loadScenario(readFileSync("scenarios/xbzrle-scan.yaml", "utf8"), "xbzrle-scan.yaml");
    const r = Object.fromEntries(await Promise.all(runs.map(async (x) => [x.variant, await simulate(x.scenario)] as const)));
    const none = laterBytesPerPage(r.base);
    // A hit costs 8 + 3 + 67 B instead of 4104; the passes also carry what a sync left unsent.
    expect(laterBytesPerPage(r["xbzrle-512m"])).toBeLessThan(0.25 * none);
    expect(r["xbzrle-512m"].ram.transferred).toBeLessThan(r.base.ram.transferred);
    // 4096 slots for 65536 pages: one page in 16 keeps its slot, so ~15/16 of lookups miss.
    expect(laterBytesPerPage(r["xbzrle-16m"])).toBeGreaterThan(0.85 * none);
    expect(r["xbzrle-16m"]["xbzrle-cache"]!["cache-miss-rate"]).toBeGreaterThan(0.9);
    expect(r["xbzrle-16m"]["xbzrle-cache"]!["cache-miss"]).toBeGreaterThan(0);
    // Whole-page writes overflow every encoding: no saving at all.
    expect(r["xbzrle-512m-whole-pages"]["xbzrle-cache"]!.overflow).toBe(r["xbzrle-512m-whole-pages"]["xbzrle-cache"]!.pages);
    expect(r["xbzrle-512m-whole-pages"].ram.transferred).toBe(r.base.ram.transferred);
    expect(r["xbzrle-512m"].parameters!["xbzrle-cache-size"]).toBe(512 * 2 ** 20);
  });

  it("the first round sends no encoded page (xbzrle starts after it)", async () => {
    // Converges in one pass: nothing re-sent, so no lookup ever hits.
    const r = await simulate(scenario("name: x\nvm: {memory: 64MiB, used: 32MiB}\nlink: {bandwidth: 10Gbit/s}\nmigration: {maxBandwidth: 0, xbzrle: {cacheSize: 64MiB}}\n"));
    expect(r["xbzrle-cache"]).toMatchObject({ pages: 0, bytes: 0, "cache-miss": 0 });
  });

  it("the cache size must be a power of two of at least a page (QEMU's message)", () => {
    expect(() => scenario("name: x\nvm: {memory: 64MiB}\nlink: {bandwidth: 1Gbit/s}\nmigration: {xbzrle: {cacheSize: 100MiB}}\n")).toThrow(
      "migration.xbzrle: Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size, got 100.00 MiB",
    );
  });
});
