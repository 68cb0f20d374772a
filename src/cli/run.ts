// `livemig run FILE`: the scenario migrated for real (src/live/), optionally beside the
// simulator's prediction; and `livemig dest`: the destination side for `run --dest`.

import { readFileSync } from "node:fs";
import { Option, type Command } from "commander";
import type { MigrationResult } from "../core/result.js";
import { listenDestination } from "../live/destination.js";
import { runLive, type LinkEmulation } from "../live/migration.js";
import { liveProblems } from "../live/support.js";
import { ScenarioError } from "../scenario/load.js";
import { simulate } from "../sim/simulate.js";
import { breakdownTable, changeLine, resultTable, type NamedResult } from "../report/table.js";
import { UsageError, exitCodeOf } from "./errors.js";
import { parseSeed, readScenarioFile, report } from "./simulate.js";

interface Address {
  host: string;
  port: number;
}

function parseAddress(option: string, allowAnyPort: boolean) {
  return (value: string): Address => {
    const m = /^(.+):(\d+)$/.exec(value);
    const port = m ? Number(m[2]) : NaN;
    if (!m || !(port >= (allowAnyPort ? 0 : 1) && port <= 65535)) throw new UsageError(`${option}: expected HOST:PORT, got "${value}"`);
    return { host: m[1].replace(/^\[(.*)\]$/, "$1"), port };
  };
}

/** Both commands take the shared secret the same way: a file of text, trimmed, at least 8 characters. */
const secretFileHelp = "file holding the secret shared by source and destination (text, trimmed, at least 8 characters)";

