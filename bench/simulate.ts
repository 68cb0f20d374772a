// Simulator speed and memory: simulated seconds per wall second and peak RSS.
// Run with `npm run bench`; figures go in README.md and docs/benchmarks.md.

import { cpus } from "node:os";
import { loadScenario } from "../src/scenario/load.js";
import { simulate } from "../src/sim/simulate.js";

const cases: [string, string][] = [
  ["4 GiB, uniform 60k pages/s over 512 MiB, auto-converge", `
name: bench-4g
vm: {memory: 4GiB, used: 1GiB, workload: {kind: uniform, workingSet: 512MiB, rate: 60000}}
link: {bandwidth: 10Gbit/s}
migration: {autoConverge: true, giveUp: {passes: 60, time: 600s}}
`],
  ["128 GiB idle (16 GiB used), QEMU's default 128 MiB/s cap", `
name: bench-128g-idle-capped
vm: {memory: 128GiB, used: 16GiB, workload: {kind: idle}}
link: {bandwidth: 25Gbit/s}
`],
  ["128 GiB idle (16 GiB used), unlimited over 25 Gbit/s", `
name: bench-128g-idle
vm: {memory: 128GiB, used: 16GiB, workload: {kind: idle}}
link: {bandwidth: 25Gbit/s}
migration: {maxBandwidth: 0}
`],
  ["128 GiB, uniform 200k pages/s over 32 GiB (gives up at 300 s)", `
name: bench-128g-busy
vm: {memory: 128GiB, workload: {kind: uniform, workingSet: 32GiB, rate: 200000}}
link: {bandwidth: 25Gbit/s}
migration: {giveUp: {passes: 30, time: 300s}}
`],
  // Issue 16's single-VM worst case: the same guest, nothing capping the stream, 100 Gbit/s.
  ["128 GiB, uniform 200k pages/s over 32 GiB, unlimited over 100 Gbit/s", `
name: bench-128g-busy-unlimited
vm: {memory: 128GiB, workload: {kind: uniform, workingSet: 32GiB, rate: 200000}}
link: {bandwidth: 100Gbit/s}
migration: {maxBandwidth: 0}
`],
  ["1 TiB (64 GiB used), uniform 50k pages/s over 8 GiB, unlimited over 100 Gbit/s", `
name: bench-1t
vm: {memory: 1TiB, used: 64GiB, workload: {kind: uniform, workingSet: 8GiB, rate: 50000}}
link: {bandwidth: 100Gbit/s}
migration: {maxBandwidth: 0}
`],
  // Issue 14: no giveUp and a write rate far above what any link carries; they ran without end before.
  ["64 GiB written at 1e9 pages/s, no giveUp (ends at the default bound)", `
name: bench-64g-1e9
vm: {memory: 64GiB, workload: {kind: uniform, workingSet: 64GiB, rate: 1e9}}
link: {bandwidth: 10Gbit/s}
`],
  ["4 TiB written at 1e9 pages/s over 1 bit/s, no giveUp (ends at the default bound)", `
name: bench-4t-1bit
vm: {memory: 4TiB, workload: {kind: uniform, workingSet: 4TiB, rate: 1e9}}
link: {bandwidth: 1bit/s}
`],
];

// Loading: a scenario with 2,000 variants (issue 14: 14 s when each variant cloned the document).
{
  let yaml = "name: many\nvm: {memory: 4GiB, workload: {kind: uniform, workingSet: 1GiB, rate: 1}}\nlink: {bandwidth: 10Gbit/s}\nvariants:\n";
  for (let i = 0; i < 2000; i++) yaml += `  - {name: v${i}, set: {migration.maxBandwidth: ${i + 1}MiB/s, vm.workload.rate: ${i}}}\n`;
  const t0 = performance.now();
  const runs = loadScenario(yaml, "many.yaml");
  console.log(`loading ${runs.length - 1} variants (${(yaml.length / 1024).toFixed(0)} KiB): ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}

let peakRss = 0;
const sample = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, node ${process.version}`);
for (const [label, yaml] of cases) {
  peakRss = process.memoryUsage().rss;
  const scenario = loadScenario(yaml, label)[0].scenario;
  const t0 = performance.now();
  const r = await simulate(scenario);
  const wall = (performance.now() - t0) / 1000;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const simulated = r["total-time"] / 1000;
  console.log(
    `${label}: ${r.status}, ${simulated.toFixed(1)} s simulated in ${wall.toFixed(2)} s wall = ${(simulated / wall).toFixed(0)}x real time, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
  );
}
clearInterval(sample);
