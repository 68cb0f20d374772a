// The what-if controls. Each reads its value from the validated scenario and writes it into
// the scenario text (the editor's YAML stays the one source of truth, comments kept).

import { isMap, isSeq, parseDocument, type Document } from "yaml";
import type { Scenario } from "../src/scenario/schema.js";

const GiB = 2 ** 30;
const MiB = 2 ** 20;

export interface RangeControl {
  kind: "range";
  id: string;
  label: string;
  unit: string;
  /** The value times this is a size in bytes: shown as one ("32 MiB", not "0.03 GiB"). */
  bytesPerUnit?: number;
  min: number;
  max: number;
  step: number;
  read(s: Scenario): number;
  write(doc: Document, value: number, s: Scenario): void;
}

export interface SelectControl {
  kind: "select";
  id: string;
  label: string;
  options: string[];
  read(s: Scenario): string | undefined;
  write(doc: Document, value: string, s: Scenario): void;
}

export type Control = RangeControl | SelectControl;

function flow(doc: Document, value: unknown) {
  const node = doc.createNode(value);
  if (isMap(node) || isSeq(node)) node.flow = true;
  return node;
}

/** A workload with a rate and a working set: an idle guest becomes uniform when one is set. */
function setWorkload(doc: Document, s: Scenario, key: "rate" | "workingSet", value: number | string) {
  const w = s.vm.workload;
  if (w.kind === "idle") {
    const fresh: Record<string, unknown> = { kind: "uniform", workingSet: "1GiB", rate: 0 };
    if (doc.getIn(["vm", "workload", "rx"]) !== undefined) fresh.rx = (doc.getIn(["vm", "workload", "rx"], true) as { toJSON(): unknown }).toJSON();
    doc.setIn(["vm", "workload"], flow(doc, fresh));
  }
  doc.setIn(["vm", "workload", key], value);
}

const strategyKinds = ["virtio", "vf-failover", "vf-enlightened", "vf-tracked", "vdpa", "vf"];

/**
 * Turns a mode on (or off: undefined), and off the modes QEMU refuses beside it (the schema's
 * modeConflicts): the page shows the combination QEMU would run, not its refusal.
 */
function setMode(doc: Document, key: "multifd" | "postcopy" | "xbzrle" | "dirtyLimit", value: unknown) {
  if (value === undefined) {
    doc.deleteIn(["migration", key]);
    // A VF's state over multifd needs multifd (multifdDeviceStateRefusal): off with it.
    if (key === "multifd" && doc.getIn(["devices", 0, "multifdDeviceState"]) === true) doc.setIn(["devices", 0, "multifdDeviceState"], false);
    return;
  }
  doc.setIn(["migration", key], typeof value === "object" ? flow(doc, value) : value);
  const refused: Record<typeof key, string[]> = { multifd: ["xbzrle", "postcopy"], xbzrle: ["multifd"], postcopy: ["multifd"], dirtyLimit: [] };
  for (const other of refused[key]) doc.deleteIn(["migration", other]);
  if (key === "dirtyLimit" && doc.getIn(["migration", "autoConverge"]) === true) doc.setIn(["migration", "autoConverge"], false);
}

const xbzrleCacheSizes = ["16MiB", "64MiB", "256MiB", "1GiB", "4GiB"];

