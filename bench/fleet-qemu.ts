// Validation of `evacuate` on real QEMU (issue 16): N small TCG guests migrated at once from
// one network namespace to another over one tc-shaped veth (src/live/netns.ts's two hosts:
// the source QEMUs in one namespace, the destinations, `-incoming tcp:10.77.0.2:PORT`, in the
// other), against `evacuate --profile`'s prediction of the same drain (the same guests over
// one NIC each way, the machine profile of this host). Compared: the drain (first `migrate` to
// the last completion) and each guest's total-time (and start), all from QMP's query-migrate.
//
// First, once, the same guests (not writing) over an unshaped veth, N at once: their rate
// there shows whether the host's two cores or the link bind the shaped runs, and their RAM
// sent is the guests' non-zero memory (`vm.used` of the prediction, as src/qemu/validate.ts
// takes it from idle runs). Needs root, iproute2 and QEMU. Run under
// `flock /tmp/livemig-measure.lock`; figures go in docs/validation.md.
//
//   node dist/bench/fleet-qemu.js [--guests 2,3] [--repeat 2] [--bandwidth 150Mbit/s]
//     [--parallel P] [--cap 40Mbit/s] [--memory 256MiB] [--working-set 64MiB] [--rate 0] [--profile scenarios/qemu-profile.yaml] [--json FILE]
//
// --parallel P: P migrations at a time (KubeVirt's per-node slots, in the fleet too); each
// next guest starts when QEMU reports one over. Default: all N at once.

import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { createLinkedHosts, netnsProblem, type LinkShape } from "../src/live/netns.js";
import { median } from "../src/measure/stats.js";
import { ensureGuest } from "../src/qemu/guest.js";
import { runMigration, type QemuRun } from "../src/qemu/migration.js";
import { planFor } from "../src/qemu/plan.js";
import { achievedRate } from "../src/qemu/predict.js";
import { readProfile } from "../src/qemu/profile.js";
import { findQemu } from "../src/qemu/vm.js";
import { loadFleet } from "../src/scenario/fleet.js";
import { loadScenario } from "../src/scenario/load.js";
import { evacuate, type FleetRun } from "../src/sim/fleet.js";
import { summarize } from "../src/sim/fleet-summary.js";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const guestCounts = arg("--guests", "2,3").split(",").map(Number);
/** Migrations at once (the policy's per-node slots); default: all the guests. */
const parallelArg = process.argv.includes("--parallel") ? Number(arg("--parallel", "")) : undefined;
const repeat = Number(arg("--repeat", "2"));
const bandwidth = arg("--bandwidth", "150Mbit/s");
const memory = arg("--memory", "256MiB");
const workingSet = arg("--working-set", "64MiB");
const rate = Number(arg("--rate", "0"));
/** Each migration's max-bandwidth (QEMU's cap; KubeVirt's bandwidthPerMigration in the fleet); 0: none. */
const cap = arg("--cap", "0");
const profileFile = arg("--profile", "scenarios/qemu-profile.yaml");
const jsonFile = process.argv.includes("--json") ? arg("--json", "") : undefined;
const seed = 1;
// As the shipped profile was fitted: destinations with -mem-prealloc, no cap (unless --cap), QEMU's 300 ms.
// No orchestrator cancels a real run here, so both sides give up only at 120 s.
const migration = `{downtimeLimit: 300ms, maxBandwidth: ${cap}, destinationPrealloc: true, giveUp: {time: 120s}}`;
const vmOf = (writes: number, used?: number) =>
  `{memory: ${memory}, ${used !== undefined ? `used: ${Math.round(used)}B, ` : ""}vcpus: 1, workload: {kind: uniform, workingSet: ${workingSet}, rate: ${writes}}}`;

/** Guest k as `livemig qemu` would run it (the fleet's VM k, seed + k). */
const guestScenario = (k: number, writes: number) =>
  loadScenario(`name: g${k + 1}\nseed: ${seed + k}\nvm: ${vmOf(writes)}\nlink: {bandwidth: ${bandwidth}}\nmigration: ${migration}\n`, `g${k + 1}.yaml`)[0].scenario;

