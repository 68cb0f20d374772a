// Validation of `evacuate` on real parts (issue 16): the live engine migrating N emulated guests
// at once from one network namespace to another over one tc-shaped veth (src/live/netns.ts),
// against `evacuate`'s prediction of the same drain (all N at once, one shared NIC each way).
// Compared: the drain (first migration start to last resume) and each guest's total-time.
// Needs root and iproute2. Run under `flock /tmp/livemig-measure.lock`; figures go in
// docs/validation.md.
//
//   node dist/bench/fleet-live.js [--guests 1,2,4] [--bandwidth 200Mbit/s] [--json FILE]

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { migrateManyAcrossNamespaces, netnsProblem } from "../src/live/netns.js";
import { loadFleet } from "../src/scenario/fleet.js";
import { evacuate } from "../src/sim/fleet.js";
import { summarize } from "../src/sim/fleet-summary.js";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const guestCounts = arg("--guests", "1,2,4").split(",").map(Number);
const bandwidth = arg("--bandwidth", "200Mbit/s");
const jsonFile = process.argv.includes("--json") ? arg("--json", "") : undefined;
const seed = 1;
const latency = "0.1ms";
// One guest: 128 MiB of its 192 MiB used, light writes (1000 pages/s, 4 MB/s, below a quarter
// of 200 Mbit/s, so four guests sharing the link still converge); at 200 Mbit/s the link, not
// the sender (0.5-1 Gbit/s on this machine, docs/live.md), binds even with four streams.
const vm = "{memory: 192MiB, used: 128MiB, vcpus: 2, workload: {kind: uniform, workingSet: 16MiB, rate: 1000}}";
// The same bound on both sides: `livemig run` has no orchestrator to cancel a migration, so the
// fleet's policy timeouts are off and both give up only at 300 s.
const migration = "{maxBandwidth: 0, giveUp: {time: 300s}}";
const devices = "[{kind: virtio}]";

/** Guest k as a scenario for `livemig run`: the fleet's VM k with the fleet's seed + k. */
const scenarioText = (k: number) => `name: g${k + 1}
seed: ${seed + k}
vm: ${vm}
link: {bandwidth: ${bandwidth}, latency: ${latency}}
migration: ${migration}
probe: {interval: 1ms}
devices: ${devices}
`;

/** The same guests as a fleet: all on host a, all at once to b, over NICs of the link's bandwidth. */
const fleetText = (n: number) => `name: live-${n}
seed: ${seed}
hosts: [{name: a, nic: ${bandwidth}}, {name: b, nic: ${bandwidth}}]
fabric: {bandwidth: ${bandwidth}, latency: ${latency}}
vms:
  - {name: g, host: a, count: ${n}, vm: ${vm}, devices: ${devices}}
evacuate: {from: [a], to: [b]}
migration: ${migration}
probe: {interval: 1ms}
policy: {preset: kubevirt, parallelMigrationsPerCluster: ${n}, parallelOutboundMigrationsPerNode: ${n}, completionTimeoutPerGiB: 0s, progressTimeout: 0s}
`;

const problem = netnsProblem();
if (problem) {
  process.stderr.write(`fleet-live: ${problem}\n`);
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), "livemig-fleet-live-"));
const out: unknown[] = [];
const pct = (measured: number, predicted: number) => `${(((measured - predicted) / predicted) * 100).toFixed(1)} %`;
try {
  for (const n of guestCounts) {
    const plan = loadFleet(fleetText(n), `live-${n}.yaml`)[0].plan;
    const predicted = await evacuate(plan);
    // Every run boots its guest and sets up its destination, then waits for the same moment to
    // start migrating (that set-up took 8-15 s at a load of 10, two guests, niced).
    const startAt = Date.now() + 12000 + 2000 * n;
    const files = Array.from({ length: n }, (_, k) => {
      const file = join(dir, `g${k + 1}.yaml`);
      writeFileSync(file, scenarioText(k));
      return { file, args: ["--json", "--start-at", String(startAt)] };
    });
    const load0 = loadavg();
    const t0 = new Date().toISOString();
    const live = await migrateManyAcrossNamespaces(files, { bandwidth: plan.hosts[0].nic, latencyMs: plan.fabric!.latencyMs }, 32 << 20);
    const load1 = loadavg();
    const results = live.runs.map((r, k) => {
      if (r.status !== 0 && r.status !== 1) throw new Error(`guest ${k + 1}: livemig run exited ${r.status}: ${r.stderr.trim()}`);
      return JSON.parse(r.stdout).runs[0].result as { status: string; "total-time": number; "started-at": number; downtime?: number; ram: { transferred: number } };
    });
    const first = Math.min(...results.map((r) => r["started-at"]));
    if (process.env.FLEET_LIVE_DEBUG) console.log("started-at - start-at (ms):", results.map((r) => (r["started-at"] - startAt).toFixed(0)).join(" "));
    const drain = Math.max(...results.map((r) => r["started-at"] + r["total-time"])) - first;
    const spread = Math.max(...results.map((r) => r["started-at"])) - first;
    const p = summarize(predicted);
    console.log(
      `${n} guest(s) at once over ${bandwidth} (${t0}, load ${load0.map((x) => x.toFixed(2)).join(" ")} -> ${load1.map((x) => x.toFixed(2)).join(" ")}; ` +
        `bulk TCP ${live.linkMbps?.toFixed(0)} Mbit/s, tc overlimits ${live.sourceQdisc.overlimits}, dropped ${live.sourceQdisc.dropped})`,
    );
    console.log(`  drain: measured ${(drain / 1000).toFixed(2)} s (starts spread over ${spread.toFixed(0)} ms), predicted ${(p["drain-time"] / 1000).toFixed(2)} s: ${pct(drain, p["drain-time"])}`);
    results.forEach((r, k) => {
      const q = predicted.vms[k].result;
      console.log(
        `  g${k + 1}: ${r.status}, total-time measured ${(r["total-time"] / 1000).toFixed(2)} s, predicted ${(q["total-time"] / 1000).toFixed(2)} s: ${pct(r["total-time"], q["total-time"])}; ` +
          `downtime ${r.downtime?.toFixed(0)} ms (predicted ${q.downtime?.toFixed(0)} ms); ${(r.ram.transferred / 2 ** 20).toFixed(1)} MiB sent (predicted ${(q.ram.transferred / 2 ** 20).toFixed(1)})`,
      );
    });
    out.push({ guests: n, bandwidth, at: t0, load: [load0, load1], linkMbps: live.linkMbps, qdisc: live.sourceQdisc, drain, spread, predicted: p, measured: results, predictedVms: predicted.vms.map((v) => v.result) });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(out) + "\n");
