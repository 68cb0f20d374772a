// One real migration: boot the source guest, start the destination with -incoming defer,
// set the scenario's parameters over QMP, migrate over loopback TCP, poll query-migrate every
// 50 ms, give up as the scenario says, then check the destination guest is alive and intact.

import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { formatBytes } from "../core/format.js";
import type { MigrationResult } from "../core/result.js";
import { downtime } from "../measure/definitions.js";
import { queryMigrateReply, toResult, type QueryMigrateReply } from "../measure/query-migrate.js";
import { parseTrace } from "../measure/trace.js";
import type { Heartbeat } from "./console.js";
import type { GuestImage } from "./guest.js";
import { checkHealth, type Health } from "./health.js";
import type { QemuModes, QemuPlan } from "./plan.js";
import { QemuRunError, QemuVm } from "./vm.js";
import { ThreadClock, threadTimesBetween, type ThreadTime } from "./thread-times.js";

/** guestperf's polling interval (reference §13). */
const pollMs = 50;
/** How often the QEMU threads' CPU and run-queue wait are read: the migration thread's last ~20 ms may be missed. */
const threadSampleMs = 20;
/** While QEMU is still setting up: it goes active within a few ms. */
const setupPollMs = 2;
/** A migration without a give-up rule still ends: this is far beyond any sensible run here. */
const safetyLimitMs = 600_000;
/** QEMU trace events worth keeping with --trace (those livemig analyze reads, and the passes). */
const traceEvents = ["migrate_set_state", "migrate_pending", "migrate_transferred", "migration_bitmap_sync_*", "migration_completion_*", "migration_thread_*", "savevm_state_*", "vmstate_downtime_*"];
/** Always traced: the checkpoints that time the guest's pause (a few lines a run). */
const pauseEvents = ["vmstate_downtime_checkpoint"];

export interface GuestReport {
  /** Page writes per second the scenario asked for. */
  "target-rate": number;
  /** What the guest achieved in the second before the migration started. */
  "rate-before": number;
  /** What it achieved on the source while the migration ran (throttling included). */
  "rate-during": number;
  /** Heartbeats and pages verified on the destination after the switch-over. */
  "heartbeats-after": number;
  "verified-pages-after": number;
  healthy: boolean;
}

/** One query-migrate poll while the migration was active: what calibration fits per interval. */
export interface Sample {
  /** total-time, ms. */
  t: number;
  transferred: number;
  /** Zero pages sent so far (query-migrate's `duplicate`). */
  duplicate: number;
  normal: number;
  sync: number;
}

export interface QemuRun {
  result: MigrationResult;
  guest: GuestReport;
  /** The polls of the active phase, every ~50 ms. */
  samples: Sample[];
  /** When `migrate` was sent (epoch ms): where several runs at once line up on one clock. */
  startedAt: number;
  /** Whether the destination's RAM was faulted in before the migration (-mem-prealloc). */
  destinationPrealloc: boolean;
  /** The run's files (consoles, logs, QMP transcript, replies), when kept. */
  dir?: string;
  /** The host while the migration ran: the 1-minute load average at its start, and each QEMU thread's CPU and run-queue wait. */
  host: { "load-average": number; threads: ThreadTime[] };
}

export interface MigrationRunOptions {
  binary: string;
  image: GuestImage;
  plan: QemuPlan;
  /** Keep the run's files here, with QEMU traces enabled. */
  traceDir?: string;
  bootTimeoutMs?: number;
  healthTimeoutMs?: number;
  onStatus?: (line: string) => void;
  /**
   * Two hosts instead of loopback (bench/fleet-qemu.ts): the source QEMU in one network
   * namespace, the destination in another, listening on `address:port` there.
   */
  hosts?: { sourceNs: string; destinationNs: string; address: string; port: number };
  /** Awaited with both QEMUs ready, just before `migrate`: several runs then start together. */
  beforeMigrate?: () => Promise<void>;
  /** Called as soon as QEMU reports the migration over (before the health check): an orchestrator's slot frees there. */
  afterMigrate?: () => void;
}

