// `livemig analyze FILES...` and `livemig compare A B`: downtime figures from real runs
// (QEMU trace logs, ping and prober logs, query-migrate replies) and A/B tables. What they do
// is in analyze-commands.ts, loaded when one of them runs.

import type { Command } from "commander";
import { UsageError } from "./errors.js";

export interface MeasureOptions {
  json?: boolean;
  html?: string;
  clockOffset?: number;
  interval?: number;
}

function parseMs(flag: string, positive: boolean) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || (positive && n <= 0)) {
      throw new UsageError(`${flag}: expected ${positive ? "a positive" : "a"} number of milliseconds, got "${value}"`);
    }
    return n;
  };
}

export function registerMeasure(program: Command): void {
  program
    .command("analyze")
    .description("measure real migrations: downtime figures from QEMU trace logs, ping/prober logs and query-migrate replies")
    .argument("<files...>", "files, directories (one run per source/destination pair) or quoted globs")
    .option("--json", "print one JSON object: {runs, summary, notes, warnings}")
    .option("--html <file>", "also write an HTML report with plots to FILE")
    .option("--clock-offset <ms>", "how far the destination host's clock is ahead of the source's, in ms", parseMs("--clock-offset", false))
    .option("--interval <ms>", "the probing interval, in ms, for ping logs without -D", parseMs("--interval", true))
    .action(async (files: string[], opts: MeasureOptions) => (await import("./analyze-commands.js")).analyzeCommand(files, opts));

  program
    .command("compare")
    .description("compare two sets of runs (directories, files, quoted globs, or simulate --json outputs as FILE#VARIANT)")
    .argument("<a>", "the runs before (baseline)")
    .argument("<b>", "the runs after")
    .option("--json", "print one JSON object: {a, b, rows, unmatched}")
    .option("--html <file>", "also write an HTML report with plots to FILE")
    .option("--clock-offset <ms>", "how far the destination host's clock is ahead of the source's, in ms", parseMs("--clock-offset", false))
    .option("--interval <ms>", "the probing interval, in ms, for ping logs without -D", parseMs("--interval", true))
    .action(async (a: string, b: string, opts: MeasureOptions) => (await import("./analyze-commands.js")).compareCommand(a, b, opts));
}