export const controls: Control[] = [
  {
    kind: "range", id: "memory", label: "RAM", unit: "GiB", bytesPerUnit: GiB, min: 1, max: 256, step: 1,
    read: (s) => s.vm.memory / GiB,
    write: (doc, v, s) => {
      doc.setIn(["vm", "memory"], `${v}GiB`);
      if (s.vm.used !== undefined && s.vm.used > v * GiB) doc.setIn(["vm", "used"], `${v}GiB`);
    },
  },
  {
    kind: "range", id: "rate", label: "dirty rate", unit: "pages/s", min: 0, max: 400000, step: 5000,
    read: (s) => (s.vm.workload.kind === "idle" ? 0 : s.vm.workload.rate),
    write: (doc, v, s) => setWorkload(doc, s, "rate", v),
  },
  {
    kind: "range", id: "workingSet", label: "working set", unit: "GiB", bytesPerUnit: GiB, min: 0.25, max: 64, step: 0.25,
    read: (s) => (s.vm.workload.kind === "idle" ? 1 : s.vm.workload.workingSet / GiB),
    write: (doc, v, s) => setWorkload(doc, s, "workingSet", `${v}GiB`),
  },
  {
    kind: "range", id: "rx", label: "receive traffic", unit: "kpps", min: 0, max: 2000, step: 10,
    read: (s) => (s.vm.workload.rx?.rate ?? 0) / 1000,
    write: (doc, v, s) => {
      if (v === 0) doc.deleteIn(["vm", "workload", "rx"]);
      else doc.setIn(["vm", "workload", "rx"], flow(doc, { rate: `${v}kpps`, size: `${s.vm.workload.rx?.size ?? 1500}B` }));
    },
  },
  {
    kind: "range", id: "bandwidth", label: "link bandwidth", unit: "Gbit/s", min: 1, max: 400, step: 1,
    read: (s) => (s.link.bandwidth * 8) / 1e9,
    write: (doc, v) => doc.setIn(["link", "bandwidth"], `${v}Gbit/s`),
  },
  {
    kind: "range", id: "downtimeLimit", label: "downtime limit", unit: "ms", min: 10, max: 3000, step: 10,
    read: (s) => s.migration.downtimeLimit,
    write: (doc, v) => doc.setIn(["migration", "downtimeLimit"], `${v}ms`),
  },
  {
    kind: "range", id: "maxBandwidth", label: "max bandwidth (0 = unlimited)", unit: "MiB/s", min: 0, max: 12800, step: 64,
    read: (s) => s.migration.maxBandwidth / MiB,
    write: (doc, v) => doc.setIn(["migration", "maxBandwidth"], v === 0 ? 0 : `${v}MiB/s`),
  },
  {
    kind: "select", id: "strategy", label: "strategy", options: strategyKinds,
    read: (s) => s.devices[0].kind,
    write: (doc, v) => {
      const device = v === "vdpa" ? { kind: "vdpa", queuePairs: 8, pinning: "at-start", tracking: "svq" } : { kind: v };
      doc.setIn(["devices", 0], flow(doc, device));
      dropDeviceVariants(doc);
    },
  },
  deviceSelect("vdpa", "pinning", "vdpa pinning", ["at-start", "early"], "at-start"),
  // The device paths since 2023 (docs/model.md, "vf-tracked" and "vdpa"): each option a what-if.
  deviceSwitch("vf-tracked", "switchoverAck", "switchover-ack"),
  deviceSelect("vf-tracked", "deviceTiming", "VF device timing", ["assumed", "mlx5-cx7"], "assumed"),
  withMultifd(deviceSwitch("vf-tracked", "multifdDeviceState", "VF state over multifd")),
  deviceSwitch("vdpa", "parallelSuspend", "vdpa parallel suspend"),
  deviceSwitch("vdpa", "preCreateVqs", "vdpa pre-created VQs"),
  deviceSwitch("vdpa", "iterativeState", "vdpa iterative state", { neededBy: "earlyDriverOk" }),
  deviceSwitch("vdpa", "earlyDriverOk", "vdpa early DRIVER_OK", { needs: "iterativeState" }),
  {
    kind: "range", id: "multifd", label: "multifd channels (0 = off)", unit: "channels", min: 0, max: 16, step: 1,
    read: (s) => s.migration.multifd?.channels ?? 0,
    write: (doc, v) => setMode(doc, "multifd", v === 0 ? undefined : { channels: v }),
  },
  {
    kind: "range", id: "postcopy", label: "post-copy after passes (0 = off)", unit: "passes", min: 0, max: 10, step: 1,
    read: (s) => s.migration.postcopy?.after.passes ?? 0,
    write: (doc, v, s) => setMode(doc, "postcopy", v === 0 ? undefined : { after: { passes: v }, preempt: s.migration.postcopy?.preempt ?? false }),
  },
  {
    kind: "select", id: "preempt", label: "post-copy preempt", options: ["off", "on"],
    read: (s) => (s.migration.postcopy ? (s.migration.postcopy.preempt ? "on" : "off") : undefined),
    write: (doc, v, s) => {
      if (s.migration.postcopy) doc.setIn(["migration", "postcopy", "preempt"], v === "on");
    },
  },
  {
    kind: "select", id: "xbzrle", label: "xbzrle cache", options: ["off", ...xbzrleCacheSizes],
    read: (s) => {
      const size = s.migration.xbzrle?.cacheSize;
      if (size === undefined) return "off";
      return size >= GiB && size % GiB === 0 ? `${size / GiB}GiB` : `${size / MiB}MiB`;
    },
    write: (doc, v) => setMode(doc, "xbzrle", v === "off" ? undefined : { cacheSize: v }),
  },
  {
    kind: "range", id: "dirtyLimit", label: "dirty-limit per vCPU (0 = off)", unit: "MiB/s", min: 0, max: 1024, step: 4,
    read: (s) => (s.migration.dirtyLimit ?? 0) / MiB,
    write: (doc, v) => setMode(doc, "dirtyLimit", v === 0 ? undefined : `${v}MiB/s`),
  },
];

