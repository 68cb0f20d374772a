// One QEMU process (TCG) running the test guest: its command line, its QMP monitor, its
// serial console and its log. Source and destination are two of these.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ConsoleFile } from "./console.js";
import type { GuestImage } from "./guest.js";
import { killAndWait, track } from "./processes.js";
import { QmpClient, type QmpGreeting } from "./qmp.js";

/** QEMU cannot be run at all (not installed, not executable): the user's to fix, exit 2. */
export class QemuMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QemuMissingError";
  }
}

/** QEMU or the guest failed at run time (exited, did not boot, a QMP error): exit 1. */
export class QemuRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QemuRunError";
  }
}

export interface GuestParams {
  memoryBytes: number;
  vcpus: number;
  workingSetBytes: number;
  /** Page writes per second over the working set. */
  rate: number;
  seed: number;
  /** How the writer picks pages, as the workload model of the same name (src/sim/workload.ts). */
  pattern: "uniform" | "scan" | "hotcold";
  /** hotcold: the hot share of the working set and of the writes, in whole percent. */
  hotPercent?: number;
  hotSharePercent?: number;
}

/** guest/writer.c's livemig.pattern numbers. */
const patternNumbers = { uniform: 0, scan: 1, hotcold: 2 } as const;

export interface VmOptions {
  binary: string;
  role: "source" | "destination";
  dir: string;
  image: GuestImage;
  guest: GuestParams;
  incoming?: boolean;
  /**
   * Fault in all guest RAM before the monitor answers (-mem-prealloc). For the destination:
   * the first touch of fresh host memory costs ~12 us per 4 KiB on this machine (a VM whose
   * memory its hypervisor backs lazily) against ~0.5 us once backed, so without it a
   * migration times the host's memory history (docs/validation.md).
   */
  prealloc?: boolean;
  /** QEMU trace event patterns to log into DIR/ROLE.trace. */
  traceEvents?: string[];
  /** Every QMP line, for --trace. */
  transcript?: (line: string) => void;
  /** Run QEMU inside this network namespace (`ip netns exec`; bench/fleet-qemu.ts's two hosts). Its QMP socket is a file: reachable from here. */
  netns?: string;
}