export async function runMigration(o: MigrationRunOptions): Promise<QemuRun> {
  const dir = o.traceDir ?? mkdtempSync(join(tmpdir(), "livemig-qemu-"));
  mkdirSync(dir, { recursive: true });
  const transcriptPath = join(dir, "qmp.log");
  const transcript = o.traceDir ? (line: string) => appendFileSync(transcriptPath, `${Date.now()} ${line}\n`) : undefined;
  const vmOptions = { binary: o.binary, dir, image: o.image, guest: o.plan.guest, transcript, traceEvents: o.traceDir ? traceEvents : pauseEvents };
  const vms: QemuVm[] = [];
  let run: QemuRun | undefined;
  try {
    o.onStatus?.("booting the source guest");
    const source = await QemuVm.start({ ...vmOptions, role: "source", ...(o.hosts ? { netns: o.hosts.sourceNs } : {}) });
    vms.push(source);
    await waitForWarmGuest(source, o.bootTimeoutMs ?? bootTimeout(o.plan));
    const before = source.console.lastHeartbeat();

    // The scenario's migration.destinationPrealloc (see VmOptions.prealloc).
    const prealloc = o.plan.migration.destinationPrealloc;
    const destination = await QemuVm.start({ ...vmOptions, role: "destination", incoming: true, prealloc, ...(o.hosts ? { netns: o.hosts.destinationNs } : {}) });
    vms.push(destination);
    const uri = o.hosts ? `tcp:${o.hosts.address}:${o.hosts.port}` : `tcp:127.0.0.1:${await freePort()}`;
    // The destination must have the modes' capabilities before it listens.
    await configureDestination(destination, o.plan.migration.modes);
    await destination.qmp.execute("migrate-incoming", { uri });
    await configure(source, o.plan);
    await o.beforeMigrate?.();
    const startedAt = Date.now();

    o.onStatus?.("migrating");
    const loadAverage = loadavg()[0];
    const clocks = [new ThreadClock("source", source.child.pid), new ThreadClock("destination", destination.child.pid)];
    const sampling = setInterval(() => clocks.forEach((c) => c.sample()), threadSampleMs);
    const polled = await migrateAndPoll(source, destination, uri, o.plan, o.onStatus).finally(() => clearInterval(sampling));
    clocks.forEach((c) => c.sample());
    const host = { "load-average": loadAverage, threads: threadTimesBetween(clocks.map((c) => c.pair())) };
    writeFileSync(join(dir, "query-migrate.jsonl"), polled.replies.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const result = toResult(polled.replies);
    o.afterMigrate?.();
    if (polled.gaveUp) result["error-desc"] = polled.gaveUp;
    if (o.plan.migration.modes.postcopy && result.status === "completed") await addBlocktime(result, destination);
    source.console.poll();
    const last = source.console.lastHeartbeat();
    const guest: GuestReport = {
      "target-rate": o.plan.guest.rate,
      "rate-before": before?.achieved ?? 0,
      "rate-during": rateBetween(before, last),
      "heartbeats-after": 0,
      "verified-pages-after": 0,
      healthy: true,
    };
    if (result.status === "completed") {
      o.onStatus?.("checking the destination guest");
      const health = await checkHealth(destination, last, o.plan.guest.workingSetBytes > 0, o.healthTimeoutMs ?? 8000);
      applyHealth(result, guest, health);
    }
    run = { result, guest, samples: samplesOf(polled.replies), destinationPrealloc: prealloc, startedAt, host, ...(o.traceDir ? { dir } : {}) };
  } finally {
    // Stopped first: QEMU's log file is complete once it exits.
    await Promise.all(vms.map((vm) => vm.stop()));
    if (run) timePause(run.result, dir);
    if (!o.traceDir) rmSync(dir, { recursive: true, force: true });
  }
  return run;
}

/**
 * `downtime` becomes the guest's pause, src-downtime-start to the destination's vm start (both
 * QEMUs run here, on one clock), the figure livemig predicts; QEMU's own stays in
 * `qemu-downtime`. A QEMU without these checkpoints (older releases) keeps its own figure, with a warning.
 */
function timePause(result: MigrationResult, dir: string): void {
  if (result.downtime === undefined) return;
  const traceOf = (role: string) => {
    const file = join(dir, `${role}.trace`);
    return existsSync(file) ? { file, trace: parseTrace(readFileSync(file, "utf8")).value } : undefined;
  };
  const pause = downtime({ source: traceOf("source"), destination: traceOf("destination") });
  result["qemu-downtime"] = result.downtime;
  if (pause.ok) result.downtime = pause.ms;
  else result.warnings.push(`downtime is QEMU's own figure (the source's clock), not the guest's pause: ${pause.why}`);
}

function bootTimeout(plan: QemuPlan): number {
  // The kernel boots in ~5 s under TCG; populating the working set takes a few s per GiB.
  return 90_000 + (plan.guest.workingSetBytes / 2 ** 30) * 30_000;
}

/** Waits for the workload's READY line and a second of heartbeats (its achieved rate). */
async function waitForWarmGuest(vm: QemuVm, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = vm.console.poll();
    if (state.error) throw new QemuRunError(`the source guest's workload failed: ${state.error}`);
    if (state.alarms.length) throw new QemuRunError(`the source guest failed before the migration: ${state.alarms[0]}`);
    const hb = vm.console.lastHeartbeat();
    if (state.ready && hb && hb.seq > 11) return;
    if (!vm.alive) throw new QemuRunError(vm.deathNote());
    if (Date.now() > deadline) {
      const tail = state.tail.slice(-3).join(" | ") || "(nothing on its console)";
      throw new QemuRunError(`the source guest did not boot within ${Math.round(timeoutMs / 1000)} s; console: ${tail}`);
    }
    await sleep(100);
  }
}

