// What the source tells the destination about the guest in Config: enough to build an
// identical, stopped guest and its NIC. Checked on arrival: it comes from the network.

import type { WorkloadSpec } from "../sim/workload.js";
import { maxVcpus, minPages } from "./guest/layout.js";
import { ProtocolError } from "./protocol.js";

export interface GuestConfig {
  pageCount: number;
  vcpus: number;
  workload: WorkloadSpec;
  seed: number;
  mac: string;
  /** The guest network's switch, as the destination can reach it. */
  switch: { host: string; port: number };
  /** Fault in all of the guest's RAM before the migration (migration.destinationPrealloc, QEMU's -mem-prealloc). */
  prealloc?: boolean;
  /** multifd: the channels that will join (each its own connection). */
  multifdChannels?: number;
  /**
   * Compare every page at switch-over (`run --verify all`), not only the pages a writer outside
   * the dirty log can reach (the NIC's rings and buffers): then both sides hash every page
   * they move, beside the stream (docs/live.md, "Verification").
   */
  verifyAllPages?: boolean;
}

/** QEMU's multifd-channels maximum. */
export const maxMultifdChannels = 255;

/** The largest guest a destination accepts (the live engine's RAM limit). */
export const maxGuestPages = (4 * 2 ** 30) / 4096;

export function checkGuestConfig(c: GuestConfig): GuestConfig {
  const int = (v: unknown, lo: number, hi: number) => typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
  const bad = (what: string) => new ProtocolError(`malformed Config: ${what}`);
  if (!int(c?.pageCount, minPages, maxGuestPages)) throw bad(`pageCount must be an integer in [${minPages}, ${maxGuestPages}]`);
  if (!int(c.vcpus, 1, maxVcpus)) throw bad(`vcpus must be an integer in [1, ${maxVcpus}]`);
  if (!int(c.seed, 0, 2 ** 32)) throw bad("seed must be an integer");
  if (typeof c.mac !== "string" || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(c.mac)) throw bad("mac must be a MAC address");
  if (typeof c.switch?.host !== "string" || !int(c.switch.port, 1, 65535)) throw bad("switch must be {host, port}");
  if (c.prealloc !== undefined && typeof c.prealloc !== "boolean") throw bad("prealloc must be true or false");
  if (c.multifdChannels !== undefined && !int(c.multifdChannels, 1, maxMultifdChannels)) throw bad(`multifdChannels must be an integer in [1, ${maxMultifdChannels}]`);
  if (c.verifyAllPages !== undefined && typeof c.verifyAllPages !== "boolean") throw bad("verifyAllPages must be true or false");
  const w = c.workload as { kind?: unknown; workingSetPages?: unknown; rate?: unknown };
  if (!["idle", "uniform", "hotcold", "zipf", "scan"].includes(w?.kind as string)) throw bad("workload.kind is not a workload");
  if (w.kind !== "idle" && (!int(w.workingSetPages, 1, c.pageCount) || typeof w.rate !== "number" || !(w.rate >= 0))) {
    throw bad("workload needs workingSetPages within the guest and a rate >= 0");
  }
  return c;
}
