// The RAM stream's data path: pages leave guest RAM as views of it (runs, not pages), in
// frames of bounded size, and land in the destination's RAM exactly; the link takes a
// write's bytes when it is written; the page hashes follow what was marked.
import { createServer, connect, type AddressInfo, type Socket } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PageBitmap, PageRuns } from "../../src/core/bitmap.js";
import { ShapedLink } from "../../src/live/link.js";
import { pageSize } from "../../src/live/guest/layout.js";
import { applySection, encodeSections, runHeaderBytes, sectionBytes, StreamError } from "../../src/live/ram-stream.js";
import { groupDigest, hashGroupPages } from "../../src/live/guest/pages.js";

const pages = 256;

/** Guest RAM whose page p is zero where `zero[p]`, else holds data (in a word other than the first, sometimes). */
function ram(zero: boolean[]): { sab: SharedArrayBuffer; buffer: Buffer; words: Int32Array } {
  const sab = new SharedArrayBuffer(zero.length * pageSize);
  const words = new Int32Array(sab);
  zero.forEach((z, p) => {
    if (!z) words[p * 1024 + (p % 3 === 0 ? 0 : 517)] = p + 1;
  });
  return { sab, buffer: Buffer.from(sab), words };
}

function runsOf(list: [number, number][]): PageRuns {
  const r = new PageRuns(list.length);
  for (const [start, length] of list) r.add(start, length);
  return r;
}

const runList = fc
  .array(fc.tuple(fc.nat(pages - 1), fc.integer({ min: 1, max: 64 })), { minLength: 1, maxLength: 12 })
  .map((xs) => {
    // Ascending, non-overlapping runs within RAM, as the controller's slices are.
    const out: [number, number][] = [];
    let at = 0;
    for (const [gap, len] of xs) {
      const start = at + (gap % 8);
      if (start >= pages) break;
      const length = Math.min(len, pages - start);
      out.push([start, length]);
      at = start + length;
    }
    return out;
  })
  .filter((r) => r.length > 0);

