// What the live engine can honour of a scenario. A field it cannot is an error naming it:
// a live run must not quietly measure something other than what the file says.

import type { Scenario } from "../scenario/schema.js";
import { maxGuestPages } from "./guest-config.js";
import { bufferBytes, maxVcpus, minPages, pageSize } from "./guest/layout.js";

export const liveStrategies = ["virtio", "vf-enlightened", "vf-tracked", "vf-failover", "vdpa"];
/** Page writes per second the vCPU threads sustain on a small machine. */
export const maxWriteRate = 2_000_000;
/** Receive frames per second the traffic thread and the NIC sustain. */
export const maxRxRate = 50_000;

/** One line per field the live engine cannot honour; empty when it can run the scenario. */
export function liveProblems(s: Scenario, where = ""): string[] {
  const out: string[] = [];
  const field = (path: string, message: string) => out.push(`${path}: ${message}${where}`);
  const { vm } = s;
  if (vm.pageSize !== pageSize) field("vm.pageSize", `the live engine runs 4KiB pages, got ${vm.pageSize} B`);
  const pages = Math.floor(vm.memory / pageSize);
  if (pages > maxGuestPages) field("vm.memory", `the live engine holds guest RAM in this machine's memory (twice, on loopback): at most 4GiB`);
  if (pages < minPages) field("vm.memory", `the live engine needs at least ${(minPages * pageSize) / 2 ** 20} MiB of guest RAM`);
  if (vm.vcpus > maxVcpus) field("vm.vcpus", `the live engine runs at most ${maxVcpus} vCPU threads`);
  const w = vm.workload;
  if (w.kind !== "idle" && w.rate > maxWriteRate) field("vm.workload.rate", `the live vCPUs write at most ${maxWriteRate} pages/s`);
  if (w.rx) {
    if (w.rx.rate > maxRxRate) field("vm.workload.rx.rate", `the live NIC receives at most ${maxRxRate / 1000}kpps`);
    if (w.rx.size > bufferBytes || w.rx.size < 64) field("vm.workload.rx.size", `the live NIC's receive buffers take frames of 64 B to ${bufferBytes} B`);
  }
  // Post-copy runs the guest before its RAM is there, which the live destination (it verifies,
  // then resumes) does not do: it is not built live (docs/live.md).
  if (s.migration.postcopy) field("migration.postcopy", "the live destination resumes the guest only with all of its RAM: post-copy is simulated only");
  if (s.probe && s.probe.interval < 1) field("probe.interval", "the live prober pings at most every 1ms (timer resolution)");
  if (s.devices.length !== 1) field("devices", `the live engine drives one NIC, got ${s.devices.length}`);
  s.devices.forEach((d, i) => {
    if (!liveStrategies.includes(d.kind)) {
      field(`devices.${i}.kind`, `the live engine runs ${liveStrategies.join(", ")}; "${d.kind}" is simulated only`);
    }
    if (d.kind === "vf-tracked" && (d.options as { multifdDeviceState?: boolean }).multifdDeviceState) {
      field(`devices.${i}.multifdDeviceState`, "the live engine sends the NIC's state on the main connection, not over the multifd channels; simulated only");
    }
    if (d.kind === "vdpa" && "pinningMsPerGiB" in d.costs) {
      field(`devices.${i}.pinningMsPerGiB`, "the live engine pins for real (it touches every page); a modelled pinning cost cannot be honoured");
    }
  });
  return out;
}