/** An option of the first device, offered only while that device is of `kind`. */
function deviceSelect(kind: string, option: string, label: string, options: string[], fallback: string): SelectControl {
  return {
    kind: "select", id: option, label, options,
    read: (s) => (s.devices[0].kind === kind ? String(s.devices[0].options[option] ?? fallback) : undefined),
    write: (doc, v, s) => {
      if (s.devices[0].kind === kind) doc.setIn(["devices", 0, option], v);
    },
  };
}

/**
 * A boolean option of the first device as off/on. `needs`: the option it cannot be on without
 * (turned on with it); `neededBy`: the option that cannot stay on without it (turned off with it).
 */
function deviceSwitch(kind: string, option: string, label: string, rule: { needs?: string; neededBy?: string } = {}): SelectControl {
  return {
    kind: "select", id: option, label, options: ["off", "on"],
    read: (s) => (s.devices[0].kind === kind ? (s.devices[0].options[option] === true ? "on" : "off") : undefined),
    write: (doc, v, s) => {
      if (s.devices[0].kind !== kind) return;
      const on = v === "on";
      doc.setIn(["devices", 0, option], on);
      if (on && rule.needs) doc.setIn(["devices", 0, rule.needs], true);
      if (!on && rule.neededBy && s.devices[0].options[rule.neededBy] === true) doc.setIn(["devices", 0, rule.neededBy], false);
    },
  };
}

/** An option that needs multifd turns multifd on (QEMU's default 2 channels) when it is off. */
function withMultifd(control: SelectControl): SelectControl {
  return {
    ...control,
    write: (doc, v, s) => {
      control.write(doc, v, s);
      if (v === "on" && s.devices[0].kind === "vf-tracked" && !s.migration.multifd) setMode(doc, "multifd", { channels: 2 });
    },
  };
}

/** Variants that set the first device's options would not fit a different device. */
function dropDeviceVariants(doc: Document) {
  const variants = doc.get("variants", true);
  if (!isSeq(variants)) return;
  variants.items = variants.items.filter((item) => {
    const set = (item as { toJSON?: () => unknown }).toJSON?.() as { set?: Record<string, unknown> } | undefined;
    return !Object.keys(set?.set ?? {}).some((path) => path.startsWith("devices."));
  });
  if (variants.items.length === 0) doc.delete("variants");
}

/** The scenario text with one control's value written into it. */
export function applyControl(yaml: string, control: Control, value: number | string, scenario: Scenario): string {
  const doc = parseDocument(yaml);
  if (control.kind === "range") control.write(doc, Number(value), scenario);
  else control.write(doc, String(value), scenario);
  // No folding: flow mappings stay on their one line.
  return doc.toString({ lineWidth: 0 });
}
