import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { downtime, guestVisibleDowntime, serviceDowntime, type Derived, type LabelledTrace } from "../../src/measure/definitions.js";
import { parsePing } from "../../src/measure/ping.js";
import { parseProberLog } from "../../src/measure/prober-log.js";
import { parseQueryMigrate } from "../../src/measure/query-migrate.js";
import { parseTrace } from "../../src/measure/trace.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/measure/${name}`, import.meta.url), "utf8");
const trace = (file: string, text: string): LabelledTrace => ({ file, trace: parseTrace(text).value });
const lines = (...l: string[]) => l.join("\n") + "\n";

function ms(d: Derived): number {
  if (!d.ok) throw new Error(`not derived: ${d.why}`);
  return d.ms;
}
function why(d: Derived): string {
  if (d.ok) throw new Error(`derived ${d.ms} ms`);
  return d.why;
}

// A vDPA pair: the source suspends twice (shadow-virtqueue switch, then stop), the destination
// enables the control queue and two data queues; the last suspend is at 100.000000 s, the
// last enable at 102.090000 s.
const source = trace("src.trace", lines(
  "4390@40.000412:vhost_vdpa_suspend dev: 0x55d4c8a3e9f0",
  "4390@40.013402:vhost_vdpa_set_vring_enable_one dev: 0x55d4c8a3e9f0, idx: 0, enable: 1, r: 0",
  "4390@99.999850:vmstate_downtime_checkpoint src-downtime-start",
  "4390@100.000000:vhost_vdpa_suspend dev: 0x55d4c8a3e9f0",
  "4390@100.001010:vmstate_downtime_checkpoint src-vm-stopped",
));
const destination = trace("dst.trace", lines(
  "9120@100.016300:vmstate_downtime_checkpoint dst-precopy-loadvm-completed",
  "9120@102.061100:vhost_vdpa_set_vring_enable_one dev: 0x55e01b7c5b40, idx: 2, enable: 1, r: 0",
  "9120@102.080000:vhost_vdpa_set_vring_enable_one dev: 0x55e01b7c4a20, idx: 0, enable: 1, r: 0",
  "9120@102.090000:vhost_vdpa_set_vring_enable_one dev: 0x55e01b7c4a20, idx: 1, enable: 1, r: 0",
  "9120@102.090850:vmstate_downtime_checkpoint dst-precopy-bh-vm-started",
));

