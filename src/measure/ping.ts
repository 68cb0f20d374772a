// Output of iputils ping (and BusyBox/BSD lookalikes), with or without -D:
//   [1700000000.123456] 64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.045 ms
//   64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.045 ms
// Losses are the sequence numbers that never got a reply. Without -D there are no times, so
// the interval comes from --interval, a "ping -i" command line in the file, or the summary.

import { error, excerpt, warning, type Parsed, type Problem } from "./problems.js";
import { intervalFromSendTimes, type Probe, type ProbeLog } from "./probe-log.js";

const STAMP = /^\[(\d+)(?:\.(\d+))?\] /;
const REPLY = /^(\d+) bytes from (.+?): (?:icmp_)?seq=(\d+)\b.*?\btime[=<]\s*([\d.]+)\s*ms(.*)$/;
const NO_REPLY = [
  /^no answer yet for icmp_seq=(\d+)/, // ping -O
  /^From \S+(?: \([^)]*\))? icmp_seq=(\d+)\b/, // Destination Host Unreachable and friends
  /^Request timeout for icmp_seq[= ](\d+)/, // BSD, macOS
];
const SUMMARY = /^(\d+) packets transmitted, (\d+) (?:packets )?received(?:.*?, time (\d+)\s*ms)?/;
const COMMAND = /(?:^|[\s$#>])ping\s(?:.*\s)?-[A-Za-z]*i\s*(\d*\.?\d+)/;
const KNOWN_NOISE = [/^PING /, /^--- .* ping statistics ---$/, /^(?:rtt|round-trip) /, /^\s*$/, /^WARNING: /];

const REPLY_SHAPE = "'[SEC.USEC] N bytes from HOST: icmp_seq=N ttl=N time=X ms'";

export function parsePing(text: string): Parsed<ProbeLog> {
  const problems: Problem[] = [];
  const bySeq = new Map<number, Probe>();
  let wrapBase = 0;
  let lastRawSeq: number | undefined;
  let anyStamp = false;
  let transmitted: number | undefined;
  let summaryTimeMs: number | undefined;
  let commandInterval: number | undefined;
  let minSeq = Infinity;
  let sawHeader = false;

  // icmp_seq is 16 bits: after 65535 it starts again at 0 (65 s at a 1 ms interval).
  const unwrap = (raw: number) => {
    if (lastRawSeq !== undefined && raw + 32768 < lastRawSeq) wrapBase += 65536;
    lastRawSeq = raw;
    return raw + wrapBase;
  };

  text.split("\n").forEach((rawLine, i) => {
    const line = i + 1;
    const full = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    const command = COMMAND.exec(full);
    if (command) commandInterval = Number(command[1]) * 1000;
    const stamp = STAMP.exec(full);
    const body = stamp ? full.slice(stamp[0].length) : full;
    const at = stamp ? Number(stamp[1]) * 1000 + (stamp[2] ? Number(`0.${stamp[2]}`) * 1000 : 0) : undefined;

    const reply = REPLY.exec(body);
    if (reply) {
      const seq = unwrap(Number(reply[3]));
      minSeq = Math.min(minSeq, seq);
      const rtt = Number(reply[4]);
      if (bySeq.get(seq)?.answered) {
        problems.push(warning(line, `duplicate reply for icmp_seq=${reply[3]} ignored`));
        return;
      }
      const probe: Probe = { seq, line, answered: true };
      if (at !== undefined) {
        anyStamp = true;
        probe.received = at;
        probe.sent = at - rtt;
      }
      bySeq.set(seq, probe);
      return;
    }
    if (/\bbytes from\b/.test(body)) {
      problems.push(error(line, `expected a ping reply ${REPLY_SHAPE}, got ${excerpt(full)}`));
      return;
    }
    for (const pattern of NO_REPLY) {
      const m = pattern.exec(body);
      if (!m) continue;
      const seq = unwrap(Number(m[1]));
      minSeq = Math.min(minSeq, seq);
      if (!bySeq.has(seq)) bySeq.set(seq, { seq, line, answered: false });
      return;
    }
    const summary = SUMMARY.exec(body);
    if (summary) {
      transmitted = Number(summary[1]);
      if (summary[3] !== undefined) summaryTimeMs = Number(summary[3]);
      return;
    }
    if (/^PING /.test(body)) sawHeader = true;
    if (command || KNOWN_NOISE.some((p) => p.test(body))) return;
    problems.push(warning(line, `not a ping line, skipped: ${excerpt(full)}`));
  });

  const probes = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  if (!probes.some((p) => p.answered) && !problems.some((p) => p.severity === "error")) {
    problems.push(error(0, `no ping replies: expected lines like ${REPLY_SHAPE}`));
  }
  // iputils counts from 1, BusyBox from 0. Without ping's first line the log may have been
  // cut, so losses count from the first probe it shows.
  const base = minSeq === 0 ? 0 : 1;
  const seen = minSeq === Infinity ? base : minSeq;
  const log: ProbeLog = { format: anyStamp ? "ping -D" : "ping", probes, firstSeq: sawHeader ? Math.min(base, seen) : seen };
  if (transmitted !== undefined) {
    log.transmitted = transmitted;
    log.lastSentSeq = base + transmitted - 1;
  }

  // What ping did (-D times) beats what it was asked to do (-i), which beats the summary.
  const fromTimes = intervalFromSendTimes(probes);
  if (fromTimes !== undefined) {
    log.intervalMs = fromTimes;
    log.intervalFrom = "the median spacing of send times (reply time minus rtt)";
  } else if (commandInterval !== undefined) {
    log.intervalMs = commandInterval;
    log.intervalFrom = `the command line (ping -i ${commandInterval / 1000})`;
  } else if (transmitted !== undefined && transmitted > 1 && summaryTimeMs !== undefined) {
    log.intervalMs = Math.round((summaryTimeMs / (transmitted - 1)) * 1000) / 1000;
    log.intervalFrom = `the summary (${transmitted} packets in ${summaryTimeMs} ms; approximate)`;
  }
  return { value: log, problems };
}
