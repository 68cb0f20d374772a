// Pins the destination's guest RAM in a thread of its own (touchPages on every page), as the
// kernel's pinning runs on a core beside QEMU's incoming migration: the RAM stream keeps being
// applied on the main thread meanwhile.

import { parentPort, workerData } from "node:worker_threads";
import { touchPages } from "./pages.js";
import { threadLoaded } from "./thread.js";

const { ram, pageCount } = workerData as { ram: SharedArrayBuffer; pageCount: number };
const words = new Int32Array(ram);

parentPort!.on("message", () => {
  touchPages(words, 0, pageCount);
  parentPort!.postMessage("pinned");
});
threadLoaded();
