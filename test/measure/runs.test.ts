import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compareRuns, summarizeRuns } from "../../src/measure/compare.js";
import { detectKind } from "../../src/measure/detect.js";
import { loadText, type MeasuredFile } from "../../src/measure/load.js";
import { analyzeRun, runsOf, type RunAnalysis } from "../../src/measure/runs.js";

const root = fileURLToPath(new URL("../fixtures/measure/", import.meta.url));
const read = (name: string) => readFileSync(join(root, name), "utf8");

function load(name: string, variant?: string): MeasuredFile[] {
  const loaded = loadText(name, read(name), variant);
  const bad = loaded.problems.find((p) => p.severity === "error");
  if (bad) throw new Error(`${name}:${bad.line}: ${bad.message}`);
  return loaded.files;
}

function analyzeDirectory(dir: string): RunAnalysis[] {
  const files = readdirSync(join(root, dir)).sort().flatMap((n) => load(`${dir}/${n}`));
  return runsOf({ label: dir, files }).runs.map((r) => analyzeRun(r));
}

const value = (run: RunAnalysis, name: string) => run.figures.find((f) => f.name === name)?.value;

/** Time of a trace line, in ms, read straight from the fixture's text. */
function lineTime(name: string, line: number): number {
  const m = /^\d+@(\d+)\.(\d{6}):/.exec(read(name).split("\n")[line - 1])!;
  return Number(m[1]) * 1000 + Number(m[2]) / 1000;
}

describe("detectKind", () => {
  it("tells every fixture's kind from its first lines", () => {
    expect(detectKind(read("vdpa-pair/src.trace"))).toEqual({ ok: true, kind: "trace" });
    expect(detectKind(read("iso/dst.trace"))).toEqual({ ok: true, kind: "trace" });
    expect(detectKind(read("vdpa-pair/ping.txt"))).toEqual({ ok: true, kind: "ping" });
    expect(detectKind(read("probes/ping-2015.txt"))).toEqual({ ok: true, kind: "ping" });
    expect(detectKind(read("probes/prober.jsonl"))).toEqual({ ok: true, kind: "prober" });
    expect(detectKind(read("vdpa-pair/query-migrate.json"))).toEqual({ ok: true, kind: "query-migrate" });
    expect(detectKind(read("query-migrate/polled.jsonl"))).toEqual({ ok: true, kind: "query-migrate" });
    expect(detectKind(read("query-migrate/list.json"))).toEqual({ ok: true, kind: "query-migrate" });
    // ping output without its first line
    expect(detectKind("64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.1 ms\n")).toEqual({ ok: true, kind: "ping" });
    expect(detectKind("[1700000000.123456] 64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.045 ms\n")).toEqual({ ok: true, kind: "ping" });
    expect(detectKind(read("simulate-vdpa.json"))).toEqual({ ok: true, kind: "simulate" });
  });

  it("refuses binary data and prose", () => {
    expect(detectKind("\xff\xff\xff\xff\0\0\0").ok).toBe(false);
    expect(detectKind("Dear diary,\ntoday I migrated a VM.\n").ok).toBe(false);
    expect(detectKind("").ok).toBe(false);
  });
});

describe("the worked example: one vDPA pair with its ping log and query-migrate reply", () => {
  const [run] = analyzeDirectory("vdpa-pair");

  it("pairs the traces and derives all three downtimes", () => {
    expect(run.files.map((f) => f.what.split(" (")[0])).toEqual(["source trace", "destination trace", "ping -D log, 150 replies", "query-migrate reply"]);
    // last suspend (src.trace:24) to last enable (dst.trace:31)
    const expected = Math.round((lineTime("vdpa-pair/dst.trace", 31) - lineTime("vdpa-pair/src.trace", 24)) * 1000) / 1000;
    expect(expected).toBe(2090);
    expect(value(run, "guest-visible-downtime")).toBe(2090);
    // src-downtime-start (src.trace:23) to dst-precopy-bh-vm-started (dst.trace:32)
    expect(value(run, "downtime")).toBe(Math.round((lineTime("vdpa-pair/dst.trace", 32) - lineTime("vdpa-pair/src.trace", 23)) * 1000) / 1000);
    // ping every 10 ms; the fixture lost seqs 100..309
    expect(value(run, "service-downtime")).toBe(2100);
    expect(value(run, "lost-replies")).toBe(210);
  });

  it("takes total time and counters from query-migrate", () => {
    expect(value(run, "total-time")).toBe(34086);
    expect(value(run, "transferred")).toBe(11876052992);
    expect(run.status).toBe("completed");
  });
});

