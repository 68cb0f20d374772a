// The live engine's migration stream against the machine's own limit, in one run: raw TCP
// between two Node processes on loopback (bench/tcp-sink.ts), and the first pass of a live
// migration of a 1 GiB guest (768 MiB used, light writes, 100 Gbit/s link, no cap), which
// moves the used RAM once, to a destination whose RAM starts cold (QEMU's default) and to one
// that preallocated it (migration.destinationPrealloc, -mem-prealloc), the latter also with
// every page compared at switch-over (`run --verify all`: both sides hash every page beside
// the stream) instead of the NIC's pages only. Alternated, so all see the same load. Then what bounds the stream on this machine beyond TCP: node:crypto's GMAC
// (AES-256-GCM, no plaintext) over 1 MiB, the tag each Memory frame carries, and a copy into
// fresh memory (cold RAM: 4 KiB page faults). `npm run bench:live`; figures go in
// docs/benchmarks.md. Run under `flock /tmp/livemig-measure.lock`.
//
// `node dist/bench/live.js [ROUNDS] [--profile FILE]` also writes the live engine's machine
// profile for `run --predict --profile FILE`: this machine's first touch of a fresh page
// (fault in and zero, measured as the pinning thread does it, touchPages), so the prediction
// pins and receives at this machine's rate instead of a server's (docs/live.md).

import { spawn } from "node:child_process";
import { createCipheriv, randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { stringify } from "yaml";
import { measureFirstTouch } from "../src/live/first-touch.js";
import { fileURLToPath } from "node:url";
import { median } from "../src/measure/stats.js";
import { runLive } from "../src/live/migration.js";
import { loadScenario } from "../src/scenario/load.js";
import type { Scenario } from "../src/scenario/schema.js";

const rawBytes = 1 << 30;
const rounds = Number(process.argv[2] ?? 3);
const profileFile = process.argv[3] === "--profile" ? process.argv[4] : undefined;

const scenarioText = `
name: bench-live-1g
vm: {memory: 1GiB, used: 768MiB, vcpus: 2, workload: {kind: uniform, workingSet: 16MiB, rate: 2000}}
link: {bandwidth: 100Gbit/s, latency: 0.1ms}
migration: {maxBandwidth: 0}
probe: {interval: 1ms}
devices: [{kind: virtio}]
variants: [{name: prealloc, set: {migration.destinationPrealloc: true}}]
`;
const [coldScenario, preallocScenario] = loadScenario(scenarioText, "bench-live.yaml").map((r) => r.scenario);

/** Bytes/s of a 1 GiB transfer from this process to a sink process, writes of 1 MiB. */
async function rawTcp(): Promise<number> {
  const sink = spawn(process.execPath, [fileURLToPath(new URL("./tcp-sink.js", import.meta.url)), String(rawBytes)], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) => sink.stdout!.once("data", (d) => resolve(Number(String(d).trim()))));
  const socket = connect(port, "127.0.0.1");
  await new Promise((r) => socket.once("connect", r));
  const chunk = Buffer.alloc(1 << 20, 7);
  const done = new Promise((r) => socket.once("data", r));
  const t = performance.now();
  for (let sent = 0; sent < rawBytes; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise((r) => socket.once("drain", r));
  }
  await done;
  const elapsed = (performance.now() - t) / 1000;
  socket.destroy();
  await new Promise((r) => sink.once("exit", r));
  return rawBytes / elapsed;
}

/** Bytes/s of the first pass (stream bytes at QEMU's sizes, from the end of setup to the first sync after it). */
async function stream(scenario: Scenario, verifyAllPages = false): Promise<StreamRun> {
  const r = await runLive(scenario, { verifyAllPages });
  if (r.status !== "completed") throw new Error(`migration ${r.status}: ${r["error-desc"] ?? ""}`);
  const first = r.passes[1];
  return { rate: first.transferred / ((first.t - r["setup-time"]) / 1000), total: r["total-time"], downtime: r.downtime ?? NaN, preallocMs: r.destination?.["prealloc-ms"] };
}

interface StreamRun {
  rate: number;
  total: number;
  downtime: number;
  /** How long the destination took to fault its RAM in before the migration (prealloc only). */
  preallocMs?: number;
}

