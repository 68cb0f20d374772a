// A vega-lite spec compiled with vega-lite and rendered to an SVG string by vega, headless.

import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export async function specToSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
