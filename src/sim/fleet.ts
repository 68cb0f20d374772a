// Evacuating hosts: many migrations on one virtual clock, each VM with its own unchanged
// controller, all streams across one shared network (sim/network.ts), started, capped and
// stopped by an orchestrator's policy. A VM alone gives exactly its `simulate` result.

import { migrate } from "../core/controller.js";
import { formatBytes } from "../core/format.js";
import { GiB } from "../core/params.js";
import type { MigrationResult } from "../core/result.js";
import type { Scenario } from "../scenario/schema.js";
import { VirtualClock } from "./clock.js";
import { SharedNetwork, utilisationBinMs, type Flow, type NetLink } from "./network.js";
import { prepareMigration, streamCap, type MachineProfile } from "./simulate.js";

export interface FleetHost {
  name: string;
  /** NIC bandwidth, each way, bytes/s. */
  nic: number;
  /** Bytes/s one migration stream from this host can push (the sender's copy and socket work); absent: no limit. */
  streamRate?: number;
}

export interface FleetVm {
  name: string;
  host: string;
  /** The VM as a scenario (vm, devices, migration, probe); its link is the network's business. */
  scenario: Scenario;
}

/** A step of a stall schedule (oVirt's convergence schedule): after `stalls` stalled iterations, do `action`. */
export interface StallStep {
  stalls: number;
  action: { setDowntimeMs: number } | "abort";
}

/** What an orchestrator's policy decides, in its terms translated once (scenario/fleet.ts). */
export interface FleetPolicy {
  /** The preset it came from, for messages ("kubevirt"). */
  name: string;
  /** Migrations at once in the cluster (Infinity: no bound). */
  perCluster: number;
  /** Outbound migrations at once per source host (Infinity: no bound). */
  perSource: number;
  /** max-bandwidth of each migration, bytes/s, 0 = unlimited; undefined: the file's migration.maxBandwidth. */
  maxBandwidth?: number;
  autoConverge?: boolean;
  /** The downtime limit set at the start, ms; undefined: the file's migration.downtimeLimit. */
  initialDowntimeMs?: number;
  /** Downtime limit raised at these times after the start (nova's steps), given the VM's data size. */
  downtimeSteps?: (dataGiB: number) => { afterMs: number; downtimeMs: number }[];
  /** Give up after this long per GiB of the VM's data, and with what. */
  completion?: { msPerGiB: number; minGiB: number; action: "abort" | "force-complete"; option: string };
  /** Abort when the remaining data has not reached a new low for this long. */
  progress?: { timeoutMs: number; option: string };
  /** Downtime raised, then abort, by stalled iterations (an iteration whose remaining data is no new low). */
  stallSchedule?: StallStep[];
}

export type FleetOrder = "given" | "largest-first" | "smallest-first" | "least-dirty-first";

export interface FleetPlan {
  name: string;
  seed: number;
  hosts: FleetHost[];
  fabric?: { bandwidth: number; latencyMs: number };
  vms: FleetVm[];
  from: string[];
  to: string[];
  policy: FleetPolicy;
  order: FleetOrder;
  /** The machine every migration runs on (`evacuate --profile`), as `simulate --profile` takes it. */
  profile?: MachineProfile;
}

/** What the orchestrator did to a migration, when and why. */
export interface PolicyAction {
  t: number;
  action: "set-downtime" | "abort" | "force-complete";
  reason: string;
  downtimeMs?: number;
}

export interface VmRun {
  vm: string;
  from: string;
  to: string;
  /** ms on the fleet's clock. */
  start: number;
  /** start + the result's total-time: resume, or the failure. */
  end: number;
  actions: PolicyAction[];
  result: MigrationResult;
}

export interface FleetRun {
  vms: VmRun[];
  /** Why the drain was stopped before every VM had moved (`EvacuateOptions`), and when (ms). */
  stopped?: { t: number; reason: string };
  /**
   * Bytes each link carried, its capacity (bytes/s), and its utilisation over time: the share
   * of its capacity used in each second from the start (`utilisationBinMs`), to 3 decimals.
   */
  links: { name: string; capacity: number; carried: number; utilisation: number[] }[];
}

interface Active {
  vm: FleetVm;
  index: number;
  from: string;
  to: string;
  start: number;
  flow: Flow;
  actions: PolicyAction[];
  ended: boolean;
}

