// What of a scenario a real QEMU run can honour. The guest, its workload and the migration
// parameters map onto QEMU; fields it cannot honour are an error naming each of them.

import type { Scenario } from "../scenario/schema.js";
import type { GuestParams } from "./vm.js";

/** Room the guest's kernel and initramfs need beside the working set. */
const kernelReserveBytes = 160 * 2 ** 20;

export interface QemuPlan {
  guest: GuestParams;
  migration: {
    downtimeLimitMs: number;
    /** Bytes per second; 0 = unlimited (QEMU's own meaning of 0). */
    maxBandwidth: number;
    autoConverge: boolean;
    /** Start the destination with -mem-prealloc (QEMU's default, and the scenario's, is not to). */
    destinationPrealloc: boolean;
    /** Auto-converge's migrate parameters, QEMU's names and units (percent). */
    throttle: { "cpu-throttle-initial": number; "cpu-throttle-increment": number; "cpu-throttle-tailslow": boolean; "max-cpu-throttle": number };
    giveUp: { passes?: number; timeMs?: number };
    /** QEMU's other ways to move RAM that run under TCG (issue 17); absent: plain precopy. */
    modes: QemuModes;
  };
  /** Fields that are read but cannot matter on this machine (the loopback link, the prober). */
  notes: string[];
}

export interface QemuModes {
  /** multifd capability (both sides) + multifd-channels. */
  multifdChannels?: number;
  /** xbzrle capability (source) + xbzrle-cache-size, bytes. */
  xbzrleCacheSize?: number;
  /** postcopy-ram (both sides); livemig sends migrate-start-postcopy once dirty-sync-count exceeds afterPasses or total-time reaches afterMs. */
  postcopy?: { afterPasses?: number; afterMs?: number; preempt: boolean };
}

/**
 * What QEMU 10.0.2 answers here to migrate-set-capabilities dirty-limit under TCG (tried on
 * this machine): the dirty ring is KVM's, and this machine has no KVM.
 */
const dirtyLimitRefusal = "dirty-limit requires KVM with accelerator property 'dirty-ring-size' set";
/** The test guest's writer changes one 8-byte word of a page per write (guest/writer.c, stamp()). */
const guestBytesPerWrite = 8;

export class UnsupportedScenarioError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "UnsupportedScenarioError";
  }
}

export function planFor(s: Scenario, where: string): QemuPlan {
  const problems: string[] = [];
  s.devices.forEach((d, i) => {
    if (d.kind !== "virtio") problems.push(`${where}: devices.${i}.kind: QEMU here can only run an emulated virtio NIC, not "${d.kind}" (no passthrough device on this machine)`);
  });
  const w = s.vm.workload;
  if (w.rx && w.rx.rate > 0) problems.push(`${where}: vm.workload.rx: receive traffic cannot be generated into a real guest yet; remove it`);
  if (w.kind !== "idle" && w.kind !== "uniform" && w.kind !== "scan" && w.kind !== "hotcold") problems.push(`${where}: vm.workload.kind: the test guest writes "idle", "uniform", "scan" or "hotcold" only, not "${w.kind}"`);
  // The guest's writer takes hotcold's shares in whole percent.
  const percent = (x: number) => Math.round(x * 100);
  if (w.kind === "hotcold") {
    for (const [field, x] of [["hotFraction", w.hotFraction], ["hotShare", w.hotShare]] as const) {
      if (Math.abs(percent(x) - x * 100) > 1e-9) problems.push(`${where}: vm.workload.${field}: the test guest takes whole percent, got ${x}`);
    }
  }
  const m = s.migration;
  if (m.dirtyLimit !== undefined) problems.push(`${where}: migration.dirtyLimit: cannot run here: QEMU answers "${dirtyLimitRefusal}" and this runner has only TCG (no KVM)`);
  if (w.kind !== "idle" && w.bytesPerWrite !== undefined && w.bytesPerWrite !== guestBytesPerWrite) {
    problems.push(`${where}: vm.workload.bytesPerWrite: the test guest changes ${guestBytesPerWrite} B of a page per write, not ${w.bytesPerWrite} B`);
  }
  if (m.xbzrle && w.kind !== "idle" && w.bytesPerWrite === undefined) {
    problems.push(`${where}: vm.workload.bytesPerWrite: with xbzrle, say how much of a page a write changes; the test guest changes ${guestBytesPerWrite} B`);
  }
  if (s.vm.pageSize !== 4096) problems.push(`${where}: vm.pageSize: x86 QEMU migrates 4 KiB pages, not ${s.vm.pageSize} B`);
  if (s.vm.memory % 2 ** 20 !== 0) problems.push(`${where}: vm.memory: QEMU takes whole MiB, got ${s.vm.memory} B`);
  const workingSet = w.kind === "idle" ? 0 : w.workingSet;
  const rate = w.kind === "idle" ? 0 : w.rate;
  if (workingSet > 0 && workingSet + kernelReserveBytes > s.vm.memory) {
    problems.push(`${where}: vm.workload.workingSet: ${workingSet / 2 ** 20} MiB leaves less than ${kernelReserveBytes / 2 ** 20} MiB of vm.memory for the guest's kernel`);
  }
  if (problems.length) throw new UnsupportedScenarioError(problems);

  const notes = [`link: the migration runs over loopback TCP on this machine; ${s.link.bandwidth * 8 / 1e9} Gbit/s is not imposed`];
  if (s.vm.used !== undefined) notes.push("vm.used: the real guest's non-zero memory is what its kernel and working set touch");
  if (m.hostCores !== undefined) notes.push("migration.hostCores: the real run uses this machine's cores; the field only shapes the prediction");
  if (s.probe) notes.push("probe: no prober runs against the real guest; service-downtime is not measured");
  return {
    guest: {
      memoryBytes: s.vm.memory, vcpus: s.vm.vcpus, workingSetBytes: workingSet, rate, seed: s.seed ?? 1,
      pattern: w.kind === "scan" || w.kind === "hotcold" ? w.kind : "uniform",
      ...(w.kind === "hotcold" ? { hotPercent: percent(w.hotFraction), hotSharePercent: percent(w.hotShare) } : {}),
    },
    migration: {
      downtimeLimitMs: s.migration.downtimeLimit,
      maxBandwidth: s.migration.maxBandwidth,
      autoConverge: s.migration.autoConverge,
      destinationPrealloc: s.migration.destinationPrealloc ?? false,
      throttle: {
        "cpu-throttle-initial": s.migration.cpuThrottleInitial,
        "cpu-throttle-increment": s.migration.cpuThrottleIncrement,
        "cpu-throttle-tailslow": s.migration.cpuThrottleTailslow,
        "max-cpu-throttle": s.migration.maxCpuThrottle,
      },
      giveUp: { passes: s.migration.giveUp.passes, timeMs: s.migration.giveUp.time },
      modes: {
        ...(m.multifd ? { multifdChannels: m.multifd.channels } : {}),
        ...(m.xbzrle ? { xbzrleCacheSize: m.xbzrle.cacheSize } : {}),
        ...(m.postcopy ? { postcopy: { afterPasses: m.postcopy.after.passes, afterMs: m.postcopy.after.time, preempt: m.postcopy.preempt } } : {}),
      },
    },
    notes,
  };
}