async function configure(source: QemuVm, plan: QemuPlan): Promise<void> {
  const m = plan.migration;
  await source.qmp.execute("migrate-set-capabilities", {
    capabilities: [
      { capability: "events", state: true },
      { capability: "auto-converge", state: m.autoConverge },
      ...(m.modes.xbzrleCacheSize !== undefined ? [{ capability: "xbzrle", state: true }] : []),
      ...sharedCapabilities(m.modes),
    ],
  });
  await source.qmp.execute("migrate-set-parameters", {
    "downtime-limit": Math.round(m.downtimeLimitMs),
    "max-bandwidth": Math.round(m.maxBandwidth),
    ...m.throttle,
    ...sharedParameters(m.modes),
    ...(m.modes.xbzrleCacheSize !== undefined ? { "xbzrle-cache-size": m.modes.xbzrleCacheSize } : {}),
  });
}

/** return-path, multifd and post-copy must be on at both ends (the destination's channels and its userfaultfd). */
async function configureDestination(destination: QemuVm, modes: QemuModes): Promise<void> {
  const capabilities = sharedCapabilities(modes);
  // postcopy-blocktime: the destination measures how long its vCPUs wait on faults.
  if (modes.postcopy) capabilities.push({ capability: "postcopy-blocktime", state: true });
  await destination.qmp.execute("migrate-set-capabilities", { capabilities });
  const parameters = sharedParameters(modes);
  if (Object.keys(parameters).length) await destination.qmp.execute("migrate-set-parameters", parameters);
}

