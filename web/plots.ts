// Draws the report's vega-lite specs into the page with vega's SVG renderer. Each plot keeps
// its vega View while its layout (the spec without its data, src/report/html/layout.ts)
// stays the same, and is only fed the new data: vega-lite compiles a layout once, and vega
// redraws only what changed.

import { parse, View } from "vega";
import { compile } from "vega-lite";
import type { Chart } from "../src/report/html/charts.js";
import { splitSpec } from "../src/report/html/layout.js";

export interface PlotGroup {
  heading?: string;
  run?: string;
  charts: Chart[];
  /** Says what the charts were made from: a group with the token it was last drawn with is
   * already drawn, and is left as it is. */
  token?: string;
}

interface Plot {
  figure: HTMLElement;
  key?: string;
  view?: View;
}

/** Compiled layouts, by key; a few, for layouts that come back (a control moved back). */
const compiled = new Map<string, ReturnType<typeof compile>["spec"]>();
const keep = 64;

function compiledLayout(key: string, layout: Chart["spec"]) {
  let spec = compiled.get(key);
  if (!spec) {
    spec = compile(layout).spec;
    if (compiled.size >= keep) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, spec);
  }
  return spec;
}

/** The groups on the page: their shape (heading or not, run, plot kinds), elements, token. */
interface DrawnGroup {
  shape: string;
  heading?: HTMLElement;
  plots: Plot[];
  token?: string;
}
let drawn: DrawnGroup[] = [];

const shapeOf = (g: PlotGroup) => JSON.stringify([g.heading !== undefined, g.run ?? null, g.charts.map((c) => c.kind)]);

/** Draws the groups' plots, reusing the page's elements and Views where the groups have the
 * same shape as last time; resolves once all are drawn. The first group (the side-by-side
 * plots) is drawn before the rest, and `firstDrawn` says when. One call at a time. */
export async function drawPlots(container: HTMLElement, groups: PlotGroup[], firstDrawn?: () => void): Promise<void> {
  const shapes = groups.map(shapeOf);
  if (shapes.join("\n") !== drawn.map((d) => d.shape).join("\n")) build(container, groups, shapes);
  for (const [i, g] of groups.entries()) {
    await drawInto(drawn[i], g);
    if (i === 0) firstDrawn?.();
  }
}

/** Draws one group in its place, ahead of the others (a run whose result came back first),
 * if the page has a group of its shape there; says whether it did. */
export async function drawGroup(index: number, group: PlotGroup): Promise<boolean> {
  const d = drawn[index];
  if (!d || d.shape !== shapeOf(group)) return false;
  await drawInto(d, group);
  return true;
}

async function drawInto(d: DrawnGroup, g: PlotGroup) {
  if (g.token !== undefined && g.token === d.token) return;
  d.token = undefined;
  if (d.heading) d.heading.textContent = g.heading ?? "";
  await Promise.all(g.charts.map((chart, i) => draw(d.plots[i], chart)));
  d.token = g.token;
}

function build(container: HTMLElement, groups: PlotGroup[], shapes: string[]) {
  for (const d of drawn) for (const plot of d.plots) plot.view?.finalize();
  const fragment = document.createDocumentFragment();
  drawn = groups.map((g, i) => {
    const d: DrawnGroup = { shape: shapes[i], plots: [] };
    if (g.heading !== undefined) {
      d.heading = document.createElement("h2");
      fragment.append(d.heading);
    }
    for (const chart of g.charts) {
      const figure = document.createElement("figure");
      figure.dataset.plot = chart.kind;
      if (g.run) figure.dataset.run = g.run;
      d.plots.push({ figure });
      fragment.append(figure);
    }
    return d;
  });
  container.replaceChildren(fragment);
}

async function draw(plot: Plot, chart: Chart): Promise<void> {
  const split = splitSpec(chart.spec);
  if (plot.key !== split.key || !plot.view) {
    plot.view?.finalize();
    plot.figure.replaceChildren();
    plot.view = new View(parse(compiledLayout(split.key, split.layout)), { renderer: "svg", container: plot.figure, hover: false });
    plot.key = split.key;
  }
  const view = plot.view;
  for (const [name, values] of split.data) view.data(name, values);
  for (const [name, value] of split.signals) view.signal(name, value);
  await view.runAsync();
}
