// A strategy's costs: each with its default, unit and where the figure comes from.
// docs/model.md is the long form; `livemig simulate --costs` prints these tables.

export interface Cost {
  value: number;
  unit: string;
  source: string;
}

export type CostTable = Record<string, Cost>;

/** Cost values for one device: the table's defaults with a scenario's overrides applied. */
export type CostValues<T extends CostTable> = { [K in keyof T]: number };

export function costValues<T extends CostTable>(table: T, overrides: Partial<Record<keyof T, number>>): CostValues<T> {
  const out = {} as CostValues<T>;
  for (const k of Object.keys(table) as (keyof T)[]) out[k] = overrides[k] ?? table[k].value;
  return out;
}
