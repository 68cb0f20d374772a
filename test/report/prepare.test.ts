// The HTML report's data preparation: the three windows, phases, passes, prober and tables,
// from real simulated results.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { MigrationResult } from "../../src/core/result.js";
import { breakdownRows, downtimeRows, queryMigrateTable } from "../../src/report/html/figures.js";
import { renderHtmlReport } from "../../src/report/html/index.js";
import { passRows } from "../../src/report/html/passes.js";
import { phaseBars, switchOverRange } from "../../src/report/html/phases.js";
import { proberSeries } from "../../src/report/html/prober.js";
import { downtimeWindows } from "../../src/report/html/windows.js";
import { loadScenario } from "../../src/scenario/load.js";
import { simulate } from "../../src/sim/simulate.js";

async function simulateFile(file: string): Promise<Record<string, MigrationResult>> {
  const out: Record<string, MigrationResult> = {};
  for (const r of loadScenario(readFileSync(file, "utf8"), file)) out[r.variant] = await simulate(r.scenario);
  return out;
}

let vdpa: Record<string, MigrationResult>;
let vf: Record<string, MigrationResult>;
beforeAll(async () => {
  vdpa = await simulateFile("scenarios/2025-vdpa-39g.yaml");
  vf = await simulateFile("scenarios/2015-82599-enlightened.yaml");
});

describe("downtime windows", () => {
  it("bound the result's three downtimes with the events they are defined by", () => {
    const r = vdpa.base;
    const w = Object.fromEntries(downtimeWindows(r).map((x) => [x.name, x]));
    const at = (kind: string) => r.timeline.filter((e) => e.kind === kind).map((e) => e.t);
    expect(w.downtime.ms).toBe(r.downtime);
    expect(w.downtime.t).toBe(at("vm-stop")[0]);
    expect(w.downtime.end).toBe(at("vm-resume")[0]);
    expect(w["guest-visible-downtime"].ms).toBe(r["guest-visible-downtime"]);
    expect(w["guest-visible-downtime"].t).toBe(at("nic-suspend").at(-1));
    expect(w["guest-visible-downtime"].end).toBe(at("nic-ready").at(-1));
    expect(w["service-downtime"].ms).toBe(r["service-downtime"]);
    for (const x of Object.values(w)) expect(x.end - x.t).toBeCloseTo(x.ms, 0);
    // The NIC is suspended after the vCPUs stop: guest-visible starts inside downtime.
    expect(w["guest-visible-downtime"].t).toBeGreaterThan(w.downtime.t);
  });

  it("the service window is the longest probe gap, not the first", () => {
    const gaps = vdpa.base.timeline.filter((e) => e.kind === "probe-gap");
    expect(gaps.length).toBeGreaterThan(1);
    const service = downtimeWindows(vdpa.base).find((x) => x.name === "service-downtime")!;
    expect(service.t).toBe(gaps[1].t);
  });

  it("a blocked migration has no window", async () => {
    const blocked = await simulateFile("scenarios/2015-82599-no-support.yaml");
    expect(downtimeWindows(blocked.base)).toEqual([]);
    expect(switchOverRange(blocked.base)).toBeUndefined();
  });
});

