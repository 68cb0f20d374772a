// A plot's spec split into its layout and its data, so that a live page (the what-if page)
// compiles a layout once and then only feeds its vega View new data. The layout is the spec
// with every inline dataset replaced by a named one and every numeric scale domain (the
// switch-over's time range, which moves with each result) by parameters; it compiles to the
// same vega spec with the values left out, and the View lays itself out again whenever it is
// fed. Plots look exactly as from the spec itself (test/report/layout.test.ts).

import type { TopLevelSpec } from "vega-lite";

export interface SplitSpec {
  /** The layout: plots with the same key can share one compiled spec and one View. */
  key: string;
  layout: TopLevelSpec;
  /** The values of the named datasets (vega data sources of the same names). */
  data: Map<string, unknown[]>;
  /** The values of the domain parameters (vega signals of the same names). */
  signals: Map<string, number>;
}

const prefix = "livemig_";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

export function splitSpec(spec: TopLevelSpec): SplitSpec {
  const data = new Map<string, unknown[]>();
  const signals = new Map<string, number>();
  const walk = (node: unknown, key?: string): unknown => {
    if (Array.isArray(node)) return node.map((v) => walk(v));
    if (!isObject(node)) return node;
    if (key === "data" && Array.isArray(node.values)) {
      const name = `${prefix}data_${data.size}`;
      data.set(name, node.values);
      const { values: _, ...rest } = node;
      return { ...rest, name };
    }
    if (key === "scale" && Array.isArray(node.domain) && node.domain.length > 0 && node.domain.every((v) => typeof v === "number")) {
      // One parameter per value: a domain repeated in every layer stays one domain.
      const domain = (node.domain as number[]).map((v) => {
        const name = [...signals].find(([, value]) => value === v)?.[0] ?? `${prefix}domain_${signals.size}`;
        signals.set(name, v);
        return { expr: name };
      });
      return { ...mapValues(node, walk), domain };
    }
    return mapValues(node, walk);
  };
  const layout = walk(spec) as Json;
  // A View fed new data lays itself out again (vega's autosize does not by default).
  layout.autosize = { type: "pad", ...(isObject(layout.autosize) ? layout.autosize : {}), resize: true };
  if (signals.size > 0) {
    // Variable parameters; their values are set on the View, not in the layout.
    const params = [...signals.keys()].map((name) => ({ name, value: 0 }));
    layout.params = [...((layout.params as unknown[] | undefined) ?? []), ...params];
  }
  return { key: JSON.stringify(layout), layout: layout as unknown as TopLevelSpec, data, signals };
}

function mapValues(node: Json, f: (v: unknown, key: string) => unknown): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) out[k] = f(v, k);
  return out;
}