function sharedCapabilities(modes: QemuModes): { capability: string; state: boolean }[] {
  // return-path as libvirt sets it (on both sides unless tunnelled; qemu_migration_params.c):
  // the source then ends its downtime clock on the destination's SHUT, sent after vm_start
  // and the destination's cleanup. Without it QEMU stops that clock at its own last write.
  const out: { capability: string; state: boolean }[] = [{ capability: "return-path", state: true }];
  if (modes.multifdChannels !== undefined) out.push({ capability: "multifd", state: true });
  if (modes.postcopy) {
    out.push({ capability: "postcopy-ram", state: true });
    if (modes.postcopy.preempt) out.push({ capability: "postcopy-preempt", state: true });
  }
  return out;
}

function sharedParameters(modes: QemuModes): Record<string, number> {
  return modes.multifdChannels !== undefined ? { "multifd-channels": modes.multifdChannels } : {};
}

/** The destination's post-copy blocktime (QEMU measures it there only), ms. */
async function addBlocktime(result: MigrationResult, destination: QemuVm): Promise<void> {
  const reply = await destination.qmp.execute<{ "postcopy-blocktime"?: number; "postcopy-vcpu-blocktime"?: number[] }>("query-migrate").catch(() => undefined);
  if (reply?.["postcopy-blocktime"] !== undefined) result["postcopy-blocktime"] = reply["postcopy-blocktime"];
  if (reply?.["postcopy-vcpu-blocktime"] !== undefined) result["postcopy-vcpu-blocktime"] = reply["postcopy-vcpu-blocktime"];
}

interface Polled {
  replies: QueryMigrateReply[];
  /** Set when livemig cancelled the migration by the scenario's give-up rule. */
  gaveUp?: string;
}

const finalStatuses = new Set(["completed", "failed", "cancelled"]);

async function migrateAndPoll(source: QemuVm, destination: QemuVm, uri: string, plan: QemuPlan, onStatus?: (line: string) => void): Promise<Polled> {
  const replies: QueryMigrateReply[] = [];
  let gaveUp: string | undefined;
  let lastSync = -1;
  let settleUntil: number | undefined;
  let switched = false;
  const started = Date.now();
  await source.qmp.execute("migrate", { uri });
  for (;;) {
    if (!source.alive) throw new QemuRunError(source.deathNote());
    const raw = await source.qmp.execute<unknown>("query-migrate");
    const parsed = queryMigrateReply.safeParse(raw);
    if (!parsed.success) throw new QemuRunError(`query-migrate answered something unexpected: ${JSON.stringify(raw).slice(0, 200)}`);
    let reply = parsed.data;
    // A cancelled or failed migration's last reply may lack the counters (ram, xbzrle-cache):
    // keep the last ones seen.
    const previous = replies[replies.length - 1];
    if ((reply.status === "cancelled" || reply.status === "failed") && previous) {
      reply = { ...previous, ...reply, ram: reply.ram ?? previous.ram };
    }
    replies.push(reply);
    source.console.poll();
    const sync = reply.ram?.["dirty-sync-count"] ?? 0;
    if (sync !== lastSync) {
      lastSync = sync;
      onStatus?.(`pass ${sync}: ${formatBytes(reply.ram?.remaining ?? 0)} pending, ${(reply.ram?.mbps ?? 0).toFixed(0)} Mbit/s`);
    }
    // QEMU 7.2 sets "completed" a moment before it computes total-time and downtime: the
    // first completed reply may carry zeros. Poll again until the figures are in.
    if (reply.status === "completed" && !reply["total-time"] && settleUntil === undefined) settleUntil = Date.now() + 2000;
    if (finalStatuses.has(reply.status) && (reply.status !== "completed" || reply["total-time"] || Date.now() > (settleUntil ?? 0))) break;
    if (reply.status === "completed") {
      replies.pop();
      await sleep(5);
      continue;
    }
    // Once livemig has cancelled, the destination quits on the cut stream: that is no error.
    if (!destination.alive && reply.status !== "completed" && gaveUp === undefined) {
      // The source notices a dead peer only when its socket breaks; say why now.
      await source.qmp.execute("migrate_cancel").catch(() => {});
      throw new QemuRunError(destination.deathNote());
    }
    if (!switched && reply.status === "active" && switchToPostcopy(reply, plan, Date.now() - started)) {
      switched = true;
      onStatus?.(`switching to post-copy at ${formatBytes(reply.ram?.remaining ?? 0)} pending`);
      await source.qmp.execute("migrate-start-postcopy");
    }
    // After the switch the guest runs on the destination: cancelling would lose it.
    if (gaveUp === undefined && !switched) {
      gaveUp = giveUpReason(reply, plan, Date.now() - started);
      if (gaveUp !== undefined) await source.qmp.execute("migrate_cancel");
    }
    // The first query answers "setup" (1-5 ms): start the 50 ms cadence from the active phase,
    // or a migration of ~100 ms (an idle guest on QEMU 10) may see no active poll at all.
    await sleep(reply.status === "setup" ? setupPollMs : pollMs);
  }
  return gaveUp === undefined ? { replies } : { replies, gaveUp };
}

