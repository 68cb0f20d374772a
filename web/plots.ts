// Draws the report's vega-lite specs into the page with vega's SVG renderer.

import { parse, View } from "vega";
import { compile } from "vega-lite";
import type { Chart } from "../src/report/html/charts.js";

let views: View[] = [];

/** Replaces every plot; resolves once all are drawn. The first group (the side-by-side
 * plots) is drawn before the rest is built, and `firstDrawn` says when. */
export async function drawPlots(container: HTMLElement, groups: { heading?: string; run?: string; charts: Chart[] }[], firstDrawn?: () => void): Promise<void> {
  for (const v of views) v.finalize();
  views = [];
  container.replaceChildren();
  let pending: Promise<unknown>[] = [];
  for (const [i, g] of groups.entries()) {
    const fragment = document.createDocumentFragment();
    if (g.heading) {
      const h = document.createElement("h2");
      h.textContent = g.heading;
      fragment.append(h);
    }
    for (const chart of g.charts) {
      const figure = document.createElement("figure");
      figure.dataset.plot = chart.kind;
      if (g.run) figure.dataset.run = g.run;
      fragment.append(figure);
      const view = new View(parse(compile(chart.spec).spec), { renderer: "svg", container: figure, hover: false });
      views.push(view);
      pending.push(view.runAsync());
    }
    container.append(fragment);
    if (i === 0) {
      await Promise.all(pending);
      pending = [];
      firstDrawn?.();
    }
  }
  await Promise.all(pending);
}
