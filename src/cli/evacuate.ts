// `livemig evacuate FILE`: drain hosts, every run of a fleet file. Only commander's types are
// loaded at start-up; the fleet modules when the command runs (bench/startup.ts).

import type { Command } from "commander";
import { UsageError } from "./errors.js";

export function registerEvacuate(program: Command): void {
  program
    .command("evacuate")
    .description("predict a host drain: many migrations over shared links under an orchestrator's policy (every run of a fleet file)")
    .argument("<file>", "fleet file (YAML or JSON); - reads it from standard input")
    .option("--json", 'print one JSON object: {fleet, runs: [{variant, summary, vms: [{vm, from, to, start, end, result}]}]}')
    .option("--html <file>", "also write an HTML report: per run a Gantt chart (downtime windows marked), link utilisation, the downtime distribution")
    .option("--plan", "also search every ordering and concurrency within the policy's limits for the shortest drain in which every VM completes")
    .option("--profile <file>", "machine profile (from livemig calibrate) every migration runs with, as simulate --profile")
    .option("--cpu-wait <share>", "with --profile: the hosts' migration threads wait this share of the run for a CPU, as simulate --cpu-wait")
    .action(async (file: string, opts: { json?: boolean; html?: string; plan?: boolean; profile?: string; cpuWait?: string }) => {
      if (!file) throw new UsageError("evacuate: expected a fleet file");
      const { runEvacuate } = await import("./evacuate-run.js");
      process.exitCode = await runEvacuate(file, opts);
    });
}