describe("guestVisibleDowntime (2025: last suspend on the source to last vring enable on the destination)", () => {
  it("measures 2090 ms from 100.000000 s to 102.090000 s", () => {
    const d = guestVisibleDowntime(source, destination);
    expect(ms(d)).toBe(2090);
    if (d.ok) expect(d.how).toBe("last vhost_vdpa_suspend (src.trace:4) -> last vhost_vdpa_set_vring_enable_one with enable: 1 (dst.trace:4)");
  });

  it("subtracts the destination clock's lead over the source's", () => {
    // The same instants, on a destination clock 1500 ms ahead.
    const ahead = trace("dst.trace", "9120@103.590000:vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 1, enable: 1, r: 0\n");
    expect(ms(guestVisibleDowntime(source, ahead, 1500))).toBe(2090);
    expect(ms(guestVisibleDowntime(source, ahead))).toBe(3590);
  });

  it("refuses an end before the start, pointing at the clocks", () => {
    const early = trace("dst.trace", "9120@99.500000:vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 1, enable: 1, r: 0\n");
    expect(why(guestVisibleDowntime(source, early))).toMatch(/500 ms before .*--clock-offset/);
  });

  it("ignores disables: only enable: 1 ends the downtime", () => {
    const withDisable = trace("dst.trace", lines(
      "9120@102.090000:vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 1, enable: 1, r: 0",
      "9120@105.000000:vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 1, enable: 0, r: 0",
    ));
    expect(ms(guestVisibleDowntime(source, withDisable))).toBe(2090);
  });

  it("reads QEMU before 9.1, where the event was vhost_vdpa_set_vring_ready", () => {
    const old = trace("dst.trace", "9120@102.090000:vhost_vdpa_set_vring_ready dev: 0x1, idx: 1, r: 0\n");
    expect(ms(guestVisibleDowntime(source, old))).toBe(2090);
  });

  it("reads the ISO timestamps of a pair recorded on two hosts", () => {
    const src = trace("src.trace", fixture("iso/src.trace"));
    const dst = trace("dst.trace", fixture("iso/dst.trace"));
    // suspend 18:43:28.089797 on the source; last enable 18:43:27.809797 on a clock 5 s behind
    expect(ms(guestVisibleDowntime(src, dst, -5000))).toBe(4720);
  });

  it("warns when a later enable could not be decoded, or the last one failed", () => {
    const cut = trace("dst.trace", lines(
      "9120@102.090000:vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 1, enable: 1, r: -22",
      "9120@102.095000:vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 2, en",
    ));
    const d = guestVisibleDowntime(source, cut);
    expect(ms(d)).toBe(2090);
    if (d.ok) {
      expect(d.notes.some((n) => /could not be decoded \(dst.trace:2/.test(n))).toBe(true);
      expect(d.notes.some((n) => /r: -22/.test(n))).toBe(true);
    }
  });

  it("says which trace or event is missing", () => {
    expect(why(guestVisibleDowntime(source, undefined))).toMatch(/destination trace/);
    expect(why(guestVisibleDowntime(undefined, destination))).toMatch(/source trace/);
    expect(why(guestVisibleDowntime(destination, destination))).toMatch(/dst.trace has no vhost_vdpa_suspend/);
    const untimed = trace("src.trace", "vhost_vdpa_suspend dev: 0x1\n");
    expect(why(guestVisibleDowntime(untimed, destination))).toMatch(/no timestamp.*-msg timestamp=on/);
  });
});

describe("downtime (QEMU's: src-downtime-start to dst-precopy-bh-vm-started)", () => {
  const reported = { file: "query-migrate.json", result: parseQueryMigrate('{"status":"completed","total-time":9,"downtime":2093}').value!.result };

  it("measures from the checkpoints when both traces have them", () => {
    // 99.999850 -> 102.090850
    const d = downtime({ source, destination, reported });
    expect(ms(d)).toBe(2091);
    if (d.ok) expect(d.notes[0]).toMatch(/query-migrate reported 2093 ms/);
  });

  it("falls back on query-migrate's figure, saying why the checkpoints were not used", () => {
    const d = downtime({ source, reported });
    expect(ms(d)).toBe(2093);
    if (d.ok) {
      expect(d.how).toMatch(/query-migrate/);
      expect(d.notes[0]).toMatch(/not from the checkpoints: needs the destination trace/);
    }
    const onlyReply = downtime({ reported });
    expect(ms(onlyReply)).toBe(2093);
    if (onlyReply.ok) expect(onlyReply.notes).toEqual([]);
  });

  it("says what is missing when neither is there", () => {
    expect(why(downtime({ source }))).toMatch(/destination trace/);
    const noCheckpoint = trace("src.trace", "1@1.000000:vhost_vdpa_suspend dev: 0x1\n");
    expect(why(downtime({ source: noCheckpoint, destination }))).toMatch(/no src-downtime-start/);
  });
});

describe("serviceDowntime (2015: the longest gap in the prober's replies)", () => {
  it("measures send of the first unanswered probe to send of the next answered one (prober)", () => {
    const text = fixture("probes/prober.jsonl");
    const records = text.trim().split("\n").map((l) => JSON.parse(l) as { seq: number; sent: number });
    const s = serviceDowntime("prober.jsonl", parseProberLog(text).value);
    // the fixture loses probes 101..280
    expect(s.lostReplies).toBe(180);
    expect(s.sent).toBe(300);
    // rounded to the microsecond, like every figure
    expect(ms(s.downtime)).toBeCloseTo(records[280].sent - records[100].sent, 3);
    expect(ms(s.downtime)).toBeGreaterThan(179.8);
    expect(ms(s.downtime)).toBeLessThan(180.2);
  });

  it("counts lost x interval in plain ping, the interval from the summary", () => {
    const s = serviceDowntime("ping-2015.txt", parsePing(fixture("probes/ping-2015.txt")).value);
    expect(s).toMatchObject({ lostReplies: 180, intervalMs: 1, sent: 400 });
    expect(ms(s.downtime)).toBe(180);
  });

  it("uses ping -D send times: 3 lost probes at 10 ms make a 30 ms gap", () => {
    // probes every 10 ms from t=0; 2, 3 and 4 get no reply
    const text = [1, 5, 6]
      .map((seq) => {
        const sent = 1700000000000 + (seq - 1) * 10;
        const at = sent + 0.2;
        return `[${Math.floor(at / 1000)}.${String(Math.round((at % 1000) * 1000)).padStart(6, "0")}] 64 bytes from 10.0.0.2: icmp_seq=${seq} ttl=64 time=0.200 ms`;
      })
      .join("\n");
    const s = serviceDowntime("ping.txt", parsePing(text).value, { intervalMs: 10 });
    expect(s.lostReplies).toBe(3);
    expect(ms(s.downtime)).toBeCloseTo(30, 6);
  });

  it("picks the longest of several gaps", () => {
    const seqs = [1, 2, 5, 6, 7, 20, 21];
    const text = seqs.map((s) => `64 bytes from 10.0.0.2: icmp_seq=${s} ttl=64 time=0.1 ms`).join("\n");
    const s = serviceDowntime("ping.txt", parsePing(text).value, { intervalMs: 1 });
    // gaps: 3..4 (2 probes) and 8..19 (12 probes)
    expect(s.lostReplies).toBe(14);
    expect(ms(s.downtime)).toBe(12);
    if (s.downtime.ok) expect(s.downtime.how).toMatch(/seq 8\.\.19/);
  });

  it("is 0 when no reply is missing", () => {
    const text = [1, 2, 3].map((s) => `64 bytes from 10.0.0.2: icmp_seq=${s} ttl=64 time=0.1 ms`).join("\n");
    const s = serviceDowntime("ping.txt", parsePing(text).value, { intervalMs: 1 });
    expect(s.lostReplies).toBe(0);
    expect(ms(s.downtime)).toBe(0);
  });

  it("counts probes lost at the end, noting them, without calling them the longest gap", () => {
    const text = [
      ...[1, 2, 4].map((s) => `64 bytes from 10.0.0.2: icmp_seq=${s} ttl=64 time=0.1 ms`),
      "6 packets transmitted, 3 received, 50% packet loss, time 5ms",
    ].join("\n");
    const s = serviceDowntime("ping.txt", parsePing(text).value);
    // 3 lost inside, 5 and 6 lost at the end; interval 5 ms / 5 = 1 ms
    expect(s.lostReplies).toBe(3);
    expect(ms(s.downtime)).toBe(1);
    if (s.downtime.ok) expect(s.downtime.notes[0]).toMatch(/last 2 probe/);
  });

  it("counts probes lost before the first reply when the log starts with ping's header", () => {
    const reply = (seq: number) => `64 bytes from 10.0.0.2: icmp_seq=${seq} ttl=64 time=0.1 ms`;
    const whole = serviceDowntime("ping.txt", parsePing(["PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.", reply(5), reply(6)].join("\n")).value, { intervalMs: 1 });
    // seqs 1..4 never answered
    expect(whole.lostReplies).toBe(4);
    expect(ms(whole.downtime)).toBe(4);
    // without the header the log may have been cut: count from the first probe shown
    const cut = serviceDowntime("ping.txt", parsePing([reply(5), reply(6)].join("\n")).value, { intervalMs: 1 });
    expect(cut.lostReplies).toBe(0);
  });

  it("cannot measure plain ping without an interval, but still counts losses", () => {
    const text = [1, 4].map((s) => `64 bytes from 10.0.0.2: icmp_seq=${s} ttl=64 time=0.1 ms`).join("\n");
    const s = serviceDowntime("ping.txt", parsePing(text).value);
    expect(s.lostReplies).toBe(2);
    expect(why(s.downtime)).toMatch(/--interval/);
  });

  it("is never negative when --interval is longer than the log's send times allow", () => {
    // 16 probes lost between sends 17 ms apart cannot have gone out every 17 ms.
    const text = [10, 27].map((seq) => JSON.stringify({ seq, sent: 1000 + seq, received: 1000.2 + seq })).join("\n");
    const s = serviceDowntime("p", parseProberLog(text).value, { intervalMs: 17.5 });
    expect(s.lostReplies).toBe(16);
    expect(ms(s.downtime)).toBeGreaterThanOrEqual(0);
    expect(ms(s.downtime)).toBeLessThanOrEqual(17);
  });

  it("counts across icmp_seq wrapping at 65536", () => {
    const text = [65534, 65535, 2, 3].map((s) => `64 bytes from 10.0.0.2: icmp_seq=${s} ttl=64 time=0.1 ms`).join("\n");
    const s = serviceDowntime("ping.txt", parsePing(text).value, { intervalMs: 1 });
    // 0 and 1 after 65535 were lost
    expect(s.lostReplies).toBe(2);
    expect(ms(s.downtime)).toBe(2);
  });
});

// Round 4 (docs/mutation.md): what each definition says about its figure, written out from the
// inputs by hand (file names, line numbers, seqs, the arithmetic of the gap).
describe("the explanations: how each figure was found, and what to check", () => {
  it("a clean vDPA pair: the two lines it measured between, and nothing to note", () => {
    expect(guestVisibleDowntime(source, destination)).toEqual({
      ok: true,
      ms: 2090,
      how: "last vhost_vdpa_suspend (src.trace:4) -> last vhost_vdpa_set_vring_enable_one with enable: 1 (dst.trace:4)",
      notes: [],
    });
  });

  it("names a trace by its file name, whatever directory (or Windows path) it was read from", () => {
    const at = (file: string) => {
      const d = guestVisibleDowntime({ file, trace: source.trace }, destination);
      return d.ok ? d.how.split(" -> ")[0] : d.why;
    };
    expect(at("/var/log/qemu/src.trace")).toBe("last vhost_vdpa_suspend (src.trace:4)");
    expect(at("C:\\traces\\src.trace")).toBe("last vhost_vdpa_suspend (src.trace:4)");
  });

  it("counts only later records of the same event that could not be decoded", () => {
    const src = trace("src.trace", lines(
      "4390@99.000000:vhost_vdpa_suspend de", // before the one used: not a concern
      "4390@100.000000:vhost_vdpa_suspend dev: 0x55d4c8a3e9f0",
      "4390@100.000100:vhost_vdpa_suspend de", // after it: the result may be early
      "4390@100.000200:vhost_vdpa_suspend d",
      "4390@100.000300:vhost_vdpa_dev_start de", // another event
    ));
    const d = guestVisibleDowntime(src, destination);
    expect(d.ok && d.notes).toEqual(["2 later vhost_vdpa_suspend record(s) could not be decoded (src.trace:3, truncated?) and were not used"]);
  });

  it("says how the clocks were lined up, either way", () => {
    const ahead = trace("dst.trace", "9120@103.590000:vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 1, enable: 1, r: 0\n");
    const d = guestVisibleDowntime(source, ahead, 1500);
    expect(d.ok && d.how.endsWith("(dst.trace:1); destination times -1500 ms (--clock-offset)")).toBe(true);
    const behind = trace("dst.trace", "9120@100.590000:vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 1, enable: 1, r: 0\n");
    const b = guestVisibleDowntime(source, behind, -1500);
    expect(b.ok && b.ms).toBe(2090);
    expect(b.ok && b.how.endsWith("(dst.trace:1); destination times +1500 ms (--clock-offset)")).toBe(true);
  });

  it("an end before the start: how far before, and nothing else", () => {
    const early = trace("dst.trace", "9120@99.500000:vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 1, enable: 1, r: 0\n");
    expect(guestVisibleDowntime(source, early)).toEqual({
      ok: false,
      why: "last vhost_vdpa_set_vring_enable_one with enable: 1 (dst.trace:1) comes 500 ms before last vhost_vdpa_suspend (src.trace:4): not the same migration, or the hosts' clocks differ (--clock-offset)",
    });
    // At the same instant it is a downtime of 0, not an error.
    const same = trace("dst.trace", "9120@100.000000:vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 1, enable: 1, r: 0\n");
    expect(ms(guestVisibleDowntime(source, same))).toBe(0);
  });

  it("names the event it ended on: vhost_vdpa_set_vring_ready before QEMU 9.1", () => {
    const old = trace("dst.trace", "9120@102.090000:vhost_vdpa_set_vring_ready dev: 0x1, idx: 1, r: 0\n");
    const d = guestVisibleDowntime(source, old);
    expect(d.ok && d.how).toBe("last vhost_vdpa_suspend (src.trace:4) -> last vhost_vdpa_set_vring_ready (dst.trace:1)");
    expect(d.ok && d.notes).toEqual([]);
  });

  it("an old vhost_vdpa_set_vring_ready that prints no r: nothing to note", () => {
    const old = trace("dst.trace", "9120@102.090000:vhost_vdpa_set_vring_ready dev: 0x1\n");
    const d = guestVisibleDowntime(source, old);
    expect(d.ok && d.notes).toEqual([]);
  });

  it("a post-copy run ends at dst-postcopy-bh-vm-started", () => {
    const dst = trace("dst.trace", "9120@101.000850:vmstate_downtime_checkpoint dst-postcopy-bh-vm-started\n");
    expect(downtime({ source, destination: dst })).toEqual({ ok: true, ms: 1001, how: "src-downtime-start (src.trace:3) -> dst-postcopy-bh-vm-started (dst.trace:1)", notes: [] });
  });

  it("checkpoints in the wrong order: query-migrate's figure, saying why the checkpoints were not used", () => {
    const early = trace("dst.trace", "9120@99.000000:vmstate_downtime_checkpoint dst-precopy-bh-vm-started\n");
    const reported = { file: "qm.json", result: parseQueryMigrate('{"status":"completed","total-time":9,"downtime":2093}').value!.result };
    expect(downtime({ source, destination: early, reported })).toEqual({
      ok: true,
      ms: 2093,
      how: "reported by query-migrate (qm.json)",
      notes: ["not from the checkpoints: dst-precopy-bh-vm-started (dst.trace:1) comes 999.85 ms before src-downtime-start (src.trace:3): not the same migration, or the hosts' clocks differ (--clock-offset)"],
    });
  });

  it("a destination event without a timestamp: which line, and the QEMU option", () => {
    const untimed = trace("dst.trace", "vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 1, enable: 1, r: 0\n");
    expect(why(guestVisibleDowntime(source, untimed))).toBe("dst.trace:1: last vhost_vdpa_set_vring_enable_one with enable: 1 has no timestamp (run QEMU with -msg timestamp=on)");
  });

  it("QEMU's downtime from the checkpoints: the lines, and query-migrate's figure only when there is one", () => {
    expect(downtime({ source, destination })).toEqual({ ok: true, ms: 2091, how: "src-downtime-start (src.trace:3) -> dst-precopy-bh-vm-started (dst.trace:5)", notes: [] });
    const reported = { file: "qm.json", result: parseQueryMigrate('{"status":"completed","total-time":9,"downtime":2093}').value!.result };
    const d = downtime({ source, destination, reported });
    expect(d.ok && d.notes).toEqual(["query-migrate reported 2093 ms (measured on the source alone)"]);
  });

  it("finds checkpoints written with trailing blanks, and names them without", () => {
    const src = trace("src.trace", "4390@99.999850:vmstate_downtime_checkpoint src-downtime-start  \n");
    const dst = trace("dst.trace", "9120@102.090850:vmstate_downtime_checkpoint dst-precopy-bh-vm-started \n");
    expect(downtime({ source: src, destination: dst })).toEqual({ ok: true, ms: 2091, how: "src-downtime-start (src.trace:1) -> dst-precopy-bh-vm-started (dst.trace:1)", notes: [] });
  });

  it("says which input is missing, and that query-migrate had no figure either", () => {
    const failed = { file: "qm.json", result: parseQueryMigrate('{"status":"failed","total-time":9}').value!.result };
    expect(downtime({ reported: failed })).toEqual({
      ok: false,
      why: "needs the source trace (src-downtime-start) and the destination trace, or a query-migrate reply; query-migrate (qm.json) reports no downtime (status failed)",
    });
    expect(why(downtime({ destination }))).toBe("needs the source trace (src-downtime-start) and the destination trace, or a query-migrate reply");
    const noEnd = trace("dst.trace", "9120@100.016300:vmstate_downtime_checkpoint dst-precopy-loadvm-completed\n");
    expect(why(downtime({ source, destination: noEnd }))).toBe("dst.trace has no dst-precopy-bh-vm-started checkpoint (trace vmstate_downtime_checkpoint)");
  });

  const reply = (seq: number) => `64 bytes from 10.0.0.2: icmp_seq=${seq} ttl=64 time=0.1 ms`;

  it("the longest gap: how many probes, their seqs, the replies around it and the interval", () => {
    // Lines 1..7 answer seqs 1, 2, 5, 6, 7, 20, 21: the gap 8..19 lies between lines 5 and 6.
    const s = serviceDowntime("ping.txt", parsePing([1, 2, 5, 6, 7, 20, 21].map(reply).join("\n")).value, { intervalMs: 2 });
    expect(s.downtime).toEqual({ ok: true, ms: 24, how: "longest gap: 12 probe(s) seq 8..19 unanswered (ping.txt:5 -> ping.txt:6); interval 2 ms from --interval", notes: [] });
  });

  it("of two gaps equally long, the first", () => {
    const s = serviceDowntime("ping.txt", parsePing([1, 4, 5, 8].map(reply).join("\n")).value, { intervalMs: 1 });
    expect(s.downtime.ok && s.downtime.how).toMatch(/seq 2\.\.3 /);
  });

  it("a gap before the first reply: lost from the header's first seq", () => {
    const s = serviceDowntime("ping.txt", parsePing(["PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.", reply(5), reply(6)].join("\n")).value, { intervalMs: 1 });
    expect(s.downtime.ok && s.downtime.how).toBe("longest gap: 4 probe(s) seq 1..4 unanswered (before ping.txt:2); interval 1 ms from --interval");
  });

  it("no gap: says so, with the count and the interval", () => {
    const s = serviceDowntime("ping.txt", parsePing([1, 2, 3].map(reply).join("\n")).value, { intervalMs: 1 });
    expect(s.downtime).toEqual({ ok: true, ms: 0, how: "no reply missing among 3 probes; interval 1 ms from --interval", notes: [] });
  });

  it("probes lost at the end: how many and how long, at the interval", () => {
    // 6 sent over 10 ms: 2 ms apart; 5 and 6 unanswered, 2 x 2 ms.
    const text = [...[1, 2, 4].map(reply), "6 packets transmitted, 3 received, 50% packet loss, time 10ms"].join("\n");
    const s = serviceDowntime("ping.txt", parsePing(text).value);
    expect(s.downtime.ok && s.downtime.notes).toEqual(["the last 2 probe(s) got no reply (4 ms): in flight when the log ended, or an outage that had not ended"]);
  });

  it("probes lost at the end of a log with send times but no interval: counted, without a duration", () => {
    const log = { format: "prober" as const, firstSeq: 1, lastSentSeq: 4, probes: [1, 2].map((seq) => ({ seq, line: seq, sent: seq * 10, received: seq * 10 + 0.2, answered: true })) };
    const s = serviceDowntime("p.jsonl", log);
    expect(s.downtime).toEqual({ ok: true, ms: 0, how: "no reply missing among 4 probes", notes: ["the last 2 probe(s) got no reply: in flight when the log ended, or an outage that had not ended"] });
  });

  it("without an interval it reports none", () => {
    const s = serviceDowntime("ping.txt", parsePing([1, 4].map(reply).join("\n")).value);
    expect(Object.keys(s).sort()).toEqual(["downtime", "lostReplies", "sent"]);
  });

  // ping -D: each reply carries its receive time; the send time is that less the round trip.
  const timed = (seq: number, sentMs: number) => {
    const at = 1700000000000 + sentMs + 0.2;
    return `[${Math.floor(at / 1000)}.${String(Math.round((at % 1000) * 1000)).padStart(6, "0")}] 64 bytes from 10.0.0.2: icmp_seq=${seq} ttl=64 time=0.200 ms`;
  };

  it("ping -D, a gap before the first reply: the first lost probe went count x interval before the reply's send", () => {
    // Header: seqs from 1; seq 5 sent at 40 ms; 1..4 lost, sent from 0 ms at 10 ms.
    const text = ["PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.", timed(5, 40), timed(6, 50)].join("\n");
    const s = serviceDowntime("ping.txt", parsePing(text).value, { intervalMs: 10 });
    expect(ms(s.downtime)).toBeCloseTo(40, 6);
  });

  it("send times without an interval: they do not say when the lost probes went", () => {
    // (parsePing takes the interval from two or more send times; a log without one, by hand.)
    const log = { format: "ping" as const, firstSeq: 1, probes: [{ seq: 1, line: 1, sent: 0, received: 0.2, answered: true }, { seq: 5, line: 2, sent: 40, received: 40.2, answered: true }] };
    const s = serviceDowntime("ping.txt", log);
    expect(s.lostReplies).toBe(3);
    expect(why(s.downtime)).toMatch(/probing interval is unknown/);
  });
});
