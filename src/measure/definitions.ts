// The three downtimes livemig reports, as measured on real runs (all in ms):
//   downtime                QEMU's: vCPUs stop on the source (src-downtime-start) to vCPUs run on
//                           the destination (dst-precopy-bh-vm-started); else what query-migrate says.
//   guest-visible-downtime  the 2025 vDPA series': last vhost_vdpa_suspend on the source to the last
//                           vhost_vdpa_set_vring_enable_one with enable: 1 on the destination.
//   service-downtime        the 2015 thread's: the longest gap in the prober's replies.
// Source and destination traces may come from two hosts: `clockOffsetMs` is how far the
// destination's clock is ahead of the source's, and is subtracted from destination times.

import type { MigrationResult } from "../core/result.js";
import type { Probe, ProbeLog } from "./probe-log.js";
import type { Trace, TraceEvent } from "./trace.js";

export interface LabelledTrace {
  file: string;
  trace: Trace;
}

export type Derived =
  | { ok: true; ms: number; how: string; notes: string[] }
  | { ok: false; why: string };

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const at = (file: string, e: { line: number }) => `${baseName(file)}:${e.line}`;

export function baseName(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts[parts.length - 1] || file;
}

function last(trace: Trace, test: (e: TraceEvent) => boolean): TraceEvent | undefined {
  for (let i = trace.events.length - 1; i >= 0; i--) if (test(trace.events[i])) return trace.events[i];
  return undefined;
}

const isCheckpoint = (name: string) => (e: TraceEvent) =>
  e.decoded?.name === "vmstate_downtime_checkpoint" && e.decoded.checkpoint.trim() === name;

/** Same-name records after the chosen one that could not be decoded: the result may be early. */
function undecodedAfter(t: LabelledTrace, chosen: TraceEvent, name: string): string[] {
  const later = t.trace.events.filter((e) => e.line > chosen.line && e.name === name && !e.decoded);
  return later.length ? [`${later.length} later ${name} record(s) could not be decoded (${at(t.file, later[0])}, truncated?) and were not used`] : [];
}

/** From `start` (source clock) to `end` (destination clock), or why that is not a duration. */
function span(
  source: LabelledTrace, start: TraceEvent, startLabel: string,
  destination: LabelledTrace, end: TraceEvent, endLabel: string,
  clockOffsetMs: number,
): Derived {
  if (start.t === undefined) return { ok: false, why: `${at(source.file, start)}: ${startLabel} has no timestamp (run QEMU with -msg timestamp=on)` };
  if (end.t === undefined) return { ok: false, why: `${at(destination.file, end)}: ${endLabel} has no timestamp (run QEMU with -msg timestamp=on)` };
  const ms = round3(end.t - clockOffsetMs - start.t);
  if (ms < 0) {
    return {
      ok: false,
      why: `${endLabel} (${at(destination.file, end)}) comes ${round3(-ms)} ms before ${startLabel} (${at(source.file, start)}): ` +
        "not the same migration, or the hosts' clocks differ (--clock-offset)",
    };
  }
  const offset = clockOffsetMs !== 0 ? `; destination times ${clockOffsetMs > 0 ? "-" : "+"}${Math.abs(clockOffsetMs)} ms (--clock-offset)` : "";
  return { ok: true, ms, how: `${startLabel} (${at(source.file, start)}) -> ${endLabel} (${at(destination.file, end)})${offset}`, notes: [] };
}

