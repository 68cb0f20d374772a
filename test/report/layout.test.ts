// The what-if page's plots: a spec split into layout and data, compiled once, fed its data
// afterwards, draws exactly what the spec draws (the report's SVG); a View kept alive and
// fed another result's data draws what a fresh one draws.
import { readFileSync } from "node:fs";
import { parse, View } from "vega";
import { compile } from "vega-lite";
import { beforeAll, describe, expect, it } from "vitest";
import type { MigrationResult } from "../../src/core/result.js";
import { categoriesOf, runCharts, summaryCharts, type Chart } from "../../src/report/html/charts.js";
import type { NamedRun } from "../../src/report/html/figures.js";
import { splitSpec } from "../../src/report/html/layout.js";
import { specToSvg } from "../../src/report/html/svg.js";
import { loadScenario } from "../../src/scenario/load.js";
import { simulate } from "../../src/sim/simulate.js";

async function simulateText(yaml: string): Promise<NamedRun[]> {
  const runs: NamedRun[] = [];
  for (const r of loadScenario(yaml, "scenario")) runs.push({ name: r.variant, result: (await simulate(r.scenario)) as MigrationResult });
  return runs;
}

function charts(runs: NamedRun[]): Chart[] {
  const categories = categoriesOf(runs);
  return [...summaryCharts(runs, categories), ...runs.flatMap((r) => runCharts(r, categories))];
}

function feed(view: View, spec: Chart["spec"]) {
  const s = splitSpec(spec);
  for (const [name, values] of s.data) view.data(name, values);
  for (const [name, value] of s.signals) view.signal(name, value);
  return view;
}

/** Clip-path ids count up over every view drawn: number them per SVG. */
function normal(svg: string): string {
  const ids = new Map<string, string>();
  return svg.replace(/clip\d+/g, (id) => ids.get(id) ?? (ids.set(id, `clip${ids.size}`), `clip${ids.size - 1}`));
}

/** The first difference and a little around it (an SVG is too long to print whole). */
function difference(a: string, b: string): string | undefined {
  if (a === b) return undefined;
  let i = 0;
  while (a[i] === b[i]) i++;
  return `at ${i}: ...${a.slice(Math.max(0, i - 120), i + 120)}... vs ...${b.slice(Math.max(0, i - 120), i + 120)}...`;
}

/** The SVG's elements as a sorted list: a kept View's axes keep their old ticks first and
 * add the new ones after, the same drawing in another order of elements. */
const elements = (svg: string) => svg.split(/(?=<)/).sort().join("\n");

const newView = (spec: Chart["spec"]) => new View(parse(compile(splitSpec(spec).layout).spec), { renderer: "none" });

const scenario = readFileSync("scenarios/2025-vdpa-39g.yaml", "utf8");
let first: Chart[];
let second: Chart[];
beforeAll(async () => {
  first = charts(await simulateText(scenario));
  second = charts(await simulateText(scenario.replace(/memory: \S+/, "memory: 48GiB")));
}, 60_000);

describe("a plot's layout and data", () => {
  it("draws what the spec draws", async () => {
    expect(first.map((c) => c.kind)).toEqual(["downtimes", "breakdown", "timeline", "switch-over", "passes", "prober", "timeline", "switch-over", "passes", "prober"]);
    for (const chart of first) {
      const view = feed(newView(chart.spec), chart.spec);
      expect(difference(normal(await view.toSVG()), normal(await specToSvg(chart.spec))), chart.kind).toBeUndefined();
      view.finalize();
    }
  }, 60_000);

  it("keeps its key when only the data moves, and a kept View draws the new data", async () => {
    expect(second.map((c) => c.kind)).toEqual(first.map((c) => c.kind));
    for (const [i, chart] of second.entries()) {
      expect(splitSpec(chart.spec).key, chart.kind).toBe(splitSpec(first[i].spec).key);
      const view = feed(newView(first[i].spec), first[i].spec);
      await view.runAsync();
      feed(view, chart.spec);
      const svg = normal(await view.toSVG());
      expect(difference(elements(svg), elements(normal(await specToSvg(chart.spec)))), chart.kind).toBeUndefined();
      expect(svg, chart.kind).not.toBe(normal(await specToSvg(first[i].spec)));
      view.finalize();
    }
  }, 60_000);
});