function readSecretFile(file: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`--secret-file ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const secret = Buffer.from(text.trim(), "utf8");
  if (secret.length < 8) throw new UsageError(`--secret-file ${file}: expected a shared secret of at least 8 characters`);
  return secret;
}

/** Both commands take the peer deadline the same way. */
const peerTimeoutHelp = "seconds of silence from the peer (or of waiting for its answer) after which the migration fails (default 8)";

function parsePeerTimeout(value: string): number {
  const s = Number(value);
  if (!(s >= 0.1 && s <= 3600)) throw new UsageError(`--peer-timeout: expected seconds between 0.1 and 3600, got "${value}"`);
  return s * 1000;
}

interface RunOptions {
  json?: boolean;
  predict?: boolean;
  dest?: Address;
  secretFile?: string;
  seed?: number;
  protocolVersion?: number;
  emulateLink: LinkEmulation;
  peerTimeout?: number;
}

const linkEmulations: LinkEmulation[] = ["both", "bandwidth", "latency", "none"];

function parseEmulation(value: string): LinkEmulation {
  if (!(linkEmulations as string[]).includes(value)) throw new UsageError(`--emulate-link: expected one of ${linkEmulations.join(", ")}, got "${value}"`);
  return value as LinkEmulation;
}

export function registerRun(program: Command): void {
  program
    .command("run")
    .description("migrate the scenario's guest for real: source, destination, switch and prober (loopback unless --dest)")
    .argument("<file>", "scenario file (YAML or JSON), as simulate takes it")
    .option("--json", "print one JSON object: {scenario, runs: [{variant, result}]} (and predicted with --predict)")
    .option("--predict", "also simulate the scenario and print measured and predicted side by side")
    .option("--dest <host:port>", "a destination started with `livemig dest` (needs --secret-file)", parseAddress("--dest", false))
    .option("--secret-file <file>", `with --dest: ${secretFileHelp}`)
    .option(
      "--emulate-link <which>",
      "which of the scenario's link.bandwidth and link.latency the sender emulates: both, bandwidth, latency, none (when the network between the hosts is the link, e.g. tc-shaped)",
      parseEmulation,
      "both",
    )
    .option("--seed <n>", "seed for the workload (overrides the file's)", parseSeed)
    .option("--peer-timeout <s>", peerTimeoutHelp, parsePeerTimeout)
    .addOption(new Option("--protocol-version <n>", "speak another protocol version (tests the refusal)").argParser(Number).hideHelp())
    .action(async (file: string, opts: RunOptions) => {
      const runs = readScenarioFile(file);
      const problems = runs.flatMap((r) => liveProblems(r.scenario, r.variant === "base" ? "" : ` (variant "${r.variant}")`));
      if (problems.length > 0) throw new ScenarioError([...new Set(problems)].map((p) => `${file}: ${p}`));
      if (opts.dest && !opts.secretFile) throw new UsageError("--dest: needs --secret-file FILE, the secret the destination was started with");
      if (!opts.dest && opts.secretFile) throw new UsageError("--secret-file: only with --dest (a loopback run starts its own destination with a fresh secret)");
      const secret = opts.secretFile ? readSecretFile(opts.secretFile) : undefined;
      const tty = process.stderr.isTTY;
      const measured: NamedResult[] = [];
      const predicted: NamedResult[] = [];
      for (const r of runs) {
        const label = `${r.scenario.name} / ${r.variant}`;
        if (tty) process.stderr.write(`running ${label} live ...`);
        const result = await runLive(r.scenario, {
          dest: opts.dest,
          secret,
          seed: opts.seed,
          protocolVersion: opts.protocolVersion,
          emulateLink: opts.emulateLink,
          peerTimeoutMs: opts.peerTimeout,
          onProgress: tty
            ? (p) => process.stderr.write(`\r\x1b[Krunning ${label} live: pass ${p.pass}, ${(p.remainingBytes / 2 ** 20).toFixed(1)} MiB remaining, ${(p.bandwidth / 2 ** 20).toFixed(0)} MiB/s`)
            : undefined,
        });
        if (tty) process.stderr.write("\r\x1b[K");
        measured.push({ variant: r.variant, result });
        if (opts.predict) predicted.push({ variant: r.variant, result: await simulate(r.scenario, { seed: opts.seed }) });
      }
      const name = runs[0].scenario.name;
      process.exitCode = opts.predict ? reportSideBySide(name, measured, predicted, !!opts.json) : report(name, measured, !!opts.json);
    });

  program
    .command("dest")
    .description("the destination of `livemig run --dest`: receives migrations and runs the guest")
    .requiredOption("--listen <host:port>", "address to listen on (port 0: any free port)", parseAddress("--listen", true))
    .option("--secret-file <file>", secretFileHelp)
    .option("--once", "exit after the first source")
    .option("--peer-timeout <s>", peerTimeoutHelp, parsePeerTimeout)
    .action(async (opts: { listen: Address; secretFile?: string; once?: boolean; peerTimeout?: number }) => {
      if (!opts.secretFile) throw new UsageError("--secret-file: needs FILE, the secret the source will give to `livemig run --dest`");
      const secret = readSecretFile(opts.secretFile);
      let dest;
      try {
        dest = await listenDestination({ ...opts.listen, secret, once: opts.once, peerTimeoutMs: opts.peerTimeout, log: (line) => process.stderr.write(`livemig dest: ${line}\n`) });
      } catch (e) {
        throw new UsageError(`--listen ${opts.listen.host}:${opts.listen.port}: cannot listen (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      process.stdout.write(`listening on ${dest.address.host}:${dest.address.port}\n`);
      await dest.closed;
    });
}

/** Measured and predicted, row by row; returns the exit code of the measured runs. */
function reportSideBySide(name: string, measured: NamedResult[], predicted: NamedResult[], json: boolean): number {
  if (json) {
    const runs = measured.map((m, i) => ({ variant: m.variant, result: m.result, predicted: predicted[i].result }));
    process.stdout.write(JSON.stringify({ scenario: name, runs }) + "\n");
  } else {
    const rows = measured.flatMap((m, i) => [
      { variant: `${m.variant} measured`, result: m.result },
      { variant: `${m.variant} predicted`, result: predicted[i].result },
    ]);
    process.stdout.write(`scenario ${name}\n${resultTable(rows)}\n`);
    const breakdown = breakdownTable(rows);
    if (breakdown) process.stdout.write(`${breakdown}\n`);
    measured.forEach((m, i) => {
      const p = predicted[i].result;
      for (const key of ["downtime", "guest-visible-downtime", "service-downtime", "total-time"] as const) {
        const a = p[key];
        const b = m.result[key];
        if (a !== undefined && b !== undefined) process.stdout.write(`${m.variant} predicted -> measured: ${changeLine(key, a, b)}\n`);
      }
      for (const w of m.result.warnings) process.stdout.write(`${m.variant}: ${w}\n`);
    });
  }
  return exitCodeOf(name, measured.map((m) => ({ variant: m.variant, result: m.result })));
}