describe("runsOf", () => {
  it("pairs the i-th source with the i-th destination in name order", () => {
    const runs = analyzeDirectory("runs/early");
    expect(runs).toHaveLength(5);
    runs.forEach((r, i) => {
      expect(r.files.map((f) => f.file)).toEqual([`runs/early/run${i + 1}-src.trace`, `runs/early/run${i + 1}-dst.trace`]);
    });
    // the guest-visible downtimes the fixtures were written with
    expect(runs.map((r) => value(r, "guest-visible-downtime"))).toEqual([2087, 2121, 2049, 2108, 2093]);
  });

  it("says when the counts of each kind differ", () => {
    const files = [...load("vdpa-pair/src.trace"), ...load("vdpa-pair/dst.trace"), ...load("probes/ping-2015.txt"), ...load("probes/prober.jsonl")];
    const { runs, notes } = runsOf({ label: "mixed", files });
    expect(runs).toHaveLength(2);
    expect(runs[1].source).toBeUndefined();
    expect(notes[0]).toMatch(/1 source trace.*2 ping\/prober log/);
  });

  it("reports a trace of neither end instead of pairing it", () => {
    const { runs } = runsOf({ label: "x", files: load("qemu-devel-2023.trace") });
    const analysis = analyzeRun(runs[0]);
    expect(analysis.files[0].what).toMatch(/neither end/);
    expect(value(analysis, "guest-visible-downtime")).toBeUndefined();
  });

  it("reads each run of a simulate output as a prediction", () => {
    const [prediction] = runsOf({ label: "sim", files: load("simulate-vdpa.json", "early") }).runs.map((r) => analyzeRun(r));
    expect(value(prediction, "guest-visible-downtime")).toBe(2097.4);
    expect(value(prediction, "lost-replies")).toBe(2108);
  });

  it("refuses a simulate output with several variants unless one is picked", () => {
    const loaded = loadText("simulate-vdpa.json", read("simulate-vdpa.json"));
    expect(loaded.problems[0].message).toMatch(/at-start, early: pick one/);
    expect(loadText("simulate-vdpa.json", read("simulate-vdpa.json"), "late").problems[0].message).toMatch(/no variant "late"/);
  });
});

describe("summarizeRuns and compareRuns", () => {
  const atStart = analyzeDirectory("runs/at-start");
  const early = analyzeDirectory("runs/early");

  it("summarizes each figure over the runs", () => {
    const gv = summarizeRuns(early).find((s) => s.name === "guest-visible-downtime")!;
    expect(gv.summary).toMatchObject({ runs: 5, median: 2093, min: 2049, max: 2121 });
    const service = summarizeRuns(early).find((s) => s.name === "service-downtime")!;
    expect(service.summary).toBeUndefined();
    expect(service.missing[0]).toMatch(/ping/);
  });

  it("reproduces the 2025 series' 39 GiB line from five runs each way", () => {
    const row = compareRuns(atStart, early).rows.find((r) => r.name === "guest-visible-downtime")!;
    // medians of 4718 4694 4751 4706 4779 and of 2087 2121 2049 2108 2093
    expect(row.a.median).toBe(4718);
    expect(row.b.median).toBe(2093);
    expect(row.difference).toBe(-2625);
    expect(row.beyondNoise).toBe(true);
    expect(row.interval!.hi).toBeLessThan(0);
  });

  it("finds no difference between a set and itself", () => {
    const row = compareRuns(early, early).rows.find((r) => r.name === "guest-visible-downtime")!;
    expect(row.difference).toBe(0);
    expect(row.beyondNoise).toBe(false);
  });

  it("compares measured runs with a prediction, without an interval for the single prediction", () => {
    const prediction = runsOf({ label: "sim", files: load("simulate-vdpa.json", "early") }).runs.map((r) => analyzeRun(r));
    const comparison = compareRuns(early, prediction);
    const row = comparison.rows.find((r) => r.name === "guest-visible-downtime")!;
    expect(row.difference).toBeCloseTo(2097.4 - 2093, 9);
    expect(row.interval).toBeUndefined();
    expect(row.beyondNoise).toBeUndefined();
    expect(comparison.unmatched).toContainEqual({ name: "service-downtime", side: "B" });
  });
});
