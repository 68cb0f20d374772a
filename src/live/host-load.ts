// How busy the machine was while a live run migrated: the host's CPUs (all processes, from
// the kernel's per-CPU times), the migration thread's event-loop delay, and how late the
// vCPU threads woke. A live run's figures include waiting for a core; when the threads were
// held up, the run says so (a warning) instead of passing off the machine's load as the
// migration's.

import { cpus, loadavg } from "node:os";
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import type { HostLoad } from "../core/result.js";
import type { Guest } from "./guest/guest.js";
import { lateNapMs } from "./guest/layout.js";


/** Event-loop delay (p99) beyond which the migration thread itself was starved. */
const loopDelayLimitMs = 10;

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

export class HostLoadMonitor {
  private readonly start = cpuTimes();
  private readonly load0 = loadavg()[0];
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 5 });

  constructor(private readonly guest: Guest) {
    guest.clearLateNaps();
    this.loop.enable();
  }

  stop(): HostLoad {
    this.loop.disable();
    const end = cpuTimes();
    const late = this.guest.lateNaps();
    const round = (x: number) => Math.round(x * 1000) / 1000;
    return {
      cpus: cpus().length,
      "cpu-busy": round((end.busy - this.start.busy) / Math.max(1, end.total - this.start.total)),
      "load-average": [round(this.load0), round(loadavg()[0])],
      "loop-delay-p99": round(this.loop.percentile(99) / 1e6),
      "loop-delay-max": round(this.loop.max / 1e6),
      "vcpu-late-naps": late.count,
      "vcpu-late-max": late.maxMs,
    };
  }
}

/** The warning a starved run carries, or undefined. */
export function starvationWarning(h: HostLoad): string | undefined {
  const why: string[] = [];
  if (h["vcpu-late-naps"] > 0) why.push(`vCPU threads woke up to ${h["vcpu-late-max"].toFixed(0)} ms late (${h["vcpu-late-naps"]} times more than ${lateNapMs} ms)`);
  if (h["loop-delay-p99"] > loopDelayLimitMs) why.push(`the migration thread's callbacks ran up to ${h["loop-delay-max"].toFixed(0)} ms late (p99 ${h["loop-delay-p99"].toFixed(0)} ms)`);
  if (why.length === 0) return undefined;
  return `STARVED: ${why.join("; ")}; host CPUs ${(h["cpu-busy"] * 100).toFixed(0)} % busy, load average ${h["load-average"][0]} -> ${h["load-average"][1]} on ${h.cpus} CPUs: the figures include waiting for a core, do not take them as this machine's`;
}
