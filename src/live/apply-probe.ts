// What a data page of the stream costs the destination's main thread where its memory is
// already populated: the Memory frame's GMAC check (FrameReader) and the copy into guest RAM
// (applySection), the code a migration runs, over frames of a controller slice (1 MiB of
// pages) cut into socket reads. The destination measures it at Config beside the first touch,
// into the memory that probe has just populated, so `run --predict` gives the simulator's
// destination copy (MachineProfile.copyBytesPerSecond, otherwise the link's rate) this host's
// figure of that minute (docs/live.md, tenth round). Not in it: the kernel's copy out of the
// socket (the read itself) and the event loop's turn per read.

import { randomBytes, randomFillSync } from "node:crypto";
import { PageBitmap, PageRuns } from "../core/bitmap.js";
import { timeChunks, type PageProbe } from "./first-touch.js";
import { pageSize } from "./guest/layout.js";
import { FrameMac } from "./integrity.js";
import { Command, FrameReader, frameChunks, sealFrames } from "./protocol.js";
import { applySection, encodeSections } from "./ram-stream.js";

/** Pages per probe frame: a controller slice of normal pages (1 MiB). */
export const applyFramePages = (1 << 20) / pageSize;
/** What one socket read hands the destination: libuv reads up to 64 KiB at a time. */
const socketReadBytes = 64 << 10;

/**
 * Applies a frame of random data pages to each successive 1 MiB of `ram` (whose pages the
 * caller has populated), the event loop turning between frames; the figures are the
 * check-and-apply alone (sealing the frame, the source's work, is not counted).
 */
export async function measureApply(ram: SharedArrayBuffer): Promise<PageProbe> {
  const frames = Math.floor(ram.byteLength / (applyFramePages * pageSize));
  if (frames === 0) throw new Error(`measureApply: ${ram.byteLength} bytes of RAM hold no frame of ${applyFramePages} pages`);
  const source = Buffer.alloc(applyFramePages * pageSize);
  randomFillSync(source);
  const runs = new PageRuns(1);
  runs.add(0, applyFramePages);
  const [section] = encodeSections(source, new Int32Array(source.buffer, source.byteOffset, source.length / 4), pageSize, runs);
  const key = randomBytes(32);
  const seal = new FrameMac(key);
  const reader = new FrameReader();
  reader.mac = new FrameMac(key);
  const target = Buffer.from(ram);
  const nonZero = new PageBitmap(applyFramePages);
  let reads: Buffer[] = [];
  const t = await timeChunks(
    frames,
    (i) => {
      const into = target.subarray(i * source.length, (i + 1) * source.length);
      for (const r of reads) reader.push(r, (f) => applySection(f.parts, into, pageSize, nonZero, noChange));
    },
    () => {
      const bytes = Buffer.concat(frameChunks(Command.Memory, 0, section, true));
      sealFrames(bytes, seal);
      reads = [];
      for (let at = 0; at < bytes.length; at += socketReadBytes) reads.push(bytes.subarray(at, at + socketReadBytes));
    },
  );
  const pages = frames * applyFramePages;
  return { cpuUs: t.cpuUs / pages, wallUs: t.wallUs / pages, pages };
}

const noChange = () => undefined;
