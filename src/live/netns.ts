// Two hosts on one machine: two network namespaces joined by a veth pair, the link shaped by
// tc (the scenario's bandwidth with tbf; its latency with netem where the kernel has it), with
// `livemig dest` in one and `livemig run --dest` in the other. Needs root and iproute2.
//
//   ┌─ namespace lm<pid>s: "source host" ────────┐       ┌─ namespace lm<pid>d: "destination host" ─┐
//   │ livemig run FILE --dest 10.77.0.2:4444     │ veth  │ livemig dest --listen 10.77.0.2:4444     │
//   │   guest, NIC, controller                   │◀═════▶│   guest (stopped until switch-over), NIC │
//   │   guest network: switch, prober, rx source │  tc   │                                           │
//   │ 10.77.0.1                                  │ both  │ 10.77.0.2                                 │
//   └────────────────────────────────────────────┘ ways  └───────────────────────────────────────────┘
//
// The guest network (switch, prober, receive traffic) stays on the source host, where the
// guest starts: the destination's NIC reaches the switch over the same shaped link, as a
// migrated VM's traffic reaches the rest of the network through its new host's uplink.
//
// Run as a script, it migrates a scenario across the two namespaces and always removes them
// (also on failure, SIGINT and SIGTERM); namespaces left by a run that was killed outright
// (their pid gone) are removed by the next one:
//
//   sudo node dist/src/live/netns.js SCENARIO [--json] [--predict] [--seed N]

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface LinkShape {
  /** Bytes per second (the scenario's link.bandwidth); Infinity: unshaped. */
  bandwidth: number;
  /** One-way delay in ms (the scenario's link.latency). */
  latencyMs: number;
}

export interface Host {
  ns: string;
  dev: string;
  address: string;
}

export interface LinkedHosts {
  source: Host;
  destination: Host;
  /** The tc rate (e.g. "1000000kbit"); how the latency is applied: netem, or not at all (the sender must). */
  shaping: { rate: string | undefined; latencyMs: number; latencyBy: "netem" | "sender" | "none" };
  /** A command inside one host's namespace. */
  spawn(host: Host, command: string, args: string[]): ChildProcess;
  /** What tc's root qdisc on a host's end of the link counted. */
  qdiscStats(host: Host): { sentBytes: number; overlimits: number; dropped: number };
  /** A bulk TCP transfer of `bytes` from source to destination: the link's throughput, Mbit/s. */
  measureThroughput(bytes: number): Promise<number>;
  /** Removes both namespaces (and with them the veth pair); safe to call more than once. */
  destroy(): void;
}

/** The two ends of measureThroughput, run with `node -e` inside each namespace. */
const sinkJs = `
const s = require("node:net").createServer((c) => {
  let n = 0, t0 = 0;
  c.on("data", (d) => { if (!t0) t0 = performance.now(); n += d.length; });
  c.on("end", () => { console.log(JSON.stringify({ bytes: n, ms: performance.now() - t0 })); s.close(); });
});
s.listen(Number(process.argv[2]), process.argv[1], () => console.log("ready"));`;
const blastJs = `
const c = require("node:net").connect(Number(process.argv[2]), process.argv[1], async () => {
  const chunk = Buffer.alloc(1 << 20, 1);
  for (let left = Number(process.argv[3]); left > 0; left -= chunk.length) if (!c.write(chunk)) await new Promise((r) => c.once("drain", r));
  c.end();
});`;

const prefix = "lm";
const subnet = "10.77.0";

/** Why two namespaces cannot be set up here, or undefined when they can. */
export function netnsProblem(): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "creating network namespaces and tc qdiscs needs root (CI runs as root; locally: sudo)";
  for (const tool of ["ip", "tc"]) {
    try {
      execFileSync(tool, ["-V"], { stdio: "ignore" });
    } catch {
      return `\`${tool}\` not found: install iproute2`;
    }
  }
  return undefined;
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")}: ${(err.stderr ?? err.message).trim()}`);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes namespaces that earlier runs left behind when they were killed outright. */
export function removeStaleNamespaces(): void {
  let list = "";
  try {
    list = run("ip", ["netns", "list"]);
  } catch {
    return;
  }
  for (const line of list.split("\n")) {
    const m = new RegExp(`^(${prefix}(\\d+)[sd])\\b`).exec(line.trim());
    if (m && Number(m[2]) !== process.pid && !pidAlive(Number(m[2]))) {
      try {
        run("ip", ["netns", "del", m[1]]);
      } catch {
        // gone meanwhile
      }
    }
  }
}