export const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Each VM's own seed: the fleet's, then one more per VM, so the first VM alone is `simulate` with the fleet's seed. */
const vmSeed = (fleetSeed: number, index: number) => (fleetSeed + index) % 2 ** 31;

/** For the plan search: end a drain as soon as it cannot be the best one. */
export interface EvacuateOptions {
  /** Stop when the clock reaches this (ms) with VMs not yet moved: the drain would take longer. */
  stopAtMs?: number;
  /** Stop when a VM's migration fails: the drain would not move every VM. */
  stopOnFailure?: boolean;
}

export async function evacuate(plan: FleetPlan, options: EvacuateOptions = {}): Promise<FleetRun> {
  const clock = new VirtualClock();
  const network = new SharedNetwork(clock);
  const hostByName = new Map(plan.hosts.map((h) => [h.name, h]));
  const tx = new Map<string, NetLink>();
  const rx = new Map<string, NetLink>();
  for (const h of plan.hosts) {
    tx.set(h.name, network.link(`${h.name} tx`, h.nic));
    rx.set(h.name, network.link(`${h.name} rx`, h.nic));
  }
  const fabric = plan.fabric ? network.link("fabric", plan.fabric.bandwidth) : undefined;
  const latencyMs = plan.fabric?.latencyMs ?? 0;
  const policy = plan.policy;

  // Memory placed on each host, as destinations fill up.
  const load = new Map(plan.hosts.map((h) => [h.name, 0]));
  for (const v of plan.vms) load.set(v.host, load.get(v.host)! + v.scenario.vm.memory);
  const queue = departures(plan, plan.order);
  const outbound = new Map<string, number>();
  let running = 0;
  const runs: VmRun[] = [];
  const tasks: Promise<void>[] = [];
  /** Migrations whose slot is still held. */
  const active = new Set<Active>();
  let stopped: FleetRun["stopped"];

  /** Start nothing more and cancel what runs (as the orchestrator's abort does). */
  const stop = (reason: string) => {
    if (stopped || (queue.length === 0 && active.size === 0)) return;
    stopped = { t: round3(clock.now()), reason };
    queue.length = 0;
    for (const a of active) a.flow.abort(`drain stopped: ${reason}`);
  };

  const startMore = () => {
    for (let i = 0; i < queue.length && running < policy.perCluster; ) {
      const { vm, index } = queue[i];
      if ((outbound.get(vm.host) ?? 0) >= policy.perSource) {
        i++;
        continue;
      }
      queue.splice(i, 1);
      const to = leastLoaded(plan.to, load);
      load.set(to, load.get(to)! + vm.scenario.vm.memory);
      outbound.set(vm.host, (outbound.get(vm.host) ?? 0) + 1);
      running++;
      tasks.push(clock.spawn(() => run(vm, index, to)));
    }
  };

  const run = async (vm: FleetVm, index: number, to: string) => {
    const source = hostByName.get(vm.host)!;
    // The link a dedicated migration between the two hosts would have: what `simulate` of this VM alone takes.
    const bandwidth = Math.min(source.nic, hostByName.get(to)!.nic, fabric?.capacity ?? Infinity);
    const scenario = withPolicy({ ...vm.scenario, link: { bandwidth, latency: latencyMs } }, policy);
    // The profile's one stream caps a sender as it caps `simulate`'s link.
    const copy = streamCap(scenario, plan.profile);
    const flow = network.flow({
      path: [tx.get(vm.host)!, ...(fabric ? [fabric] : []), rx.get(to)!],
      cap: scenario.migration.maxBandwidth,
      ceiling: Math.min(source.streamRate ?? Infinity, copy !== undefined && copy > 0 ? copy : Infinity),
      latencyMs,
    });
    const a: Active = { vm, index, from: vm.host, to, start: clock.now(), flow, actions: [], ended: false };
    active.add(a);
    const watch = watchdog(a, scenario);
    const m = prepareMigration(scenario, clock, flow, { seed: vmSeed(plan.seed, index), onProgress: watch.onSync, ...(plan.profile ? { profile: plan.profile } : {}) });
    watch.bind(m.env.params, () => m.ram.stopVcpus());
    // The slot is the orchestrator's, and it frees it when QEMU reports the migration completed
    // or failed (libvirt's job ends there; KubeVirt's migration then succeeds, nova's monitor
    // moves on): QEMU's announce rounds and the devices' after-resume work run on after it.
    let released = false;
    m.env.onStatus = (status) => {
      if (released || (status !== "completed" && status !== "completed-unsafe" && status !== "failed")) return;
      released = true;
      // Done for the orchestrator too: its timers no longer act on this migration.
      a.ended = true;
      watch.stop();
      active.delete(a);
      running--;
      outbound.set(vm.host, outbound.get(vm.host)! - 1);
      if (status === "failed") load.set(to, load.get(to)! - vm.scenario.vm.memory);
      if (status === "failed" && options.stopOnFailure) stop(`${vm.name} failed`);
      startMore();
    };
    const watcher = clock.spawn(() => watch.run());
    const timeline = await migrate(m.env);
    a.ended = true;
    flow.close();
    watch.stop();
    await clock.join([watcher]);
    const result = m.finish(timeline);
    // Nothing looks at this VM's RAM any more (its watchdog is joined): the next VM reuses its bitmaps.
    m.ram.release();
    // The orchestrator's pause is part of what the guest lived through: say so in the result.
    const paused = a.actions.find((x) => x.action === "force-complete");
    if (paused && result.status !== "failed") {
      result.warnings.push(`paused by ${policy.name} at ${Math.round(paused.t - a.start)} ms (${paused.reason}); the guest was stopped from then until the resume at ${result["total-time"]} ms`);
    }
    // Milliseconds to three decimals, as every time of a result.
    runs.push({ vm: vm.name, from: vm.host, to, start: round3(a.start), end: round3(a.start + result["total-time"]), actions: a.actions, result });
  };

  /** The policy's timers and stall counting for one migration. */
  const watchdog = (a: Active, scenario: Scenario) => {
    const dataGiB = scenario.vm.memory / GiB;
    let params: { downtimeLimitMs: number } | undefined;
    let pause: () => void = () => undefined;
    let lowest = Infinity;
    let lastProgress = a.start;
    let stalls = 0;
    let stallStep = 0;
    let wake: (() => void) | undefined;
    let stopped = false;
    const steps = policy.downtimeSteps?.(dataGiB) ?? [];
    let nextStep = 0;
    const completionMs = policy.completion ? policy.completion.msPerGiB * Math.max(dataGiB, policy.completion.minGiB) : undefined;
    let completionFired = false;

    const act = (action: PolicyAction) => {
      a.actions.push(action);
      if (action.action === "abort") a.flow.abort(`cancelled by ${policy.name}: ${action.reason}`);
      else if (action.action === "force-complete") pause();
      else if (params && action.downtimeMs !== undefined) params.downtimeLimitMs = action.downtimeMs;
    };
    const onSync = (p: { remainingBytes: number }) => {
      if (a.ended || a.actions.some((x) => x.action === "abort")) return;
      if (p.remainingBytes < lowest) {
        lowest = p.remainingBytes;
        lastProgress = clock.now();
        stalls = 0;
        return;
      }
      stalls++;
      const schedule = policy.stallSchedule;
      if (schedule && stallStep < schedule.length && stalls >= schedule[stallStep].stalls) {
        const step = schedule[stallStep++];
        const why = `${stalls} iterations without progress (${formatBytes(p.remainingBytes)} remaining, lowest ${formatBytes(lowest)})`;
        act(step.action === "abort" ? { t: clock.now(), action: "abort", reason: `convergence schedule exhausted after ${why}` } : { t: clock.now(), action: "set-downtime", downtimeMs: step.action.setDowntimeMs, reason: why });
      }
    };
    const due = (): number => {
      let t = Infinity;
      if (nextStep < steps.length) t = Math.min(t, a.start + steps[nextStep].afterMs);
      if (completionMs !== undefined && !completionFired) t = Math.min(t, a.start + completionMs);
      if (policy.progress) t = Math.min(t, lastProgress + policy.progress.timeoutMs);
      return t;
    };
    const runWatch = async () => {
      while (!stopped) {
        const t = due();
        if (t === Infinity) return;
        const alarm = clock.alarm(Math.max(0, t - clock.now()));
        wake = alarm.wake;
        await alarm.rang;
        wake = undefined;
        if (stopped || a.actions.some((x) => x.action === "abort")) return;
        const now = clock.now();
        while (nextStep < steps.length && a.start + steps[nextStep].afterMs <= now) {
          const s = steps[nextStep++];
          act({ t: now, action: "set-downtime", downtimeMs: s.downtimeMs, reason: `downtime step ${nextStep - 1} at ${s.afterMs / 1000} s` });
        }
        // Compared as due() computed them, so float rounding cannot leave a deadline forever due.
        if (completionMs !== undefined && !completionFired && now >= a.start + completionMs) {
          completionFired = true;
          const c = policy.completion!;
          const reason = `${c.option}: not completed within ${(completionMs / 1000).toFixed(0)} s (${(c.msPerGiB / 1000).toFixed(0)} s/GiB x ${Math.max(dataGiB, c.minGiB).toFixed(1)} GiB)`;
          act({ t: now, action: c.action, reason });
          if (c.action === "abort") return;
        }
        if (policy.progress && now >= lastProgress + policy.progress.timeoutMs) {
          act({ t: now, action: "abort", reason: `${policy.progress.option}: no progress for ${(policy.progress.timeoutMs / 1000).toFixed(0)} s (remaining data has not fallen below ${formatBytes(lowest)})` });
          return;
        }
      }
    };
    return {
      onSync,
      bind(p: { downtimeLimitMs: number }, pauseGuest: () => void) {
        params = p;
        pause = pauseGuest;
        if (policy.initialDowntimeMs !== undefined) p.downtimeLimitMs = policy.initialDowntimeMs;
      },
      run: runWatch,
      stop() {
        stopped = true;
        wake?.();
      },
    };
  };

  await clock.run(async () => {
    const bound = options.stopAtMs;
    let wakeGuard: (() => void) | undefined;
    const guard =
      bound === undefined
        ? undefined
        : clock.spawn(async () => {
            const alarm = clock.alarm(bound);
            wakeGuard = alarm.wake;
            if (!(await alarm.rang)) stop(`still draining at ${bound} ms`);
          });
    startMore();
    // Migrations start more as they end: wait until no task is left.
    for (let joined = 0; joined < tasks.length; ) {
      const batch = tasks.slice(joined);
      joined = tasks.length;
      await clock.join(batch);
    }
    if (guard) {
      wakeGuard?.();
      await clock.join([guard]);
    }
  });
  const position = new Map(plan.vms.map((v, i) => [v.name, i]));
  const linkList = [...tx.values(), ...rx.values(), ...(fabric ? [fabric] : [])].filter((l) => l.carried > 0);
  return {
    ...(stopped ? { stopped } : {}),
    vms: runs.sort((x, y) => x.start - y.start || position.get(x.vm)! - position.get(y.vm)!),
    links: linkList.map((l) => ({
      name: l.name,
      capacity: l.capacity,
      carried: l.carried,
      utilisation: l.carriedPerBin.map((bytes) => round3(bytes / ((l.capacity * utilisationBinMs) / 1000))),
    })),
  };
}

