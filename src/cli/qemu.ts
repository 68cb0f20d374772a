// `livemig qemu SCENARIO`: real QEMU migrations of a test guest (TCG), measured like any
// query-migrate reply; and `livemig calibrate RUNS... -o profile.yaml`: a machine profile
// fitted from the idle ones, for `livemig simulate --profile`. What they do is in
// qemu-commands.ts, loaded when one of them runs.

import type { Command } from "commander";
import { UsageError } from "./errors.js";

export interface QemuOptions {
  runs: number;
  json?: boolean;
  predict?: boolean;
  profile?: string;
  trace?: string;
  html?: string;
  qemu?: string;
}

function parseRuns(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UsageError(`--runs: expected an integer from 1 to 1000, got "${value}"`);
  return n;
}

export function registerQemu(program: Command): void {
  program
    .command("qemu")
    .description("run real QEMU migrations (TCG) of a test guest configured by a scenario, and measure them")
    .argument("<scenario>", "scenario file: vm (memory, vcpus, idle or uniform workload), migration parameters; virtio only")
    .option("--runs <n>", "back-to-back runs per variant", parseRuns, 1)
    .option("--json", "print one JSON object: {scenario, qemu, runs: [{variant, run, scenario, result, guest}], predictions}")
    .option("--predict", "print the simulator's prediction beside, at the write rate the guest achieved")
    .option("--profile <file>", "machine profile for --predict (from livemig calibrate)")
    .option("--html <file>", "also write an HTML report with plots to FILE (with --predict: each run beside its prediction)")
    .option("--qemu <path>", "the QEMU binary to run (default $LIVEMIG_QEMU, else qemu-system-x86_64 on the PATH)")
    .option("--trace <dir>", "keep each run's consoles, QEMU logs and traces, QMP transcript and query-migrate replies in DIR")
    .action(async (scenarioFile: string, opts: QemuOptions) => (await import("./qemu-commands.js")).qemuCommand(scenarioFile, opts));

  program
    .command("calibrate")
    .description("fit a machine profile (page read rate, stream throughput, setup and switch-over costs) from idle livemig qemu --json runs")
    .argument("<runs...>", "files written by livemig qemu --json")
    .requiredOption("-o, --output <file>", "the profile to write (YAML)")
    .action(async (files: string[], opts: { output: string }) => (await import("./qemu-commands.js")).calibrateCommand(files, opts));
}
