// What every strategy file exports: its kind, its cost table, the device-entry options it
// takes (a zod object schema, so scenario errors name the field), and a factory.

import type * as z from "../../zod.js";
import type { CostTable, CostValues } from "../costs.js";
import type { Device } from "../device.js";

export interface VmShape {
  ramBytes: number;
  pageSize: number;
  vcpus: number;
}

export interface Strategy<C extends CostTable = CostTable, O extends z.ZodMiniObject = z.ZodMiniObject> {
  kind: string;
  summary: string;
  costs: C;
  options: O;
  create(options: z.infer<O>, costs: CostValues<C>, vm: VmShape): Device;
}

export function defineStrategy<C extends CostTable, O extends z.ZodMiniObject>(s: Strategy<C, O>): Strategy<C, O> {
  return s;
}
