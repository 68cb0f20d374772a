// The scenario file: a public contract (README "Scenario files"). Validation names the field
// and says what was expected; quantities take units (units.ts).

import { z } from "zod";
import { strategies } from "../core/strategies/index.js";
import { parseBandwidth, parseDuration, parsePacketRate, parseSize, type Parsed } from "./units.js";

function quantity(parse: (v: unknown) => Parsed) {
  return z.unknown().transform((v, ctx) => {
    const r = parse(v);
    if (r.ok) return r.value;
    ctx.addIssue({ code: "custom", message: `expected ${r.expected}, got ${JSON.stringify(v)}`, input: v });
    return z.NEVER;
  });
}

const size = quantity(parseSize);
const bandwidth = quantity(parseBandwidth);
const duration = quantity(parseDuration);
const packetRate = quantity(parsePacketRate);

function number(min: number, max = Infinity, integer = false) {
  return z.unknown().transform((v, ctx) => {
    if (typeof v === "number" && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v))) return v;
    const what = integer ? "an integer" : "a number";
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    ctx.addIssue({ code: "custom", message: `expected ${what} ${range}, got ${JSON.stringify(v)}`, input: v });
    return z.NEVER;
  });
}

const rx = z.strictObject({ rate: packetRate, size: size.default(1500) });

const workloadBase = { workingSet: size, rate: number(0), rx: rx.optional() };

export const workloadSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("idle"), rx: rx.optional() }),
  z.strictObject({ kind: z.literal("uniform"), ...workloadBase }),
  z.strictObject({
    kind: z.literal("hotcold"),
    ...workloadBase,
    hotFraction: number(0, 1).default(0.1),
    hotShare: number(0, 1).default(0.9),
  }),
  z.strictObject({ kind: z.literal("zipf"), ...workloadBase, exponent: number(0, 10).default(1) }),
  z.strictObject({ kind: z.literal("scan"), ...workloadBase }),
]);

const deviceSchema = z.unknown().transform((v, ctx) => {
  const kinds = Object.keys(strategies);
  const kind = (v as { kind?: unknown } | null)?.kind;
  const strategy = typeof kind === "string" ? strategies[kind] : undefined;
  if (!strategy) {
    ctx.addIssue({ code: "custom", message: `expected kind to be one of ${kinds.join(", ")}, got ${JSON.stringify(kind)}`, path: ["kind"], input: v });
    return z.NEVER;
  }
  const costShape = Object.fromEntries(Object.keys(strategy.costs).map((k) => [k, number(0).optional()]));
  const schema = (strategy.options as z.ZodObject).extend({ kind: z.literal(kind as string), ...costShape });
  const parsed = schema.safeParse(v);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: "custom", message: describe(issue), input: v } as never);
    return z.NEVER;
  }
  const out = parsed.data as Record<string, unknown>;
  const costs: Record<string, number> = {};
  const options: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(out)) {
    if (k === "kind") continue;
    if (k in strategy.costs) {
      if (value !== undefined) costs[k] = value as number;
    } else options[k] = value;
  }
  return { kind: kind as string, options, costs };
});

export const scenarioSchema = z.strictObject({
  name: z.string().min(1),
  seed: number(0, 2 ** 31 - 1, true).optional(),
  vm: z.strictObject({
    memory: size,
    used: size.optional(),
    vcpus: number(1, 1024, true).default(1),
    pageSize: size.default(4096),
    workload: workloadSchema.default({ kind: "idle" }),
  }),
  link: z.strictObject({ bandwidth, latency: duration.default(0) }),
  migration: z
    .strictObject({
      downtimeLimit: duration.default(300),
      maxBandwidth: bandwidth.default(128 * 2 ** 20),
      autoConverge: z.boolean().default(false),
      /** The destination QEMU preallocates guest RAM (-mem-prealloc); absent: it does not, as QEMU. */
      destinationPrealloc: z.boolean().optional(),
      // Auto-converge's throttle, in percent, with QEMU's ranges and defaults (migration/options.c).
      cpuThrottleInitial: number(1, 99, true).default(20),
      cpuThrottleIncrement: number(1, 99, true).default(10),
      cpuThrottleTailslow: z.boolean().default(false),
      maxCpuThrottle: number(1, 99, true).default(99),
      giveUp: z.strictObject({ passes: number(1, Infinity, true).optional(), time: duration.optional() }).default({}),
    })
    .default({
      downtimeLimit: 300, maxBandwidth: 128 * 2 ** 20, autoConverge: false,
      cpuThrottleInitial: 20, cpuThrottleIncrement: 10, cpuThrottleTailslow: false, maxCpuThrottle: 99, giveUp: {},
    }),
  probe: z.strictObject({ interval: duration.default(1) }).optional(),
  devices: z.array(deviceSchema).min(1).default([{ kind: "virtio", options: { queuePairs: 1 }, costs: {} }]),
  variants: z
    .array(z.strictObject({ name: z.string().min(1), set: z.record(z.string(), z.unknown()) }))
    .default([]),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type DeviceEntry = Scenario["devices"][number];

/** One line per zod issue: what was expected, and what was found. */
export function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    case "invalid_type":
      return issue.input === undefined ? `required (expected ${issue.expected})` : `expected ${issue.expected}, got ${JSON.stringify(issue.input)}`;
    case "invalid_union":
      return `expected kind to be one of the documented kinds, got ${JSON.stringify((issue.input as { kind?: unknown })?.kind)}`;
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${JSON.stringify(issue.input)}`;
    default:
      return issue.message;
  }
}