export function guestVisibleDowntime(source: LabelledTrace | undefined, destination: LabelledTrace | undefined, clockOffsetMs = 0): Derived {
  if (!source) return { ok: false, why: "needs the source trace (with vhost_vdpa_suspend)" };
  if (!destination) return { ok: false, why: "needs the destination trace (with vhost_vdpa_set_vring_enable_one)" };
  const suspend = last(source.trace, (e) => e.decoded?.name === "vhost_vdpa_suspend");
  if (!suspend) return { ok: false, why: `${baseName(source.file)} has no vhost_vdpa_suspend (trace with -trace 'vhost_vdpa_*')` };
  const enable = last(
    destination.trace,
    (e) => (e.decoded?.name === "vhost_vdpa_set_vring_enable_one" && e.decoded.enable === 1) || e.decoded?.name === "vhost_vdpa_set_vring_ready",
  );
  if (!enable) return { ok: false, why: `${baseName(destination.file)} has no vhost_vdpa_set_vring_enable_one with enable: 1 (trace with -trace 'vhost_vdpa_*')` };
  const enableLabel = enable.name === "vhost_vdpa_set_vring_ready" ? "last vhost_vdpa_set_vring_ready" : "last vhost_vdpa_set_vring_enable_one with enable: 1";
  const result = span(source, suspend, "last vhost_vdpa_suspend", destination, enable, enableLabel, clockOffsetMs);
  if (!result.ok) return result;
  const notes = [...undecodedAfter(source, suspend, "vhost_vdpa_suspend"), ...undecodedAfter(destination, enable, enable.name)];
  const d = enable.decoded;
  if (d && "r" in d && d.r !== undefined && d.r !== 0) notes.push(`the last vring enable returned r: ${d.r} (${at(destination.file, enable)}): that queue may not be running`);
  return { ...result, notes };
}

export interface DowntimeInputs {
  source?: LabelledTrace;
  destination?: LabelledTrace;
  /** A query-migrate result and the file it came from. */
  reported?: { file: string; result: MigrationResult };
}

/** QEMU's downtime: from the checkpoints when both traces have them, else as QEMU reported it. */
export function downtime(inputs: DowntimeInputs, clockOffsetMs = 0): Derived {
  const { source, destination, reported } = inputs;
  const reportedMs = reported?.result.downtime;
  const fromReply: Derived | undefined =
    reported && reportedMs !== undefined
      ? { ok: true, ms: reportedMs, how: `reported by query-migrate (${baseName(reported.file)})`, notes: [] }
      : undefined;

  let why: string;
  const start = source && last(source.trace, isCheckpoint("src-downtime-start"));
  const end = destination && (last(destination.trace, isCheckpoint("dst-precopy-bh-vm-started")) ?? last(destination.trace, isCheckpoint("dst-postcopy-bh-vm-started")));
  if (source && destination && start && end) {
    const result = span(source, start, "src-downtime-start", destination, end, end.args.trim(), clockOffsetMs);
    if (result.ok) {
      if (reportedMs !== undefined) result.notes.push(`query-migrate reported ${reportedMs} ms (measured on the source alone)`);
      return result;
    }
    why = result.why;
  } else if (!source) why = "needs the source trace (src-downtime-start) and the destination trace, or a query-migrate reply";
  else if (!destination) why = "needs the destination trace (dst-precopy-bh-vm-started), or a query-migrate reply";
  else if (!start) why = `${baseName(source.file)} has no src-downtime-start checkpoint (trace vmstate_downtime_checkpoint)`;
  else why = `${baseName(destination.file)} has no dst-precopy-bh-vm-started checkpoint (trace vmstate_downtime_checkpoint)`;

  if (fromReply) {
    if (source || destination) fromReply.notes.push(`not from the checkpoints: ${why}`);
    return fromReply;
  }
  if (reported) return { ok: false, why: `${why}; query-migrate (${baseName(reported.file)}) reports no downtime (status ${reported.result.status})` };
  return { ok: false, why };
}

export interface ServiceDowntime {
  downtime: Derived;
  /** Probes without a reply, between the first probe and the last one sent. */
  lostReplies: number;
  /** Probes sent, first to last (as far as the log tells). */
  sent: number;
  intervalMs?: number;
  intervalFrom?: string;
}

/**
 * The longest outage the prober saw: from sending the first probe that got no reply to
 * sending the next probe that did, which is lost x interval at a steady interval (the same
 * measure as the simulator's probe gaps). Send times come from the log where it has them.
 */
