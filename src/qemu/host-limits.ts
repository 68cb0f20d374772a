// What calibrate records of the machine it runs on (where the runs were made) besides the
// fitted costs: the cores the migration's threads share (multifd) and the bytes one TCP
// stream can hold in flight between the two QEMUs (post-copy's requested pages without
// preempt wait behind them).

import { readFileSync } from "node:fs";
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
  try {
    const max = (file: string) => Number(read(file).trim().split(/\s+/)[2]);
    const total = max("/proc/sys/net/ipv4/tcp_wmem") + max("/proc/sys/net/ipv4/tcp_rmem");
    return Number.isFinite(total) && total > 0 ? total : undefined;
  } catch {
    return undefined;
  }
}