/** Bytes/s of GMAC over 1 MiB units (a cipher per unit, as each Memory frame's tag). */
function gmacRate(): number {
  const key = randomBytes(32);
  const iv = Buffer.alloc(12);
  const unit = randomBytes(1 << 20);
  const t = performance.now();
  for (let i = 0; i < 512; i++) {
    const gmac = createCipheriv("aes-256-gcm", key, iv);
    gmac.setAAD(unit);
    gmac.final();
    gmac.getAuthTag();
  }
  return (512 * unit.length) / ((performance.now() - t) / 1000);
}

/** Bytes/s of copying 512 MiB into fresh memory in 1 MiB pieces (every 4 KiB page faults on its first write). */
function coldCopyRate(): number {
  const unit = Buffer.alloc(1 << 20, 7);
  const ram = Buffer.from(new SharedArrayBuffer(512 << 20));
  const t = performance.now();
  for (let at = 0; at < ram.length; at += unit.length) ram.set(unit, at);
  return ram.length / ((performance.now() - t) / 1000);
}

const raw: number[] = [];
const modes = { cold: [] as StreamRun[], prealloc: [] as StreamRun[], "prealloc-verify-all": [] as StreamRun[] };
const load = [loadavg()[0]];
for (let i = 0; i < rounds; i++) {
  raw.push(await rawTcp());
  modes.cold.push(await stream(coldScenario));
  modes.prealloc.push(await stream(preallocScenario));
  modes["prealloc-verify-all"].push(await stream(preallocScenario, true));
  load.push(loadavg()[0]);
}
const gmac = [gmacRate(), gmacRate(), gmacRate()];
const cold = [coldCopyRate(), coldCopyRate(), coldCopyRate()];
// 512 MiB, as the pinning thread touches a guest's RAM: CPU time, which other jobs on the cores do not lengthen.
const touchPages512 = (512 << 20) / 4096;
const touch = [await measureFirstTouch(touchPages512), await measureFirstTouch(touchPages512), await measureFirstTouch(touchPages512)].map((t) => ({ cpu: t.cpuUs, wall: t.wallUs }));
const mb = (x: number) => (x / 1e6).toFixed(0);
console.log(`machine: ${cpus().length} x ${cpus()[0].model}, Node ${process.version}; load average (1 min) during: ${load.map((l) => l.toFixed(2)).join(" ")}`);
console.log(`raw TCP, loopback, 1 GiB:          ${raw.map(mb).join(", ")} MB/s (median ${mb(median(raw))})`);
for (const [mode, runs] of Object.entries(modes)) {
  const rates = runs.map((r) => r.rate);
  const what = {
    cold: "cold destination RAM (QEMU's default)",
    prealloc: "destinationPrealloc: true (-mem-prealloc)",
    "prealloc-verify-all": "the same, run --verify all (every page hashed on both sides)",
  }[mode];
  console.log(`stream, first pass, ${what}: ${rates.map(mb).join(", ")} MB/s (median ${mb(median(rates))}); / raw TCP (medians): ${(median(rates) / median(raw)).toFixed(2)}`);
  console.log(`  total-time ${runs.map((r) => r.total.toFixed(0)).join(", ")} ms; downtime ${runs.map((r) => r.downtime.toFixed(1)).join(", ")} ms${mode !== "cold" ? `; preallocation before the migration ${runs.map((r) => r.preallocMs?.toFixed(0)).join(", ")} ms` : ""}`);
}
console.log(`GMAC (AES-256-GCM), 1 MiB units:   ${gmac.map(mb).join(", ")} MB/s (median ${mb(median(gmac))}; paid once at each end)`);
console.log(`copy into fresh memory (cold RAM): ${cold.map(mb).join(", ")} MB/s (median ${mb(median(cold))}; the destination's apply)`);
const touchCpu = median(touch.map((x) => x.cpu));
console.log(
  `first touch of a fresh page (CPU): ${touch.map((x) => x.cpu.toFixed(2)).join(", ")} us (median ${touchCpu.toFixed(2)}; ${((touchCpu * 262144) / 1000).toFixed(0)} ms/GiB; wall ${touch.map((x) => x.wall.toFixed(2)).join(", ")} us)`,
);
if (profileFile) {
  const profile = {
    machine: `${cpus().length} x ${cpus()[0].model}, Node ${process.version}, load average ${load[load.length - 1].toFixed(2)}`,
    fittedFrom: ["bench/live.ts: touchPages over 512 MiB of fresh SharedArrayBuffer, CPU time, median of 3"],
    fitted: ["firstTouchUsPerPage"],
    firstTouchUsPerPage: Math.round(touchCpu * 1000) / 1000,
  };
  writeFileSync(profileFile, stringify(profile));
  console.log(`wrote ${profileFile}`);
}
