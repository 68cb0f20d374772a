// What a prober saw, whatever wrote it (ping -D, plain ping, livemig's prober): one entry per
// probe sequence number, with its send and reply times where the log has them.

export interface Probe {
  /** Sequence number, unwrapped past ping's 16-bit icmp_seq. */
  seq: number;
  /** 1-based line of the log that told us about this probe. */
  line: number;
  /** When the probe was sent, ms; ping -D: reply time minus round-trip time. */
  sent?: number;
  /** When its reply arrived, ms; absent: no reply. */
  received?: number;
  answered: boolean;
}

export type ProbeFormat = "ping -D" | "ping" | "prober";

export interface ProbeLog {
  format: ProbeFormat;
  /** Sorted by seq, at most one per seq. Probes a ping log never mentions are simply absent. */
  probes: Probe[];
  /** The probing interval, ms, and how it was found. */
  intervalMs?: number;
  intervalFrom?: string;
  /** Probes sent according to ping's summary line. */
  transmitted?: number;
  /** The sequence number of the last probe sent (from the summary); later seqs than any seen were lost. */
  lastSentSeq?: number;
  /** Losses are counted from this sequence number on (ping from its start: 1). */
  firstSeq: number;
}

/** The median spacing of send times per sequence step, from probes whose send time is known. */
export function intervalFromSendTimes(probes: Probe[]): number | undefined {
  const steps: number[] = [];
  let before: Probe | undefined;
  for (const p of probes) {
    if (p.sent === undefined) continue;
    if (before?.sent !== undefined && p.seq > before.seq) steps.push((p.sent - before.sent) / (p.seq - before.seq));
    before = p;
  }
  if (steps.length === 0) return undefined;
  steps.sort((a, b) => a - b);
  const mid = steps.length >> 1;
  const median = steps.length % 2 ? steps[mid] : (steps[mid - 1] + steps[mid]) / 2;
  return median > 0 ? Math.round(median * 1000) / 1000 : undefined;
}