/** tc's rate for a bandwidth in bytes/s, in kbit (tc's k is 1000). */
export function tcRate(bytesPerSecond: number): string {
  return `${Math.max(8, Math.round((bytesPerSecond * 8) / 1000))}kbit`;
}

/**
 * Creates the two namespaces, the veth pair between them and the shaping on both ends.
 * On any failure what was made is removed before the error is thrown.
 */
export function createLinkedHosts(shape: LinkShape): LinkedHosts {
  const problem = netnsProblem();
  if (problem) throw new Error(problem);
  removeStaleNamespaces();
  const source: Host = { ns: `${prefix}${process.pid}s`, dev: `${prefix}${process.pid}s`, address: `${subnet}.1` };
  const destination: Host = { ns: `${prefix}${process.pid}d`, dev: `${prefix}${process.pid}d`, address: `${subnet}.2` };
  const made: string[] = [];
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    for (const ns of made.reverse()) {
      try {
        run("ip", ["netns", "del", ns]);
      } catch {
        // already gone
      }
    }
    process.off("exit", destroy);
  };
  process.on("exit", destroy); // last resort: an exit that skipped the caller's finally
  const shaping: LinkedHosts["shaping"] = {
    rate: Number.isFinite(shape.bandwidth) && shape.bandwidth > 0 ? tcRate(shape.bandwidth) : undefined,
    latencyMs: shape.latencyMs,
    latencyBy: shape.latencyMs > 0 ? "netem" : "none",
  };
  try {
    for (const h of [source, destination]) {
      run("ip", ["netns", "add", h.ns]);
      made.push(h.ns);
      run("ip", ["-n", h.ns, "link", "set", "lo", "up"]);
    }
    run("ip", ["link", "add", source.dev, "netns", source.ns, "type", "veth", "peer", "name", destination.dev, "netns", destination.ns]);
    for (const h of [source, destination]) {
      run("ip", ["-n", h.ns, "addr", "add", `${h.address}/24`, "dev", h.dev]);
      run("ip", ["-n", h.ns, "link", "set", h.dev, "up"]);
    }
    // Both directions: the migration stream one way, the guest network's frames both ways.
    for (const h of [source, destination]) {
      const tc = (...args: string[]) => run("ip", ["netns", "exec", h.ns, "tc", "qdisc", "add", "dev", h.dev, ...args]);
      if (shaping.rate) {
        // burst: a few GSO super-packets; limit: 20 ms of queue at the rate.
        tc("root", "handle", "1:", "tbf", "rate", shaping.rate, "burst", "256kb", "latency", "20ms");
      }
      if (shape.latencyMs > 0) {
        try {
          tc(...(shaping.rate ? ["parent", "1:1", "handle", "10:"] : ["root"]), "netem", "delay", `${shape.latencyMs}ms`, "limit", "100000");
        } catch (e) {
          if (!/unknown/i.test((e as Error).message)) throw e;
          shaping.latencyBy = "sender"; // this kernel has no sch_netem: the sender's delay line applies it
        }
      }
    }
  } catch (e) {
    destroy();
    throw e;
  }
  return {
    source,
    destination,
    shaping,
    spawn: (host, command, args) => spawn("ip", ["netns", "exec", host.ns, command, ...args], { stdio: ["ignore", "pipe", "pipe"] }),
    qdiscStats(host) {
      const out = run("ip", ["netns", "exec", host.ns, "tc", "-s", "qdisc", "show", "dev", host.dev]);
      const root = out.split(/\n(?=qdisc )/).find((q) => /^qdisc \S+ \S+ root/.test(q)) ?? out;
      const m = /Sent (\d+) bytes \d+ pkt \(dropped (\d+), overlimits (\d+)/.exec(root);
      return m ? { sentBytes: Number(m[1]), dropped: Number(m[2]), overlimits: Number(m[3]) } : { sentBytes: 0, dropped: 0, overlimits: 0 };
    },
    async measureThroughput(bytes) {
      const port = "4445";
      const sink = spawn("ip", ["netns", "exec", destination.ns, process.execPath, "-e", sinkJs, destination.address, port], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      const done = new Promise<string>((resolve, reject) => {
        sink.stdout!.on("data", (d) => (out += d));
        sink.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`link measurement: the receiver exited (${code})`))));
      });
      const timer = setTimeout(() => sink.kill(), 30_000);
      try {
        while (!out.includes("ready")) {
          if (sink.exitCode !== null) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        const blast = spawn("ip", ["netns", "exec", source.ns, process.execPath, "-e", blastJs, destination.address, port, String(bytes)], { stdio: "ignore" });
        await new Promise((resolve) => blast.once("exit", resolve));
        const m = JSON.parse((await done).split("\n").find((l) => l.startsWith("{"))!) as { bytes: number; ms: number };
        return (m.bytes * 8) / m.ms / 1000;
      } finally {
        clearTimeout(timer);
        if (sink.exitCode === null) sink.kill();
      }
    },
    destroy,
  };
}

