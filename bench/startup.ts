// Start-up cost of the livemig command against a bare `node -e 0`, in the same run: each
// command is started N times, interleaved round by round so that a change in the machine's
// load hits all three alike; the medians and their ratios to bare node are printed.
// Run with `npm run bench:startup` (under `flock /tmp/livemig-measure.lock` on a shared
// machine); figures go in docs/benchmarks.md. Goals (issue 15): --help <= 2.5x, a 4 GiB
// simulate <= 3x bare node.
// BEFORE=path/to/an/older/main.js adds that build's two cases to the same run. INSTRUCTIONS=1
// also counts the instructions each case executes, once, under valgrind's cachegrind: a figure
// that other jobs on the machine do not move, as they move wall times.

import { spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const cli = join(root, "dist", "cli", "main.js");
const rounds = Number(process.env.ROUNDS ?? 21);
const before = process.env.BEFORE;

const cases: { name: string; args: string[]; goal?: number }[] = [
  { name: "node -e 0", args: ["-e", "0"] },
  { name: "livemig --help", args: [cli, "--help"], goal: 2.5 },
  { name: "livemig simulate bench/startup-4g.yaml", args: [cli, "simulate", join(root, "bench", "startup-4g.yaml")], goal: 3 },
  ...(before
    ? [
        { name: `${before} --help`, args: [before, "--help"] },
        { name: `${before} simulate bench/startup-4g.yaml`, args: [before, "simulate", join(root, "bench", "startup-4g.yaml")] },
      ]
    : []),
];

function timeOnce(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const load = loadavg().map((x) => x.toFixed(2)).join(" ");
const times = cases.map(() => [] as number[]);
for (const c of cases) timeOnce(c.args); // warm the file cache
for (let round = 0; round < rounds; round++) cases.forEach((c, i) => times[i].push(timeOnce(c.args)));

const bare = median(times[0]);
console.log(`${cpus().length} x ${cpus()[0]?.model.trim()}, Node ${process.version}, ${rounds} rounds, load average before: ${load}, after: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
console.log("| command | median | min | ratio to bare node | goal |");
console.log("|---|---|---|---|---|");
let met = true;
cases.forEach((c, i) => {
  const m = median(times[i]);
  const ratio = m / bare;
  if (c.goal !== undefined && ratio > c.goal) met = false;
  console.log(`| \`${c.name}\` | ${m.toFixed(0)} ms | ${Math.min(...times[i]).toFixed(0)} ms | ${ratio.toFixed(2)}x | ${c.goal !== undefined ? `<= ${c.goal}x${ratio <= c.goal ? " met" : " NOT met"}` : ""} |`);
});

/** Instructions executed by one run (cachegrind's "I refs"), all threads. */
function instructions(args: string[]): number {
  const r = spawnSync("valgrind", ["--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", process.execPath, ...args], { encoding: "utf8" });
  const refs = /I\s+refs:\s+([\d,]+)/.exec(r.stderr);
  if (!refs) throw new Error(`valgrind ${args.join(" ")}: ${r.error?.message ?? r.stderr.slice(-500)}`);
  return Number(refs[1].replaceAll(",", ""));
}

if (process.env.INSTRUCTIONS) {
  const counts = cases.map((c) => instructions(c.args));
  console.log("\n| command | instructions (cachegrind) | ratio to bare node |\n|---|---|---|");
  cases.forEach((c, i) => console.log(`| \`${c.name}\` | ${(counts[i] / 1e6).toFixed(0)} M | ${(counts[i] / counts[0]).toFixed(2)}x |`));
}
process.exitCode = met ? 0 : 1;
