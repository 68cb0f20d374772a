// Where things live in the emulated guest: the control words shared by the hypervisor and
// its vCPU threads, and the NIC's rings and buffers at the top of guest RAM. The guest's
// driver keeps its ring positions in guest RAM too, so they migrate with it.

/** The live engine runs 4 KiB pages (x86's base page). */
export const pageSize = 4096;
export const wordsPerPage = pageSize / 4;

/** Indices into the control words (an Int32Array over its own SharedArrayBuffer). */
export const ctl = {
  /** running | stopped | exiting */
  state: 0,
  /** auto-converge throttle, parts per million of each time slice spent asleep */
  throttlePpm: 1,
  /** vCPUs parked after a stop request */
  parked: 2,
  /** the NIC's doorbell: the driver bumps and notifies it when it queued frames to send */
  doorbell: 3,
  /** naps of any vCPU that ended more than lateNapMs late, and the latest (us) */
  lateNaps: 4,
  lateMaxUs: 5,
  /** vCPU i waits on word wake + i: anyone needing its attention bumps and notifies it */
  wake: 8,
} as const;
export const ctlWords = 64;
export const maxVcpus = ctlWords - ctl.wake;

/** A vCPU nap this much past its time means the thread waited for a core (naps are 5 ms at most). */
export const lateNapMs = 10;

export const vcpuState = { running: 0, stopped: 1, exiting: 2 } as const;

/** Receive descriptors and transmit descriptors (a Linux driver's default receive ring). */
export const rxEntries = 512;
export const txEntries = 64;
/** One buffer per descriptor, two per page; a frame larger than this does not fit. */
export const bufferBytes = 2048;
/** Word offset, inside a ring page, of the per-slot frame lengths. */
export const lensWord = 16;

/**
 * The NIC's pages. Its four ring pages are at the top of RAM, from page `base`; a split ring
 * as virtio has it: what the driver writes (avail) and what the device writes (used) are on
 * different pages, so untracked DMA leaves exactly the device's pages stale. Its buffers (two
 * per page) are spread evenly over the RAM below, one page every `bufferStride`, as a guest's
 * page allocator scatters them (and as the simulator places them): a precopy pass reaches
 * them at all times of the pass, not all at its end.
 */
export interface NicLayout {
  base: number;
  /** driver: word 0 = buffers posted (avail index), word 1 = frames consumed */
  rxAvailPage: number;
  /** device: word 0 = frames written (used index), lens from word 16 */
  rxUsedPage: number;
  /** driver: word 0 = frames queued (avail index), lens from word 16 */
  txAvailPage: number;
  /** device: word 0 = frames sent (used index) */
  txUsedPage: number;
  bufferStride: number;
  /** Receive buffer pages, then transmit buffer pages. */
  bufferPages: number;
}

const buffersPerPage = pageSize / bufferBytes;
const ringPages = 4;

export function nicLayout(pageCount: number): NicLayout {
  const base = pageCount - ringPages;
  const bufferPages = (rxEntries + txEntries) / buffersPerPage;
  return {
    base,
    rxAvailPage: base,
    rxUsedPage: base + 1,
    txAvailPage: base + 2,
    txUsedPage: base + 3,
    bufferStride: Math.floor(base / bufferPages),
    bufferPages,
  };
}

/** Page of buffer page `k` (receive buffer pages first). */
export function bufferPage(l: NicLayout, k: number): number {
  return k * l.bufferStride + (l.bufferStride >> 1);
}

/** Byte offset of receive buffer `slot`. */
export function rxBufferOffset(l: NicLayout, slot: number): number {
  return bufferPage(l, Math.floor(slot / buffersPerPage)) * pageSize + (slot % buffersPerPage) * bufferBytes;
}

/** Byte offset of transmit buffer `slot`. */
export function txBufferOffset(l: NicLayout, slot: number): number {
  return rxBufferOffset(l, rxEntries + slot);
}

export function isBufferPage(l: NicLayout, page: number): boolean {
  return page < l.bufferPages * l.bufferStride && page % l.bufferStride === l.bufferStride >> 1;
}

/** Every page the NIC may write: its buffer pages and its ring pages. */
export function nicPages(l: NicLayout): number[] {
  const out: number[] = [];
  for (let k = 0; k < l.bufferPages; k++) out.push(bufferPage(l, k));
  for (let p = l.base; p < l.base + ringPages; p++) out.push(p);
  return out;
}

/** The smallest guest the layout fits in, with room for the workload. */
export const minPages = 1024;