/** The simulator's give-up rule (src/core/controller.ts), on QEMU's counters. */
function giveUpReason(reply: QueryMigrateReply, plan: QemuPlan, elapsedMs: number): string | undefined {
  const { passes, timeMs } = plan.migration.giveUp;
  const sync = reply.ram?.["dirty-sync-count"] ?? 0;
  const pending = formatBytes(reply.ram?.remaining ?? 0);
  const total = reply["total-time"] ?? elapsedMs;
  if (passes !== undefined && sync > passes) return `did not converge after ${passes} passes (dirty-sync-count ${sync}); ${pending} still pending; livemig cancelled it`;
  if (timeMs !== undefined && total >= timeMs) return `did not converge within ${timeMs / 1000} s; ${pending} still pending; livemig cancelled it`;
  if (elapsedMs >= safetyLimitMs) return `still running after ${safetyLimitMs / 1000} s (livemig's safety limit; the scenario has no giveUp); livemig cancelled it`;
  return undefined;
}

/** The scenario's post-copy switch (src/core/controller.ts's rule), on QEMU's counters. */
function switchToPostcopy(reply: QueryMigrateReply, plan: QemuPlan, elapsedMs: number): boolean {
  const p = plan.migration.modes.postcopy;
  if (!p) return false;
  const sync = reply.ram?.["dirty-sync-count"] ?? 0;
  const total = reply["total-time"] ?? elapsedMs;
  return (p.afterPasses !== undefined && sync > p.afterPasses) || (p.afterMs !== undefined && total >= p.afterMs);
}

function applyHealth(result: MigrationResult, guest: GuestReport, health: Health): void {
  guest["heartbeats-after"] = health.heartbeatsAfter;
  guest["verified-pages-after"] = health.verifiedPages;
  guest.healthy = health.healthy;
  result["stale-pages"] = health.lostPages;
  if (health.healthy) return;
  result.status = "completed-unsafe";
  result.warnings.push(`UNSAFE: QEMU reported the migration completed, but the destination guest ${health.problem}`);
  for (const line of health.evidence) result.warnings.push(`destination console: ${line}`);
}

function samplesOf(replies: QueryMigrateReply[]): Sample[] {
  const out: Sample[] = [];
  for (const r of replies) {
    if (r.status !== "active" || r["total-time"] === undefined || !r.ram) continue;
    out.push({ t: r["total-time"], transferred: r.ram.transferred ?? 0, duplicate: r.ram.duplicate ?? 0, normal: r.ram.normal ?? 0, sync: r.ram["dirty-sync-count"] ?? 0 });
  }
  return out;
}

function rateBetween(a: Heartbeat | undefined, b: Heartbeat | undefined): number {
  if (!a || !b || b.t <= a.t) return a?.achieved ?? 0;
  return Math.round(((b.writes - a.writes) * 1000) / (b.t - a.t));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

