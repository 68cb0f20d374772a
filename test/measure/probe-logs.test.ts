import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parsePing } from "../../src/measure/ping.js";
import { parseProberLog } from "../../src/measure/prober-log.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/measure/${name}`, import.meta.url), "utf8");

describe("parsePing", () => {
  it("reads ping -D: reply time, and send time as reply time minus rtt", () => {
    const { value, problems } = parsePing("[1700000000.123456] 64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.045 ms\n");
    expect(problems).toEqual([]);
    expect(value.format).toBe("ping -D");
    const [probe] = value.probes;
    expect(probe).toMatchObject({ seq: 1, line: 1, answered: true });
    expect(probe.received).toBeCloseTo(1700000000123.456, 3);
    expect(probe.sent).toBeCloseTo(1700000000123.411, 3);
  });

  it("reads plain ping, hostnames with addresses, BusyBox's seq= and time<1", () => {
    const text = [
      "PING guest (10.0.0.2) 56(84) bytes of data.",
      "64 bytes from guest (10.0.0.2): icmp_seq=1 ttl=64 time=0.045 ms",
      "64 bytes from 10.0.0.2: seq=2 ttl=64 time=0.050 ms",
      "64 bytes from 10.0.0.2: icmp_seq=3 ttl=64 time<1 ms",
      "64 bytes from fe80::5054:ff:fe12:3456%eth0: icmp_seq=4 ttl=64 time=0.061 ms",
    ].join("\n");
    const { value, problems } = parsePing(text);
    expect(problems).toEqual([]);
    expect(value.format).toBe("ping");
    expect(value.probes.map((p) => [p.seq, p.answered, p.sent])).toEqual([[1, true, undefined], [2, true, undefined], [3, true, undefined], [4, true, undefined]]);
  });

  it("counts Unreachable and 'no answer yet' lines as probes without a reply", () => {
    const text = [
      "[1700000000.000100] 64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.100 ms",
      "[1700000000.101000] From 10.0.0.1 icmp_seq=2 Destination Host Unreachable",
      "[1700000000.202000] no answer yet for icmp_seq=3",
    ].join("\n");
    const { value } = parsePing(text);
    expect(value.probes.map((p) => [p.seq, p.answered])).toEqual([[1, true], [2, false], [3, false]]);
  });

  it("keeps the first reply when a probe is answered twice (DUP!)", () => {
    const text = [
      "64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.100 ms",
      "64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.300 ms (DUP!)",
    ].join("\n");
    const { value, problems } = parsePing(text);
    expect(value.probes).toHaveLength(1);
    expect(value.probes[0].line).toBe(1);
    expect(problems).toEqual([expect.objectContaining({ line: 2, severity: "warning" })]);
  });

  it("unwraps icmp_seq past 65535", () => {
    const text = [65534, 65535, 0, 1].map((s) => `64 bytes from 10.0.0.2: icmp_seq=${s} ttl=64 time=0.1 ms`).join("\n");
    expect(parsePing(text).value.probes.map((p) => p.seq)).toEqual([65534, 65535, 65536, 65537]);
  });

  it("finds the interval in a ping -i command line, else in the summary", () => {
    const withCommand = "$ ping -D -i 0.001 10.0.0.2\n64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.1 ms\n";
    expect(parsePing(withCommand).value).toMatchObject({ intervalMs: 1 });
    // 400 probes over 399 ms: one every millisecond
    const { value } = parsePing(fixture("probes/ping-2015.txt"));
    expect(value).toMatchObject({ format: "ping", intervalMs: 1, transmitted: 400 });
    expect(value.intervalFrom).toMatch(/summary/);
  });

  it("prefers the spacing ping -D measured over the interval it was asked for", () => {
    const text = [
      "$ ping -D -i 0.01 10.0.0.2",
      "[1700000000.000100] 64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.100 ms",
      "[1700000000.020100] 64 bytes from 10.0.0.2: icmp_seq=2 ttl=64 time=0.100 ms",
      "[1700000000.040100] 64 bytes from 10.0.0.2: icmp_seq=3 ttl=64 time=0.100 ms",
    ].join("\n");
    expect(parsePing(text).value.intervalMs).toBe(20);
  });

  it("refuses a reply line it cannot read, naming the line", () => {
    const text = "64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.1 ms\n64 bytes from 10.0.0.2: icmp_seq=x ttl=64\n";
    const { problems } = parsePing(text);
    expect(problems).toEqual([expect.objectContaining({ line: 2, severity: "error" })]);
  });
});

describe("parseProberLog", () => {
  it("reads livemig prober records, answered and not", () => {
    const text = '{"seq":7,"sent":1000.5,"received":1000.6}\n{"seq":8,"sent":1001.5,"received":null}\n';
    const { value, problems } = parseProberLog(text);
    expect(problems).toEqual([]);
    expect(value.format).toBe("prober");
    expect(value.firstSeq).toBe(7);
    expect(value.probes).toEqual([
      { seq: 7, line: 1, sent: 1000.5, received: 1000.6, answered: true },
      { seq: 8, line: 2, sent: 1001.5, answered: false },
    ]);
    expect(value.intervalMs).toBe(1);
  });

  it("refuses a record of the wrong shape, naming line and field", () => {
    const text = '{"seq":1,"sent":1,"received":2}\n{"seq":2,"sent":"soon","received":null}\n{"seq":3,"sent":3,"received":4}\n';
    const { problems } = parseProberLog(text);
    expect(problems).toEqual([expect.objectContaining({ line: 2, severity: "error" })]);
    expect(problems[0].message).toContain('"sent"');
  });

  it("refuses a reply received before its probe was sent", () => {
    const { problems } = parseProberLog('{"seq":1,"sent":10,"received":9}\n');
    expect(problems[0]).toMatchObject({ line: 1, severity: "error" });
  });

  it("ignores a last record cut off by a killed prober, but not a broken one in the middle", () => {
    expect(parseProberLog('{"seq":1,"sent":1,"received":2}\n{"seq":2,"se').problems).toEqual([expect.objectContaining({ line: 2, severity: "warning" })]);
    expect(parseProberLog('{"seq":1,"se\n{"seq":2,"sent":1,"received":2}\n').problems).toEqual([expect.objectContaining({ line: 1, severity: "error" })]);
  });
});
