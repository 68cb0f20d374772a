// What calibrate records of the machine it runs on (where the runs were made) besides the
// fitted costs: the cores the migration's threads share (multifd) and the bytes one TCP
// stream can hold in flight between the two QEMUs (post-copy's requested pages without
// preempt wait behind them).

import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

export function hostCores(): number {
  return availableParallelism();
}

/**
 * The sender's and the receiver's socket buffers at the most Linux autotunes them to
 * (net.ipv4.tcp_wmem and tcp_rmem, their third fields): a bulk stream whose receiver is the
 * slower end fills both. Undefined where /proc does not say (not Linux).
 */
export function socketBufferBytes(read: (file: string) => string = (f) => readFileSync(f, "utf8")): number | undefined {
  return bufferSum(read, 2, 2);
}

/**
 * What the socket buffers hold while the receiver is the slower end (simulate.ts,
 * laggingStreamBufferBytes): the sender's at tcp_wmem's maximum, the receiver's at tcp_rmem's
 * default, where autotuning leaves a slow reader's. Undefined where /proc does not say.
 */
export function laggingBufferBytes(read: (file: string) => string = (f) => readFileSync(f, "utf8")): number | undefined {
  return bufferSum(read, 2, 1);
}

/** tcp_wmem's field `send` plus tcp_rmem's field `receive` (0 min, 1 default, 2 max). */
function bufferSum(read: (file: string) => string, send: number, receive: number): number | undefined {
  try {
    const field = (file: string, i: number) => Number(read(file).trim().split(/\s+/)[i]);
    const total = field("/proc/sys/net/ipv4/tcp_wmem", send) + field("/proc/sys/net/ipv4/tcp_rmem", receive);
    return Number.isFinite(total) && total > 0 ? total : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether this host's kernel reports free memory to the hypervisor below (a virtio-balloon
 * device that negotiated VIRTIO_BALLOON_F_REPORTING, feature bit 5). On such a host memory freed
 * a few seconds ago is still backed below and cheap to use again, while memory reported back
 * costs a fault there on first use: QEMU's first reads and the destination's first touches then
 * depend on what the runs before freed (docs/validation.md, seventh round).
 */
export function reportsFreePages(read: (file: string) => string = (f) => readFileSync(f, "utf8"), list: (dir: string) => string[] = (d) => readdirSync(d)): boolean {
  const dir = "/sys/bus/virtio/drivers/virtio_balloon";
  try {
    return list(dir).some((device) => /^virtio\d+$/.test(device) && read(`${dir}/${device}/features`).trim()[freePageReportingBit] === "1");
  } catch {
    return false;
  }
}

/** VIRTIO_BALLOON_F_REPORTING: the features file lists bits from 0, left to right. */
const freePageReportingBit = 5;

/** The note a user comparing back-to-back runs on such a host needs. */
export const freePageReportingNote =
  "this host reports free memory to the hypervisor below (virtio-balloon free page reporting): a run reuses memory the run before freed a few seconds earlier, cheap to use again, so back-to-back runs go faster than the first; rest ~30 s between runs to compare like with like (docs/validation.md, seventh round)";