/** The policy's bandwidth, auto-converge and downtime replace the file's where it sets them. */
function withPolicy(s: Scenario, p: FleetPolicy): Scenario {
  return {
    ...s,
    migration: {
      ...s.migration,
      ...(p.maxBandwidth !== undefined ? { maxBandwidth: p.maxBandwidth } : {}),
      ...(p.autoConverge !== undefined ? { autoConverge: p.autoConverge } : {}),
    },
  };
}

function leastLoaded(hosts: string[], load: Map<string, number>): string {
  let best = hosts[0];
  for (const h of hosts) if (load.get(h)! < load.get(best)!) best = h;
  return best;
}

/** Bytes/s the VM's vCPUs dirty at most (page writes x page size): what least-dirty-first sorts by. */
export function dirtyRate(s: Scenario): number {
  const w = s.vm.workload;
  return w.kind === "idle" ? 0 : w.rate * s.vm.pageSize;
}

/** The VMs of the hosts being evacuated, each with its place in the file, in the order they leave under `how`. */
export function departures(plan: FleetPlan, how: FleetOrder): { vm: FleetVm; index: number }[] {
  const from = new Set(plan.from);
  return order(plan.vms.map((vm, index) => ({ vm, index })).filter(({ vm }) => from.has(vm.host)), how);
}

function order<T extends { vm: FleetVm }>(items: T[], how: FleetOrder): T[] {
  const by = (key: (v: FleetVm) => number) => [...items].sort((a, b) => key(a.vm) - key(b.vm));
  switch (how) {
    case "given":
      return items;
    case "largest-first":
      return by((v) => -v.scenario.vm.memory);
    case "smallest-first":
      return by((v) => v.scenario.vm.memory);
    case "least-dirty-first":
      return by((v) => dirtyRate(v.scenario));
  }
}
