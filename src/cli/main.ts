// The livemig command (bundled as dist/cli/livemig.cjs, which dist/cli/main.js, src/cli/start.ts, runs).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { UsageError, exitCodes } from "./errors.js";
import { projectRoot } from "../project-root.js";
import { readScenarioFile, registerSimulate, report, runSimulations } from "./simulate.js";
import { registerMeasure } from "./analyze.js";
import { registerRun } from "./run.js";
import { registerQemu } from "./qemu.js";
import { registerServe } from "./serve.js";
import { registerEvacuate } from "./evacuate.js";

// A reader that goes away (`livemig ... | head`) ends the command quietly, not with a stack trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
  throw e;
});

const root = projectRoot();

const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };

const program = new Command("livemig")
  .description("predict, run and measure live migration of VMs with passed-through NICs")
  .version(version, "-V, --version", "print livemig's version")
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
registerEvacuate(program);

program
  .command("demo")
  .description(
    "the built-in demo (scenarios/demo.yaml): a 4 GiB guest writing 60k pages/s behind a virtio NIC, migrated with QEMU's defaults " +
      "(gives up: it never converges at 128 MiB/s), without the bandwidth cap, and with auto-converge; exits 0 although its base run fails",
  )
  .option("--json", "print JSON instead of tables")
  .action(async (opts: { json?: boolean }) => {
    const runs = await readScenarioFile(join(root, "scenarios", "demo.yaml"));
    const results = await runSimulations(runs);
    // The demo shows a failing run on purpose (the give-up rule); that is not an error of the
    // demo, so it exits 0 where `livemig simulate scenarios/demo.yaml` exits 1, and says so.
    if ((await report(runs[0].scenario.name, results, !!opts.json)) !== exitCodes.ok) {
      process.stderr.write("livemig demo: the base run fails on purpose (the give-up rule); the demo exits 0, `livemig simulate scenarios/demo.yaml` exits 1\n");
    }
  });

// A function, not top-level await: the bundle is a CommonJS script (start.ts).
async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : exitCodes.badInput;
    } else if (e instanceof UsageError || e instanceof (await import("../scenario/load.js")).ScenarioError) {
      // A line per problem (a scenario may have several), each saying it is livemig's.
      for (const line of e.message.split("\n")) process.stderr.write(`livemig: ${line}\n`);
      process.exitCode = exitCodes.badInput;
    } else {
      throw e;
    }
  }
}

// An unexpected error rejects it: Node prints it and exits 1, as it did for a top-level await.
void main();