export interface NetnsRun {
  /** livemig run's exit code, stdout and stderr. */
  status: number | null;
  stdout: string;
  stderr: string;
  /** livemig dest's log. */
  destLog: string;
  hosts: Pick<LinkedHosts, "source" | "destination" | "shaping">;
  /** tc's counters on the source's end of the link (the migration stream's direction). */
  sourceQdisc: { sentBytes: number; overlimits: number; dropped: number };
  /** The link's throughput measured by a bulk TCP transfer before the migration (Mbit/s). */
  linkMbps: number | undefined;
}

/** Several migrations at once over the one link: each its own `livemig run` and `livemig dest`. */
export interface NetnsRuns extends Omit<NetnsRun, "status" | "stdout" | "stderr" | "destLog"> {
  /** In the order of the files. */
  runs: Pick<NetnsRun, "status" | "stdout" | "stderr" | "destLog">[];
}

const mainJs = fileURLToPath(new URL("../cli/main.js", import.meta.url));
/** The first destination's port; the k-th listens on the next ones. */
const destPort = 4444;

/**
 * Migrates `file` from one namespace to the other: `livemig dest` in the destination's,
 * `livemig run --dest` in the source's, the link shaped to the scenario's. Always removes
 * the namespaces, and stops the processes it started, before it returns or throws.
 */
export async function migrateAcrossNamespaces(file: string, shape: LinkShape, runArgs: string[] = [], measureLinkBytes = 0): Promise<NetnsRun> {
  const { runs, ...rest } = await migrateManyAcrossNamespaces([{ file, args: runArgs }], shape, measureLinkBytes);
  return { ...runs[0], ...rest };
}

/**
 * Migrates every file at once from one namespace to the other over the one shaped link (an
 * evacuation of several guests): a `livemig dest` per file in the destination's namespace
 * (ports 4444, 4445, ...), then all the `livemig run --dest` in the source's, started together.
 * Always removes the namespaces, and stops the processes it started, before it returns or throws.
 */
