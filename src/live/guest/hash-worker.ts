// Hashes every page of guest RAM in a thread of its own, so the source's hashing for the
// switch-over check overlaps the final transfer instead of following it.

import { parentPort, workerData } from "node:worker_threads";
import { hashPageOrZero, ramBuffer } from "./pages.js";

const { ram, pageCount } = workerData as { ram: SharedArrayBuffer; pageCount: number };
const words = new Int32Array(ram);
const buffer = ramBuffer(ram);

parentPort!.on("message", () => {
  const hashes = new Uint32Array(pageCount);
  for (let p = 0; p < pageCount; p++) hashes[p] = hashPageOrZero(buffer, words, p);
  parentPort!.postMessage(hashes, [hashes.buffer]);
});