/** The same guests as a fleet: all on host a, `parallel` at a time to b, over NICs of `nic`, each VM with its own write rate. */
const fleetText = (nic: string, used: number, rates: number[], parallel = rates.length) => `name: qemu-${rates.length}
seed: ${seed}
hosts: [{name: a, nic: ${nic}}, {name: b, nic: ${nic}}]
vms:
${rates.map((r, k) => `  - {name: g${k + 1}, host: a, vm: ${vmOf(r, used)}}`).join("\n")}
evacuate: {from: [a], to: [b]}
migration: ${migration}
policy: {preset: kubevirt, parallelMigrationsPerCluster: ${parallel}, parallelOutboundMigrationsPerNode: ${parallel}, bandwidthPerMigration: ${cap}, completionTimeoutPerGiB: 0s, progressTimeout: 0s}
`;

const problem = netnsProblem();
if (problem) {
  process.stderr.write(`fleet-qemu: ${problem}\n`);
  process.exit(2);
}
const qemu = findQemu();
const image = ensureGuest();
const profile = readProfile(profileFile);
const linkBandwidth = loadFleet(fleetText(bandwidth, 0, [0]), "link.yaml")[0].plan.hosts[0].nic;

interface Drain {
  guests: number;
  shaped: boolean;
  at: string;
  load: number[][];
  linkMbps: number;
  qdisc: { sentBytes: number; overlimits: number; dropped: number };
  runs: QemuRun[];
  /** ms from the first `migrate` to the last completion. */
  drain: number;
  /** Each guest's `migrate`, ms after the first. */
  starts: number[];
  parallel: number;
}

/**
 * N guests booted in their namespaces, then migrated `parallel` at a time in their order, as
 * the orchestrator's per-node slots would: the first ones together once every guest is up,
 * each next one as soon as QEMU reports a migration over (each run waits at its `migrate`).
 */
async function measureDrain(n: number, shape: LinkShape, writes: number, parallel = n): Promise<Drain> {
  const hosts = createLinkedHosts(shape);
  try {
    const linkMbps = await hosts.measureThroughput(32 << 20);
    const gates = Array.from({ length: n }, () => {
      let open!: () => void;
      let abandon!: (e: Error) => void;
      const opened = new Promise<void>((resolve, reject) => ((open = resolve), (abandon = reject)));
      opened.catch(() => {});
      return { opened, open, abandon };
    });
    let arrived = 0;
    let next = 0;
    const startNext = () => {
      if (next < n) gates[next++].open();
    };
    let load0: number[] = [];
    let at = "";
    const runs = Promise.all(
      Array.from({ length: n }, (_, k) =>
        runMigration({
          binary: qemu.binary,
          image,
          plan: planFor(guestScenario(k, writes), `g${k + 1}`),
          hosts: { sourceNs: hosts.source.ns, destinationNs: hosts.destination.ns, address: hosts.destination.address, port: 5000 + k },
          beforeMigrate: () => {
            if (++arrived === n) {
              load0 = loadavg();
              at = new Date().toISOString();
              for (let i = 0; i < parallel; i++) startNext();
            }
            return gates[k].opened;
          },
          afterMigrate: startNext,
        }).catch((e: Error) => {
          for (const g of gates) g.abandon(e); // the others stop waiting and shut their QEMUs down
          throw e;
        }),
      ),
    );
    const done = await runs;
    const load1 = loadavg();
    const first = Math.min(...done.map((r) => r.startedAt));
    return {
      guests: n, parallel, shaped: Number.isFinite(shape.bandwidth), at, load: [load0, load1], linkMbps, qdisc: hosts.qdiscStats(hosts.source), runs: done,
      drain: Math.max(...done.map((r) => r.startedAt + r.result["total-time"])) - first,
      starts: done.map((r) => r.startedAt - first),
    };
  } finally {
    hosts.destroy();
  }
}

const mbit = (bytes: number, ms: number) => (bytes * 8) / ms / 1000;
const pct = (measured: number, predicted: number) => `${measured >= predicted ? "+" : ""}${(((measured - predicted) / predicted) * 100).toFixed(1)} %`;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const loads = (d: Drain) => d.load.map((l) => l.map((x) => x.toFixed(2)).join(" ")).join(" -> ");
const out: unknown[] = [];

