// A validated scenario turned into what the controller takes, the same for every runtime.

import { costValues } from "../core/costs.js";
import type { Device } from "../core/device.js";
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
  };
}

/** One Device per entry, each from its strategy with the entry's cost overrides. */
export function createDevices(scenario: Scenario, vm: VmShape): Device[] {
  return scenario.devices.map((entry) => {
    const strategy = strategies[entry.kind];
    return strategy.create(entry.options, costValues(strategy.costs, entry.costs), vm);
  });
}
