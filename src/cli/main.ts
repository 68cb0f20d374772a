#!/usr/bin/env node
// The livemig command.

import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { Command, CommanderError } from "commander";
import { ScenarioError } from "../scenario/load.js";
import { UsageError, exitCodes } from "./errors.js";
import { readScenarioFile, registerSimulate, report, runSimulations } from "./simulate.js";
import { registerMeasure } from "./analyze.js";
import { registerRun } from "./run.js";
import { registerQemu } from "./qemu.js";
import { registerServe } from "./serve.js";

// A reader that goes away (`livemig ... | head`) ends the command quietly, not with a stack trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
  throw e;
});

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

const program = new Command("livemig")
  .description("predict, run and measure live migration of VMs with passed-through NICs")
  .exitOverride()
  .configureOutput({
    writeErr: (s) => process.stderr.write(s),
    // Commander's own argument errors read like every other bad input: one `livemig: ...` line.
    outputError: (s, write) => write(`livemig: ${s.replace(/^error: /, "").trim().replace(/\s*\n\s*/g, " ")}\n`),
  });

registerSimulate(program);
registerMeasure(program);
registerRun(program);
registerQemu(program);
registerServe(program);

program
  .command("demo")
  .description("the built-in demo: a busy 4 GiB guest, virtio against the passthrough strategies")
  .option("--json", "print JSON instead of tables")
  .action(async (opts: { json?: boolean }) => {
    const runs = readScenarioFile(join(root, "scenarios", "demo.yaml"));
    const results = await runSimulations(runs);
    // The demo shows a failing run on purpose (the give-up rule); that is not an error of the demo.
    report(runs[0].scenario.name, results, !!opts.json);
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : exitCodes.badInput;
  } else if (e instanceof UsageError || e instanceof ScenarioError) {
    process.stderr.write(`livemig: ${e.message}\n`);
    process.exitCode = exitCodes.badInput;
  } else {
    throw e;
  }
}