// The reference: the most guests at once, not writing, over the unshaped veth.
const most = Math.max(...guestCounts);
const ref = await measureDrain(most, { bandwidth: Infinity, latencyMs: 0 }, 0);
const used = median(ref.runs.map((r) => r.result.ram.normal * 4096));
console.log(`unshaped: ${most} guests at once (${ref.at}, load ${loads(ref)}; bulk TCP ${ref.linkMbps.toFixed(0)} Mbit/s): drain ${s(ref.drain)}`);
ref.runs.forEach((r, k) =>
  console.log(`  g${k + 1}: ${r.result.status}, ${s(r.result["total-time"])}, ${(r.result.ram.transferred / 2 ** 20).toFixed(1)} MiB sent at ${mbit(r.result.ram.transferred, r.result["total-time"]).toFixed(0)} Mbit/s, ${r.result.ram.normal} normal pages, downtime ${r.result.downtime?.toFixed(0)} ms`),
);
console.log(`  vm.used of the prediction: ${(used / 2 ** 20).toFixed(1)} MiB (the median non-zero RAM sent)`);
out.push({ reference: true, ...ref, used });

for (const n of guestCounts) {
  for (let rep = 1; rep <= repeat; rep++) {
    const parallel = Math.min(n, parallelArg ?? n);
    const d = await measureDrain(n, { bandwidth: linkBandwidth, latencyMs: 0 }, rate, parallel);
    // The prediction: the guests as they wrote (a TCG guest may write slower than asked).
    const rates = d.runs.map((r) => achievedRate([r]));
    const predictOver = async (nic: string): Promise<FleetRun> => evacuate({ ...loadFleet(fleetText(nic, used, rates, parallel), "qemu.yaml")[0].plan, profile });
    const predicted = await predictOver(bandwidth);
    // Beside it, the NIC at what one bulk TCP stream got through the same tbf just before.
    const atGoodput = await predictOver(`${d.linkMbps.toFixed(1)}Mbit/s`);
    const p = summarize(predicted);
    const g = summarize(atGoodput);
    // Guest k is the fleet's VM g<k+1>, wherever the drain lists it.
    const byGuest = (run: FleetRun) => d.runs.map((_, k) => run.vms.find((v) => v.vm === `g${k + 1}`)!);
    const [pv, gv] = [byGuest(predicted), byGuest(atGoodput)];
    console.log(
      `${n} guests, ${parallel} at a time, over ${bandwidth}, run ${rep}/${repeat} (${d.at}, load ${loads(d)}; bulk TCP ${d.linkMbps.toFixed(0)} Mbit/s, tc overlimits ${d.qdisc.overlimits}, dropped ${d.qdisc.dropped})`,
    );
    console.log(`  drain: measured ${s(d.drain)} (starts at ${d.starts.map((t) => s(t)).join(", ")}; predicted ${pv.map((v) => s(v.start)).join(", ")}), predicted ${s(p["drain-time"])}: ${pct(d.drain, p["drain-time"])}; at the bulk TCP rate ${s(g["drain-time"])}: ${pct(d.drain, g["drain-time"])}`);
    d.runs.forEach((r, k) => {
      const q = pv[k].result;
      const qg = gv[k].result;
      console.log(
        `  g${k + 1}: ${r.result.status}${r.guest.healthy ? ", healthy" : ", UNHEALTHY"} (${r.guest["heartbeats-after"]} heartbeats, ${r.guest["verified-pages-after"]} pages verified after), ` +
          `total-time ${s(r.result["total-time"])}, predicted ${s(q["total-time"])}: ${pct(r.result["total-time"], q["total-time"])} (at the TCP rate ${pct(r.result["total-time"], qg["total-time"])}); ` +
          `downtime ${r.result.downtime?.toFixed(0)} ms (predicted ${q.downtime?.toFixed(0)}); ${(r.result.ram.transferred / 2 ** 20).toFixed(1)} MiB sent (predicted ${(q.ram.transferred / 2 ** 20).toFixed(1)}), ` +
          `${r.result.ram["dirty-sync-count"]} syncs (predicted ${q.ram["dirty-sync-count"]}), ${rates[k]} writes/s`,
      );
    });
    out.push({ ...d, rep, rates, predicted: p, predictedAtGoodput: g, predictedVms: pv.map((v) => v.result), predictedStarts: pv.map((v) => v.start), predictedVmsAtGoodput: gv.map((v) => v.result) });
  }
}
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(out) + "\n");
