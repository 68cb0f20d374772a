// 10,000 mutated scenarios and 10,000 mutated measurement files through the entries the CLI
// uses (in-process), then a sample of each through real `livemig` processes. Reports
// uncaught exceptions, inputs that took over 2 s, and whether every rejection is one line
// (in-process) and one `livemig: ...` line with exit 2 (processes).
// Run with `npm run fuzz` (a few minutes; not part of npm test). Figures: docs/benchmarks.md.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { checkMeasurement, checkScenario, oneLine, type Outcome } from "./input-check.js";
import { measureLines, measureValues, mutants, scenarioLines, scenarioValues } from "./mutate.js";
import { measureSeeds, root, scenarioSeeds } from "./seeds.js";
import { simulate } from "../src/sim/simulate.js";

const count = Number(process.env.FUZZ_COUNT ?? 10_000);
const processSample = Number(process.env.FUZZ_PROCESSES ?? 150);
const slowMs = 2000;
const dir = mkdtempSync(join(tmpdir(), "livemig-fuzz-"));

interface Tally {
  accepted: number;
  rejected: number;
  multiLine: number;
  crashed: { input: number; error: string }[];
  slow: { input: number; ms: number }[];
  maxMs: number;
}

async function inProcess<T>(label: string, inputs: string[], check: (text: string) => Promise<Outcome<T>>): Promise<Tally> {
  const t: Tally = { accepted: 0, rejected: 0, multiLine: 0, crashed: [], slow: [], maxMs: 0 };
  for (const [i, text] of inputs.entries()) {
    const start = performance.now();
    const outcome = await check(text);
    const ms = performance.now() - start;
    t.maxMs = Math.max(t.maxMs, ms);
    if (ms > slowMs) t.slow.push({ input: i, ms: Math.round(ms) });
    if (outcome.kind === "accepted") t.accepted++;
    else if (outcome.kind === "rejected") {
      t.rejected++;
      if (!oneLine(outcome.message)) t.multiLine++;
    } else t.crashed.push({ input: i, error: String(outcome.error).slice(0, 200) });
  }
  process.stdout.write(
    `${label}: ${inputs.length} inputs in process: ${t.accepted} accepted, ${t.rejected} rejected (${t.multiLine} not one line), ` +
      `${t.crashed.length} uncaught exceptions, ${t.slow.length} over ${slowMs / 1000} s (slowest ${t.maxMs.toFixed(0)} ms)\n`,
  );
  for (const c of t.crashed.slice(0, 5)) process.stdout.write(`  crashed #${c.input}: ${c.error}\n`);
  for (const s of t.slow.slice(0, 5)) process.stdout.write(`  slow #${s.input}: ${s.ms} ms\n`);
  return t;
}

interface ProcessOutcome {
  code: number | null;
  stderr: string;
  ms: number;
  killed: boolean;
}

function livemig(args: string[]): Promise<ProcessOutcome> {
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(process.execPath, [join(root, "dist/cli/main.js"), ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let killed = false;
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: performance.now() - start, killed });
    });
  });
}

async function throughProcesses(label: string, files: string[], command: string, baselineMs: number): Promise<void> {
  const outcomes: ProcessOutcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < files.length) outcomes.push(await livemig([command, files[next++]]));
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(2, cpus().length)) }, worker));
  const codes = new Map<string, number>();
  for (const o of outcomes) codes.set(String(o.code), (codes.get(String(o.code)) ?? 0) + 1);
  const rejected = outcomes.filter((o) => o.code === 2);
  const good = rejected.filter((o) => /^livemig: [^\n]+\n$/.test(o.stderr));
  const stacks = outcomes.filter((o) => /\n\s+at /.test(o.stderr));
  const slow = outcomes.filter((o) => o.ms - baselineMs > slowMs);
  process.stdout.write(
    `${label}: ${outcomes.length} through livemig ${command}: exit codes ${[...codes].map(([c, n]) => `${c}: ${n}`).join(", ")}; ` +
      `${good.length} of ${rejected.length} exit-2 rejections one livemig: line; ${stacks.length} stack traces; ` +
      `${slow.length} over ${slowMs / 1000} s beyond start-up; ${outcomes.filter((o) => o.killed).length} killed at 60 s\n`,
  );
  for (const o of [...rejected.filter((r) => !good.includes(r)), ...stacks].slice(0, 5)) process.stdout.write(`  bad ending: ${JSON.stringify(o.stderr.slice(0, 300))}\n`);
  for (const o of slow.slice(0, 5)) process.stdout.write(`  slow: ${o.ms.toFixed(0)} ms (exit ${o.code})\n`);
}

async function main(): Promise<void> {
  process.stdout.write(`input fuzz: ${count} scenario and ${count} measurement mutants (fast-check seed 14); ${cpus()[0]?.model ?? "?"}\n`);
  const scenarios = fc.sample(mutants(scenarioSeeds, scenarioValues, scenarioLines), { numRuns: count, seed: 14 });
  const measurements = fc.sample(mutants(measureSeeds, measureValues, measureLines), { numRuns: count, seed: 14 });

  // A scenario that loads is simulated, every run, as `livemig simulate` would.
  await inProcess("scenarios (loaded and simulated)", scenarios, async (text) => {
    const outcome = checkScenario(text, "mutant.yaml");
    if (outcome.kind !== "accepted") return outcome;
    try {
      for (const run of outcome.value) await simulate(run.scenario);
    } catch (e) {
      return { kind: "crashed", error: e };
    }
    return outcome;
  });
  const measureFile = join(dir, "mutant.log");
  await inProcess("measurements", measurements, async (text) => {
    writeFileSync(measureFile, text);
    return checkMeasurement(measureFile);
  });

  const baseline = await livemig(["--help"]);
  const sample = (texts: string[], ext: string) =>
    texts.slice(0, processSample).map((text, i) => {
      const file = join(dir, `sample-${i}.${ext}`);
      writeFileSync(file, text);
      return file;
    });
  await throughProcesses("scenarios", sample(scenarios, "yaml"), "simulate", baseline.ms);
  await throughProcesses("measurements", sample(measurements, "log"), "analyze", baseline.ms);
  process.stdout.write(`(start-up of livemig --help: ${baseline.ms.toFixed(0)} ms, subtracted before the 2 s test)\n`);
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
