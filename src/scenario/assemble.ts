// A validated scenario turned into what the controller takes, the same for every runtime.

import { costValues } from "../core/costs.js";
import type { Device } from "../core/device.js";
import { defaultHostCores } from "../core/multifd.js";
import { defaultGiveUp, qemuDefaults, type MigrationParams } from "../core/params.js";
import { strategies } from "../core/strategies/index.js";
import type { VmShape } from "../core/strategies/strategy.js";
import type { Scenario } from "./schema.js";

export function migrationParams(scenario: Scenario): MigrationParams {
  const m = scenario.migration;
  return {
    ...qemuDefaults,
    downtimeLimitMs: m.downtimeLimit,
    maxBandwidth: m.maxBandwidth,
    autoConverge: m.autoConverge,
    throttle: {
      ...qemuDefaults.throttle,
      initial: m.cpuThrottleInitial / 100,
      increment: m.cpuThrottleIncrement / 100,
      max: m.maxCpuThrottle / 100,
      tailslow: m.cpuThrottleTailslow,
    },
    giveUp:
      m.giveUp.passes === undefined && m.giveUp.time === undefined
        ? { ...defaultGiveUp, byDefault: true }
        : { passes: m.giveUp.passes, timeMs: m.giveUp.time },
    ...modeParams(m),
  };
}

/** QEMU's other ways to move RAM, only where the scenario asks for them. */
function modeParams(m: Scenario["migration"]): Partial<MigrationParams> {
  const out: Partial<MigrationParams> = {};
  if (m.multifd) out.multifd = { channels: m.multifd.channels, hostCores: m.hostCores ?? defaultHostCores };
  if (m.postcopy) out.postcopy = { afterPasses: m.postcopy.after.passes, afterMs: m.postcopy.after.time, preempt: m.postcopy.preempt };
  if (m.xbzrle) out.xbzrle = { cacheSize: m.xbzrle.cacheSize };
  if (m.dirtyLimit !== undefined) out.dirtyLimit = { bytesPerSecond: m.dirtyLimit, ringSize: m.dirtyRingSize ?? defaultDirtyRingSize };
  return out;
}

/** KVM dirty-ring-size when the scenario does not say: "4096 could be a good initial value" (QEMU's -accel kvm documentation). */
const defaultDirtyRingSize = 4096;

/** One Device per entry, each from its strategy with the entry's cost overrides. */
export function createDevices(scenario: Scenario, vm: VmShape): Device[] {
  return scenario.devices.map((entry) => {
    const strategy = strategies[entry.kind];
    return strategy.create(entry.options, costValues(strategy.costs, entry.costs), vm);
  });
}
