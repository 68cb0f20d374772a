// livemig's own prober log: JSON lines, one per probe, written as probes are resolved:
//   {"seq":1,"sent":1700000000000.125,"received":1700000000000.170}
//   {"seq":2,"sent":1700000000001.125,"received":null}
// seq counts from any start; times are ms on one clock; received null: no reply ever came.

import * as z from "../zod.js";
import { error, excerpt, warning, type Parsed, type Problem } from "./problems.js";
import { intervalFromSendTimes, type Probe, type ProbeLog } from "./probe-log.js";

export const proberRecord = z.object({
  seq: z.int().check(z.nonnegative()),
  sent: z.number(),
  received: z.nullable(z.number()),
});

export type ProberRecord = z.infer<typeof proberRecord>;

const SHAPE = '{"seq":N,"sent":ms,"received":ms|null}';

export function parseProberLog(text: string): Parsed<ProbeLog> {
  const problems: Problem[] = [];
  const bySeq = new Map<number, Probe>();
  const lines = text.split("\n");
  let lastContent = lines.length - 1;
  while (lastContent > 0 && lines[lastContent].trim() === "") lastContent--;

  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === "") return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      // A prober killed mid-write leaves a cut last line: that one probe is lost, not the log.
      const cut = i === lastContent && !text.endsWith("\n");
      problems.push(
        cut
          ? warning(line, `last record cut off, ignored: ${excerpt(raw)}`)
          : error(line, `expected a prober record ${SHAPE}, got ${excerpt(raw)}`),
      );
      return;
    }
    const parsed = proberRecord.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.length ? `"${issue.path.join(".")}": ` : "";
      problems.push(error(line, `expected a prober record ${SHAPE}: ${where}${issue.message}`));
      return;
    }
    const r = parsed.data;
    if (r.received !== null && r.received < r.sent) {
      problems.push(error(line, `reply received (${r.received}) before the probe was sent (${r.sent})`));
      return;
    }
    if (bySeq.has(r.seq)) {
      problems.push(warning(line, `second record for seq ${r.seq} ignored`));
      return;
    }
    const probe: Probe = { seq: r.seq, line, sent: r.sent, answered: r.received !== null };
    if (r.received !== null) probe.received = r.received;
    bySeq.set(r.seq, probe);
  });

  const probes = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  if (probes.length === 0 && !problems.some((p) => p.severity === "error")) {
    problems.push(error(0, `no prober records: expected JSON lines ${SHAPE}`));
  }
  const log: ProbeLog = { format: "prober", probes, firstSeq: probes[0]?.seq ?? 0 };
  const interval = intervalFromSendTimes(probes);
  if (interval !== undefined) {
    log.intervalMs = interval;
    log.intervalFrom = "the median spacing of send times";
  }
  return { value: log, problems };
}