export function serviceDowntime(file: string, log: ProbeLog, given?: { intervalMs: number }): ServiceDowntime {
  const intervalMs = given?.intervalMs ?? log.intervalMs;
  const intervalFrom = given ? "--interval" : log.intervalFrom;
  const bySeq = new Map(log.probes.map((p) => [p.seq, p]));
  const answered = log.probes.filter((p) => p.answered);
  const firstSeq = Math.min(log.firstSeq, log.probes[0]?.seq ?? log.firstSeq);
  const lastSent = Math.max(log.probes[log.probes.length - 1]?.seq ?? firstSeq, log.lastSentSeq ?? -Infinity);
  const sent = Math.max(0, lastSent - firstSeq + 1);
  const base = { sent, ...(intervalMs !== undefined ? { intervalMs, intervalFrom } : {}) };
  if (answered.length === 0) {
    return { ...base, lostReplies: sent, downtime: { ok: false, why: `${baseName(file)}: no probe got a reply` } };
  }
  const lastAnswered = answered[answered.length - 1];

  let lost = 0;
  let longest: { ms: number; from: number; to: number } | undefined;
  let needsInterval = false;
  // Outages lie between consecutive answered probes (and before the first one).
  let previous: Probe | undefined;
  for (const next of answered) {
    const from = previous ? previous.seq + 1 : firstSeq;
    const count = next.seq - from;
    if (count > 0) {
      lost += count;
      const ms = gapMs(bySeq.get(from), previous, next, count, intervalMs);
      if (ms === undefined) needsInterval = true;
      else if (!longest || ms > longest.ms) longest = { ms, from, to: next.seq - 1 };
    }
    previous = next;
  }
  const trailing = Math.max(0, lastSent - lastAnswered.seq);
  lost += trailing;

  if (needsInterval) {
    return {
      ...base,
      lostReplies: lost,
      downtime: { ok: false, why: `${baseName(file)} has no send times, and the probing interval is unknown (give --interval MS, or keep the "ping -i" command line or ping's summary in the file)` },
    };
  }
  const notes: string[] = [];
  if (trailing > 0) {
    const open = intervalMs !== undefined ? ` (${round3(trailing * intervalMs)} ms)` : "";
    notes.push(`the last ${trailing} probe(s) got no reply${open}: in flight when the log ended, or an outage that had not ended`);
  }
  const interval = intervalMs !== undefined ? `; interval ${intervalMs} ms from ${intervalFrom}` : "";
  if (!longest) {
    return { ...base, lostReplies: lost, downtime: { ok: true, ms: 0, how: `no reply missing among ${sent} probes${interval}`, notes } };
  }
  const before = bySeq.get(longest.from - 1);
  const after = bySeq.get(longest.to + 1)!;
  const where = before ? `${at(file, before)} -> ${at(file, after)}` : `before ${at(file, after)}`;
  const n = longest.to - longest.from + 1;
  return {
    ...base,
    lostReplies: lost,
    downtime: {
      ok: true,
      ms: round3(longest.ms),
      how: `longest gap: ${n} probe(s) seq ${longest.from}..${longest.to} unanswered (${where})${interval}`,
      notes,
    },
  };
}

/** One outage: probes `count` long, from probe `first` up to the answered probe `next`. */
function gapMs(first: Probe | undefined, before: Probe | undefined, next: Probe, count: number, intervalMs: number | undefined): number | undefined {
  const firstSent =
    first?.sent ??
    (before?.sent !== undefined && intervalMs !== undefined ? before.sent + intervalMs : undefined) ??
    (next.sent !== undefined && intervalMs !== undefined ? next.sent - count * intervalMs : undefined);
  // An --interval longer than the log's own send times allow puts the estimated first send after
  // the next answered one: the gap is then no longer than those send times say, not negative.
  if (firstSent !== undefined && next.sent !== undefined) return Math.max(0, next.sent - firstSent);
  return intervalMs !== undefined ? count * intervalMs : undefined;
}