describe("RAM sections", () => {
  it("carry exactly the sent pages' contents, zero pages cleared only where needed", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: pages, maxLength: pages }), runList, fc.array(fc.boolean(), { minLength: pages, maxLength: pages }), (zero, list, stale) => {
        const src = ram(zero);
        // The destination starts with other contents on some pages (an earlier pass's).
        const dst = ram(stale.map((s) => !s));
        dst.words.forEach((_, i) => dst.words[i] && (dst.words[i] = -dst.words[i]));
        const nonZero = new PageBitmap(pages);
        stale.forEach((s, p) => s && nonZero.set(p));
        const sections = encodeSections(src.buffer, src.words, pageSize, runsOf(list));
        const changed = new PageBitmap(pages);
        for (const s of sections) applySection(Buffer.concat(s), new Uint8Array(dst.sab), pageSize, nonZero, (first, n) => changed.setRange(first, first + n));
        const sent = new PageBitmap(pages);
        for (const [start, length] of list) sent.setRange(start, start + length);
        for (let p = 0; p < pages; p++) {
          const a = src.buffer.subarray(p * pageSize, (p + 1) * pageSize);
          const b = dst.buffer.subarray(p * pageSize, (p + 1) * pageSize);
          if (sent.test(p)) {
            expect(b.equals(a)).toBe(true);
            // Reported as changed: data pages, and zero pages that held something.
            expect(changed.test(p)).toBe(!zero[p] || stale[p]);
          } else expect(changed.test(p)).toBe(false);
        }
      }),
    );
  });

  it("apply the same from the socket's reads as from the whole section, wherever the reads cut it", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: pages, maxLength: pages }), runList, fc.array(fc.nat(), { maxLength: 20 }), (zero, list, cuts) => {
        const src = ram(zero);
        const [whole] = encodeSections(src.buffer, src.words, pageSize, runsOf(list)).map((s) => Buffer.concat(s));
        // Cut points anywhere (inside run records too), as TCP delivers them.
        const at = [...new Set(cuts.map((c) => c % whole.length))].sort((a, b) => a - b);
        const parts = [0, ...at].map((from, i) => whole.subarray(from, i < at.length ? at[i] : whole.length));
        const a = new Uint8Array(pages * pageSize);
        const b = new Uint8Array(pages * pageSize);
        applySection(whole, a, pageSize, new PageBitmap(pages), () => undefined);
        applySection(parts, b, pageSize, new PageBitmap(pages), () => undefined);
        expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
      }),
    );
  });

  it("take the pages the walk found zero as zero, and look at the others", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: pages, maxLength: pages }), runList, fc.array(fc.boolean(), { minLength: pages, maxLength: pages }), (zero, list, looked) => {
        const src = ram(zero);
        // The walk looked at some of the zero pages; encoding with what it found is encoding without.
        const checked = new PageBitmap(pages);
        looked.forEach((l, p) => l && zero[p] && checked.set(p));
        const plain = encodeSections(src.buffer, src.words, pageSize, runsOf(list)).map((s) => Buffer.concat(s));
        const reused = encodeSections(src.buffer, src.words, pageSize, runsOf(list), checked).map((s) => Buffer.concat(s));
        const a = new Uint8Array(pages * pageSize);
        const b = new Uint8Array(pages * pageSize);
        for (const s of plain) applySection(s, a, pageSize, new PageBitmap(pages), () => undefined);
        for (const s of reused) applySection(s, b, pageSize, new PageBitmap(pages), () => undefined);
        expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
      }),
    );
    // A page written after the walk found it zero goes as zero (its write is in the dirty log for
    // the next pass, as after QEMU's one check); a page the walk did not find zero is looked at.
    const src = ram(Array(8).fill(true));
    src.words[3 * 1024 + 7] = 42;
    src.words[5 * 1024 + 9] = 43;
    const checked = new PageBitmap(8);
    checked.setRange(0, 4);
    const dst = new Uint8Array(8 * pageSize);
    const nonZero = new PageBitmap(8);
    for (const s of encodeSections(src.buffer, src.words, pageSize, runsOf([[0, 8]]), checked)) applySection(Buffer.concat(s), dst, pageSize, nonZero, () => undefined);
    const words = new Int32Array(dst.buffer);
    expect(words[3 * 1024 + 7]).toBe(0);
    expect(words[5 * 1024 + 9]).toBe(43);
  });

  it("put a controller slice (1 MiB of pages) in one frame", () => {
    const src = ram(Array(pages).fill(false));
    expect(encodeSections(src.buffer, src.words, pageSize, runsOf([[0, pages]]))).toHaveLength(1);
  });

  it("send runs of pages as views of guest RAM, in frames of at most sectionBytes", () => {
    const zero = Array.from({ length: pages }, (_, p) => p >= 100 && p < 140);
    const src = ram(zero);
    const sections = encodeSections(src.buffer, src.words, pageSize, runsOf([[0, pages]]));
    let data = 0;
    for (const s of sections) {
      expect(s.reduce((n, c) => n + c.length, 0)).toBeLessThanOrEqual(sectionBytes);
      for (const c of s) {
        if (c.length === runHeaderBytes) continue;
        // Not a copy: the very memory of guest RAM.
        expect(c.buffer).toBe(src.sab);
        data += c.length;
      }
    }
    expect(data).toBe((pages - 40) * pageSize);
    // Chunks per frame: a few headers and slices, not one per page.
    const chunks = sections.reduce((n, s) => n + s.length, 0);
    expect(chunks).toBeLessThan(3 * sections.length + 4);
  });

  it("refuse a section that names pages beyond RAM, is truncated, or has an unknown run kind", () => {
    const src = ram(Array(pages).fill(false));
    const [section] = encodeSections(src.buffer, src.words, pageSize, runsOf([[0, 2]]));
    const whole = Buffer.concat(section);
    const apply = (b: Buffer, n = pages) => applySection(b, new Uint8Array(n * pageSize), pageSize, new PageBitmap(n), () => undefined);
    expect(() => apply(whole, 1)).toThrow(StreamError);
    expect(() => apply(whole.subarray(0, whole.length - runHeaderBytes - 5))).toThrow(/truncated/);
    const bad = Buffer.from(whole);
    bad[0] = 9;
    expect(() => apply(bad)).toThrow(/unknown run kind/);
  });
});

async function socketPair(): Promise<{ a: Socket; received: () => Buffer; close: () => void }> {
  const parts: Buffer[] = [];
  const server = createServer((s) => s.on("data", (d) => parts.push(d)));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = connect((server.address() as AddressInfo).port, "127.0.0.1");
  await new Promise((r) => a.once("connect", r));
  return { a, received: () => Buffer.concat(parts), close: () => (a.destroy(), server.close()) };
}

