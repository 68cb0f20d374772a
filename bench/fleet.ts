// Fleet speed and memory (issue 16): 1,000 VMs on 20 hosts (50 each, 4-64 GiB, mixed
// workloads and NIC strategies), 10 hosts drained onto the other 10 under KubeVirt's defaults.
// Run with `npm run bench:fleet`; figures go in docs/benchmarks.md. Goal: <= 10 s wall, < 1 GiB RSS.

import { cpus } from "node:os";
import { loadFleet } from "../src/scenario/fleet.js";
import { evacuate } from "../src/sim/fleet.js";
import { summarize } from "../src/sim/fleet-summary.js";
import { Random } from "../src/sim/random.js";

const sizes = [4, 8, 16, 32, 64]; // GiB
const workloads = [
  "{kind: idle}",
  "{kind: uniform, workingSet: 256MiB, rate: 5000}",
  "{kind: hotcold, workingSet: 1GiB, rate: 20000}",
  "{kind: zipf, workingSet: 2GiB, rate: 50000}",
];
const devices = ["{kind: virtio}", "{kind: vf-tracked}", "{kind: vf-failover}", "{kind: vdpa, pinning: early}", "{kind: vf-enlightened}"];

/** 20 hosts x 50 VMs, in groups of 5 alike VMs, drawn with a fixed seed. */
function fleetYaml(policy: string): string {
  const random = new Random(16);
  const pick = <T>(xs: T[]) => xs[random.below(xs.length)];
  const lines = ["name: bench-fleet", "seed: 1", "hosts:"];
  for (let h = 0; h < 20; h++) lines.push(`  - {name: h${h}, nic: 25Gbit/s}`);
  lines.push("fabric: {bandwidth: 400Gbit/s, latency: 0.05ms}", "vms:");
  for (let h = 0; h < 20; h++) {
    for (let g = 0; g < 10; g++) {
      const gib = pick(sizes);
      lines.push(`  - {name: h${h}g${g}, host: h${h}, count: 5, vm: {memory: ${gib}GiB, used: ${gib / 2}GiB, workload: ${pick(workloads)}}, devices: [${pick(devices)}]}`);
    }
  }
  const half = Array.from({ length: 10 }, (_, i) => `h${i}`);
  const rest = Array.from({ length: 10 }, (_, i) => `h${i + 10}`);
  lines.push(`evacuate: {from: [${half.join(", ")}], to: [${rest.join(", ")}]}`, `policy: ${policy}`);
  return lines.join("\n") + "\n";
}

console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, node ${process.version}`);
for (const [label, policy] of [
  ["kubevirt defaults (5 per cluster, 2 per node)", "{preset: kubevirt}"],
  ["kubevirt, 20 per cluster, 2 per node", "{preset: kubevirt, parallelMigrationsPerCluster: 20}"],
] as const) {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const plan = loadFleet(fleetYaml(policy), "bench-fleet.yaml")[0].plan;
  const run = await evacuate(plan);
  const wall = (performance.now() - t0) / 1000;
  // CPU seconds of the process (every thread): what other jobs on a busy machine move least.
  const cpuUsed = process.cpuUsage(cpu0);
  const cpu = (cpuUsed.user + cpuUsed.system) / 1e6;
  const s = summarize(run);
  const peak = process.resourceUsage().maxRSS / 1024; // KiB -> MiB
  console.log(
    `${label}: ${run.vms.length} VMs migrated (${s.completed} completed, ${s.failed} failed), drain ${(s["drain-time"] / 1000).toFixed(0)} s simulated ` +
      `in ${wall.toFixed(2)} s wall (${cpu.toFixed(2)} s CPU), peak RSS ${peak.toFixed(0)} MiB`,
  );
}
