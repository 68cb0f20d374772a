// A simulated migration assembled by hand (as src/sim/simulate.ts assembles it), so that a
// test can watch what crosses the ports: the guest's writes, the pages read for sending, the
// bytes on the link.

import { migrate } from "../src/core/controller.js";
import type { Device } from "../src/core/device.js";
import type { PageBitmap } from "../src/core/bitmap.js";
import type { Channel, GuestRam } from "../src/core/ports.js";
import { buildResult } from "../src/core/result.js";
import { createDevices, migrationParams } from "../src/scenario/assemble.js";
import type { Scenario } from "../src/scenario/schema.js";
import { VirtualClock } from "../src/sim/clock.js";
import { SimLink } from "../src/sim/link.js";

export interface Parts {
  clock: VirtualClock;
  devices: Device[];
  pageCount: number;
  pageSize: number;
}

export async function migrateWatched(
  s: Scenario,
  watch: { ram: (parts: Parts) => GuestRam; channel?: (link: Channel) => Channel; rxFramesPerSecond?: number },
) {
  const pageSize = s.vm.pageSize;
  const pageCount = Math.floor(s.vm.memory / pageSize);
  const clock = new VirtualClock();
  const devices = createDevices(s, { ramBytes: pageCount * pageSize, pageSize, vcpus: s.vm.vcpus });
  const ram = watch.ram({ clock, devices, pageCount, pageSize });
  const link = new SimLink(clock, { bandwidth: s.link.bandwidth, latencyMs: s.link.latency });
  const channel = watch.channel ? watch.channel(link) : link;
  const params = migrationParams(s);
  const timeline = await clock.run(() =>
    migrate({ clock, ram, channel, devices, params, rxFramesPerSecond: watch.rxFramesPerSecond ?? 0 }),
  );
  return buildResult(timeline, { ramBytes: pageCount * pageSize, pageSize, params });
}

/** A guest whose vCPUs write every page between any two syncs while they run, whatever the throttle. */
export class EverythingDirty implements GuestRam {
  readonly pageSize = 4096;
  readonly throttles: number[] = [];
  running = true;

  constructor(readonly pageCount: number) {}

  startDirtyLog(): void {}
  stopDirtyLog(): void {}
  syncDirtyLog(into: PageBitmap): number {
    if (!this.running) return 0;
    const before = into.count;
    into.setAll();
    return into.count - before;
  }
  isZero(): boolean {
    return false;
  }
  async readPages(): Promise<undefined> {
    return undefined;
  }
  stopVcpus(): void {
    this.running = false;
  }
  resumeVcpus(): void {
    this.running = true;
  }
  setThrottle(fraction: number): void {
    this.throttles.push(fraction);
  }
  stalePages(): number[] {
    return [];
  }
}