/** The QEMU binary: the one asked for (--qemu), else $LIVEMIG_QEMU, else qemu-system-x86_64 on the PATH; its version line. */
export function findQemu(asked?: string): { binary: string; version: string } {
  const binary = asked || process.env.LIVEMIG_QEMU || "qemu-system-x86_64";
  const probe = spawnSync(binary, ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    const why = (probe.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT" ? "not found" : (probe.error?.message ?? `exit ${probe.status}`);
    throw new QemuMissingError(`${binary}: ${why}; install QEMU (apt-get install qemu-system-x86) or name its path with --qemu or LIVEMIG_QEMU`);
  }
  return { binary, version: probe.stdout.split("\n")[0].trim() };
}

export function qemuArgs(o: VmOptions, paths: { qmp: string; console: string; log: string; trace: string }): string[] {
  const g = o.guest;
  const append = [
    "console=ttyS0",
    "quiet",
    "panic=0", // a panicking guest hangs and says so on the console: the health check sees it
    `livemig.ws=${g.workingSetBytes}`,
    `livemig.rate=${Math.round(g.rate)}`,
    `livemig.seed=${g.seed}`,
    `livemig.pattern=${patternNumbers[g.pattern]}`,
    ...(g.pattern === "hotcold" ? [`livemig.hotpct=${g.hotPercent}`, `livemig.hotshare=${g.hotSharePercent}`] : []),
  ].join(" ");
  const args = [
    "-accel", `tcg${process.env.LIVEMIG_TCG_OPTIONS ? `,${process.env.LIVEMIG_TCG_OPTIONS}` : ""}`, // KVM cannot boot a stock guest kernel on every machine this runs on
    "-machine", "pc",
    "-m", `${Math.round(g.memoryBytes / 2 ** 20)}M`,
    "-smp", String(g.vcpus),
    "-nodefaults", "-no-user-config", "-display", "none",
    // Threads named as QEMU knows them ("CPU 0/TCG", "live_migration"): per-thread CPU and
    // run-queue figures (/proc/PID/task/*/schedstat) can then be told apart.
    "-name", `${o.role},debug-threads=on`,
    "-kernel", o.image.kernel,
    "-initrd", o.image.initrd,
    "-append", append,
    "-serial", `file:${paths.console}`,
    "-qmp", `unix:${paths.qmp},server=on,wait=off`,
    // The scenario's virtio NIC; the guest has no driver for it loaded, so it only adds its state.
    "-device", "virtio-net-pci,mac=52:54:00:12:34:56",
  ];
  if (o.incoming) args.push("-incoming", "defer");
  if (o.prealloc) args.push("-mem-prealloc");
  if (o.traceEvents?.length) {
    args.push("-msg", "timestamp=on", "-D", paths.trace);
    for (const e of o.traceEvents) args.push("-trace", `enable=${e}`);
  }
  return args;
}

export class QemuVm {
  readonly console: ConsoleFile;
  readonly logPath: string;
  private exit: { code: number | null; signal: string | null } | undefined;

  private constructor(readonly role: VmOptions["role"], readonly child: ChildProcess, readonly qmp: QmpClient, readonly greeting: QmpGreeting, consolePath: string, logPath: string) {
    this.console = new ConsoleFile(consolePath);
    this.logPath = logPath;
    child.on("exit", (code, signal) => (this.exit = { code, signal }));
  }

  static async start(o: VmOptions): Promise<QemuVm> {
    const paths = {
      qmp: join(o.dir, `${o.role}.qmp`),
      console: join(o.dir, `${o.role}.console`),
      log: join(o.dir, `${o.role}.log`),
      trace: join(o.dir, `${o.role}.trace`),
    };
    const logFd = openSync(paths.log, "w");
    let child: ChildProcess;
    try {
      // `ip netns exec` execs QEMU in place: the pid and process group are QEMU's own.
      const [command, args] = o.netns ? ["ip", ["netns", "exec", o.netns, o.binary, ...qemuArgs(o, paths)]] : [o.binary, qemuArgs(o, paths)];
      child = spawn(command, args, { detached: true, stdio: ["ignore", logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    track(child);
    const spawnError = new Promise<never>((_, reject) => child.once("error", (e) => reject(new QemuMissingError(`${o.binary}: ${e.message}`))));
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code, signal) => reject(new QemuRunError(`${o.role} QEMU exited (${signal ?? `code ${code}`}) before its monitor answered: ${logTail(paths.log)}`))),
    );
    try {
      const transcript = o.transcript && ((dir: "in" | "out", line: string) => o.transcript?.(`${o.role} ${dir === "in" ? "<-" : "->"} ${line}`));
      const { client, greeting } = await Promise.race([QmpClient.connect(paths.qmp, { timeoutMs: monitorTimeoutMs(o), transcript }), spawnError, exited]);
      exited.catch(() => {}); // from here on, exits are noticed by `alive`
      return new QemuVm(o.role, child, client, greeting, paths.console, paths.log);
    } catch (e) {
      exited.catch(() => {});
      spawnError.catch(() => {});
      await killAndWait(child);
      throw e instanceof QemuMissingError || e instanceof QemuRunError ? e : new QemuRunError(`${o.role} QEMU: ${(e as Error).message}`);
    }
  }

  get alive(): boolean {
    return this.exit === undefined && this.child.exitCode === null;
  }

  /** Why the process is gone, with the end of its log. */
  deathNote(): string {
    const how = this.exit?.signal ?? `code ${this.exit?.code ?? this.child.exitCode}`;
    return `${this.role} QEMU exited (${how}): ${logTail(this.logPath)}`;
  }

  async stop(): Promise<void> {
    this.qmp.disconnect();
    await killAndWait(this.child);
  }
}

/** Preallocation happens before the monitor answers: ~12 us per fresh 4 KiB page here. */
function monitorTimeoutMs(o: VmOptions): number {
  return 20_000 + (o.prealloc ? (o.guest.memoryBytes / 2 ** 30) * 15_000 : 0);
}

export function logTail(path: string, lines = 3): string {
  try {
    const text = readFileSync(path, "utf8").trim();
    return text ? text.split("\n").slice(-lines).join(" | ") : "(its log is empty)";
  } catch {
    return "(no log)";
  }
}