describe("breakdown and figures", () => {
  it("one bar per run whose components sum to its downtime; early pinning leaves the downtime", () => {
    const rows = breakdownRows([{ name: "at-start", result: vdpa.base }, { name: "early", result: vdpa.early }]);
    const sum = (run: string) => rows.filter((r) => r.run === run).reduce((s, r) => s + r.ms, 0);
    expect(sum("at-start")).toBeCloseTo(vdpa.base.downtime!, 1);
    expect(sum("early")).toBeCloseTo(vdpa.early.downtime!, 1);
    const pinning = (run: string) => rows.find((r) => r.run === run && r.component === "pinning")?.ms ?? 0;
    expect(pinning("at-start")).toBeGreaterThan(2000);
    expect(pinning("early")).toBe(0);
    expect(rows.every((r) => r.ms > 0)).toBe(true);
  });

  it("the three downtimes come straight from the results", () => {
    const rows = downtimeRows([{ name: "early", result: vdpa.early }]);
    expect(rows).toEqual([
      { run: "early", figure: "downtime", ms: vdpa.early.downtime },
      { run: "early", figure: "guest-visible-downtime", ms: vdpa.early["guest-visible-downtime"] },
      { run: "early", figure: "service-downtime", ms: vdpa.early["service-downtime"] },
    ]);
  });

  it("the query-migrate table has QEMU's fields, one column per run, and flags stale pages", () => {
    const t = queryMigrateTable([{ name: "base", result: vf.base }, { name: "no-enlightenment", result: vf["no-enlightenment"] }]);
    expect(t.head).toEqual(["field", "base", "no-enlightenment"]);
    const row = (f: string) => t.rows.find((r) => r[0] === f)!;
    expect(row("ram.dirty-sync-count").slice(1)).toEqual([String(vf.base.ram["dirty-sync-count"]), String(vf["no-enlightenment"].ram["dirty-sync-count"])]);
    expect(row("stale-pages")[1]).toBe("0");
    expect(row("stale-pages")[2]).toMatch(/^\d+ UNSAFE$/);
    expect(row("status")[2]).toBe("completed-unsafe");
  });
});

describe("phases, passes and prober", () => {
  it("early pinning runs during precopy on the destination; at-start inside the stop", () => {
    const pinning = (r: MigrationResult) => phaseBars(r).filter((b) => b.lane === "destination" && b.category === "pinning");
    const stop = (r: MigrationResult) => r.timeline.find((e) => e.kind === "vm-stop")!.t;
    expect(pinning(vdpa.base).every((b) => b.t >= stop(vdpa.base))).toBe(true);
    expect(pinning(vdpa.early).some((b) => b.end <= stop(vdpa.early) && b.end - b.t > 1000)).toBe(true);
  });

  it("setup, then the passes in order, then stop-and-copy and announce", () => {
    const bars = phaseBars(vf.base).filter((b) => b.lane === "migration");
    expect(bars.map((b) => b.category).join(",")).toMatch(/^setup,(pass,)+stop-and-copy,announce$/);
    const passes = bars.filter((b) => b.category === "pass");
    expect(passes.length).toBeLessThanOrEqual(vf.base.passes.length);
    for (let i = 1; i < bars.length; i++) expect(bars[i].t).toBeGreaterThanOrEqual(bars[i - 1].end - 1e-9);
  });

  it("pass rows carry remaining bytes and bandwidth of every pass", () => {
    const rows = passRows(vf.base);
    expect(rows.filter((r) => r.series === "remaining dirty").map((r) => r.value * 2 ** 20)).toEqual(vf.base.passes.map((p) => p["remaining-bytes"]));
    expect(rows.filter((r) => r.series === "bandwidth estimate").map((r) => r.value * 2 ** 20)).toEqual(vf.base.passes.map((p) => p.bandwidth));
  });

  it("the prober series is silent across the service gap and answers elsewhere", () => {
    const series = proberSeries(vdpa.base)!;
    expect(series.interval).toBe(1);
    expect(series.bins.length).toBeLessThanOrEqual(400);
    const service = series.gaps.find((g) => g.service)!;
    expect(service.end - service.t).toBe(vdpa.base["service-downtime"]);
    const inside = series.bins.filter((b) => b.t >= service.t && b.end <= service.end);
    expect(inside.length).toBeGreaterThan(0);
    expect(inside.every((b) => b.answered === 0)).toBe(true);
    const after = series.bins.filter((b) => b.t > service.end);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((b) => b.answered === 100)).toBe(true);
  });
});

describe("the HTML document", () => {
  it("shows stale pages as a loud warning and draws every plot as inline SVG", async () => {
    const html = await renderHtmlReport({ title: "t", runs: [{ variant: "no-enlightenment", result: vf["no-enlightenment"] }] });
    expect(html).toMatch(/<div class="warnings" role="alert"><ul><li>no-enlightenment: UNSAFE: \d+ guest pages/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    for (const kind of ["downtimes", "breakdown", "timeline", "switch-over", "passes", "prober"]) {
      expect(html).toMatch(new RegExp(`<figure class="plot" data-plot="${kind}"><svg`));
    }
  });
});