export async function migrateManyAcrossNamespaces(migrations: { file: string; args: string[] }[], shape: LinkShape, measureLinkBytes = 0): Promise<NetnsRuns> {
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), "livemig-netns-"));
  let hosts: LinkedHosts | undefined;
  const stop = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
    hosts?.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    stop();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  // Before the namespaces exist: a signal while they are being made (a dozen `ip` and `tc`
  // runs, seconds on a loaded machine) waits for them and then removes them.
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const linked = createLinkedHosts(shape);
    hosts = linked;
    const linkMbps = measureLinkBytes > 0 ? await linked.measureThroughput(measureLinkBytes) : undefined;
    const secretFile = join(dir, "secret");
    writeFileSync(secretFile, randomBytes(32).toString("hex"), { mode: 0o600 });
    const dests = await Promise.all(migrations.map((_, k) => startDestination(linked, destPort + k, secretFile, children)));
    // The sender emulates what tc does not: the latency when this kernel has no netem.
    const emulate = linked.shaping.latencyBy === "sender" ? "latency" : "none";
    const runs = await Promise.all(
      migrations.map(async (m, k) => {
        const src = linked.spawn(linked.source, process.execPath, [
          mainJs, "run", m.file, "--dest", `${linked.destination.address}:${destPort + k}`, "--secret-file", secretFile, "--emulate-link", emulate, ...m.args,
        ]);
        children.push(src);
        let stdout = "";
        let stderr = "";
        src.stdout!.on("data", (d) => (stdout += d));
        src.stderr!.on("data", (d) => (stderr += d));
        const status = await new Promise<number | null>((resolve) => src.once("exit", (code) => resolve(code)));
        const timer = setTimeout(() => dests[k].process.kill(), 2000);
        await dests[k].exited;
        clearTimeout(timer);
        return { status, stdout, stderr, destLog: dests[k].log() };
      }),
    );
    const sourceQdisc = linked.qdiscStats(linked.source);
    return { runs, hosts: { source: linked.source, destination: linked.destination, shaping: linked.shaping }, sourceQdisc, linkMbps };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    stop();
  }
}

/** `livemig dest --once` on `port` in the destination's namespace, once it listens. */
async function startDestination(hosts: LinkedHosts, port: number, secretFile: string, children: ChildProcess[]) {
  const dest = hosts.spawn(hosts.destination, process.execPath, [mainJs, "dest", "--listen", `${hosts.destination.address}:${port}`, "--secret-file", secretFile, "--once"]);
  children.push(dest);
  let destLog = "";
  dest.stderr!.on("data", (d) => (destLog += d));
  const exited = new Promise<void>((resolve) => dest.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = "";
    dest.stdout!.on("data", (d) => {
      out += d;
      if (/listening on /.test(out)) resolve();
    });
    dest.once("exit", (code) => reject(new Error(`livemig dest exited (${code}) before listening: ${destLog.trim()}`)));
  });
  return { process: dest, exited, log: () => destLog };
}

/** Whether namespaces made by process `pid` still exist (tests check the teardown). */
export function namespacesOf(pid: number): string[] {
  return run("ip", ["netns", "list"])
    .split("\n")
    .map((l) => l.trim().split(/\s/)[0])
    .filter((n) => n === `${prefix}${pid}s` || n === `${prefix}${pid}d`);
}

async function main(argv: string[]): Promise<number> {
  const { readScenarioFile } = await import("../cli/simulate.js");
  const file = argv.find((a) => !a.startsWith("-"));
  if (!file) {
    process.stderr.write("usage: node dist/src/live/netns.js SCENARIO [livemig run options: --json, --predict, --seed N]\n");
    return 2;
  }
  const problem = netnsProblem();
  if (problem) {
    process.stderr.write(`livemig netns: ${problem}\n`);
    return 2;
  }
  let link: LinkShape;
  try {
    const scenario = (await readScenarioFile(file))[0].scenario;
    link = { bandwidth: scenario.link.bandwidth, latencyMs: scenario.link.latency };
  } catch (e) {
    process.stderr.write(`livemig: ${(e as Error).message}\n`);
    return 2;
  }
  const args = argv.filter((a) => a !== file);
  const r = await migrateAcrossNamespaces(file, link, args, 64 << 20);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  const s = r.hosts.shaping;
  process.stderr.write(
    `livemig netns: ${r.hosts.source.ns} (${r.hosts.source.address}) -> ${r.hosts.destination.ns} (${r.hosts.destination.address}): ` +
      `tbf ${s.rate ?? "unshaped"}, latency ${s.latencyMs} ms by ${s.latencyBy}; a bulk TCP transfer measured ${r.linkMbps?.toFixed(0)} Mbit/s; tc sent ${r.sourceQdisc.sentBytes} B, overlimits ${r.sourceQdisc.overlimits}, dropped ${r.sourceQdisc.dropped}\n`,
  );
  return r.status ?? 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: Error) => {
      process.stderr.write(`livemig netns: ${e.message}\n`);
      process.exitCode = 1;
    },
  );
}