describe("the shaped link", () => {
  it("takes a write's bytes when written: a page changed while it waits on the link crosses as it was", async () => {
    const { a, received, close } = await socketPair();
    // 1 MB/s and 20 ms: the write waits ~20 ms on the link before it reaches the socket.
    const link = new ShapedLink(a, 1e6, 20);
    const page = new Uint8Array(new SharedArrayBuffer(pageSize)).fill(1);
    const t = performance.now();
    await link.write([page]);
    page.fill(2); // the guest writes the page after it was sent
    while (received().length < pageSize) await new Promise((r) => setTimeout(r, 5));
    const took = performance.now() - t;
    expect(received().every((b) => b === 1)).toBe(true);
    // Delivered no sooner than its serialisation (4096 B at 1 MB/s) plus the latency.
    expect(took).toBeGreaterThanOrEqual(4.096 + 20 - 1);
    link.close();
    close();
  });

  it("lets the sender go once the link starts on its write, not once the bytes are delivered", async () => {
    const { a, received, close } = await socketPair();
    // 100 MB/s and 100 ms: two slices just over 1 MiB (256 pages and their run records) take
    // ~10.5 ms each to serialise, and arrive 100 ms after that.
    const link = new ShapedLink(a, 100e6, 100);
    const slice = Buffer.alloc((1 << 20) + 64);
    const t = performance.now();
    await link.write([slice]);
    await link.write([slice]);
    // The second returns when the first has crossed: the link is busy with it while the sender
    // prepares a third. (Until round 3 both waited for their delivery, and the link idled.)
    expect(performance.now() - t).toBeGreaterThanOrEqual(10);
    expect(received().length).toBe(0);
    while (received().length < 2 * slice.length) await new Promise((r) => setTimeout(r, 5));
    expect(performance.now() - t).toBeGreaterThanOrEqual(2 * 10.5 + 100 - 1);
    link.close();
    close();
  });

  it("holds no more than it can deliver: a sender that never yields to the event loop still feeds the socket", async () => {
    const { a, close } = await socketPair();
    // 100 Gbit/s and 0.1 ms: faster than the machine. The writes below resolve without a turn of
    // the event loop (no timer runs): what has crossed must reach the socket at the next write,
    // and the link's own queue stays bounded (2 staging buffers and the bandwidth-delay product).
    const link = new ShapedLink(a, 12.5e9, 0.1);
    const slice = Buffer.alloc(1 << 20);
    const slices = 64;
    for (let i = 0; i < slices; i++) await link.write([slice]);
    expect(slices * slice.length - (a.bytesWritten + a.writableLength)).toBeLessThanOrEqual(4 * (1 << 20) + 12.5e9 * 1e-4);
    link.close();
    close();
  });

  it("is charged the bytes it is told (QEMU's wire size), not the encoded length", async () => {
    const { a, received, close } = await socketPair();
    const link = new ShapedLink(a, 1e6, 0);
    const t = performance.now();
    await link.write([Buffer.alloc(10)], 50_000); // 50 ms of link time
    await link.write([Buffer.alloc(10)], 10);
    while (received().length < 20) await new Promise((r) => setTimeout(r, 2));
    expect(performance.now() - t).toBeGreaterThanOrEqual(50 - 1);
    link.close();
    close();
  });
});

describe("the NIC's pages", () => {
  it("spread the buffers over RAM below the rings, each page once, and only there", async () => {
    const { nicLayout, nicPages, bufferPage, isBufferPage, rxEntries, txEntries } = await import("../../src/live/guest/layout.js");
    for (const pageCount of [1024, 65536, 131072 + 17]) {
      const l = nicLayout(pageCount);
      const all = nicPages(l);
      expect(new Set(all).size).toBe(all.length);
      expect(all.length).toBe((rxEntries + txEntries) / 2 + 4);
      const buffers = all.slice(0, l.bufferPages);
      expect(Math.max(...buffers)).toBeLessThan(l.base);
      // Spread: from the first stride of RAM to within a stride and the rounding (< one page per buffer page) of the rings.
      expect(bufferPage(l, 0)).toBeLessThan(l.bufferStride);
      expect(bufferPage(l, l.bufferPages - 1)).toBeGreaterThan(l.base - l.bufferPages - l.bufferStride);
      let found = 0;
      for (let p = 0; p < l.base; p++) if (isBufferPage(l, p)) found++;
      expect(found).toBe(l.bufferPages);
      // The page a workload write is moved to is never a buffer page.
      for (const p of buffers) expect(isBufferPage(l, p + 1)).toBe(false);
    }
  });
});

describe("a starved run", () => {
  it("warns when vCPU threads woke late or the migration thread's loop was held up, and not otherwise", async () => {
    const { starvationWarning } = await import("../../src/live/host-load.js");
    const quiet = { cpus: 2, "cpu-busy": 0.6, "load-average": [0.5, 0.7] as [number, number], "loop-delay-p99": 2, "loop-delay-max": 8, "vcpu-late-naps": 0, "vcpu-late-max": 0 };
    expect(starvationWarning(quiet)).toBeUndefined();
    expect(starvationWarning({ ...quiet, "vcpu-late-naps": 3, "vcpu-late-max": 24 })).toMatch(/^STARVED: vCPU threads woke up to 24 ms late \(3 times/);
    expect(starvationWarning({ ...quiet, "loop-delay-p99": 40, "loop-delay-max": 90 })).toMatch(/callbacks ran up to 90 ms late \(p99 40 ms\)/);
  });
});

describe("the switch-over comparison's group digests", () => {
  it("change with any one page hash of the group, in no other group, and with the order of the hashes", () => {
    const hashes = Int32Array.from({ length: 3 * hashGroupPages + 5 }, (_, i) => (i * 2654435761) | 0);
    const groups = Math.ceil(hashes.length / hashGroupPages);
    const before = Array.from({ length: groups }, (_, g) => groupDigest(hashes, g));
    for (const page of [0, 1, hashGroupPages - 1, hashGroupPages, 2 * hashGroupPages + 17, hashes.length - 1]) {
      const changed = Int32Array.from(hashes);
      changed[page] ^= 1 << (page % 32);
      const after = Array.from({ length: groups }, (_, g) => groupDigest(changed, g));
      const group = Math.floor(page / hashGroupPages);
      after.forEach((d, g) => expect(d !== before[g], `page ${page}, group ${g}`).toBe(g === group));
    }
    const swapped = Int32Array.from(hashes);
    [swapped[3], swapped[4]] = [swapped[4], swapped[3]];
    expect(groupDigest(swapped, 0)).not.toBe(before[0]);
  });
});
