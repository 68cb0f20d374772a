// The scenario file: a public contract (README "Scenario files"). Validation names the field
// and says what was expected; quantities take units (units.ts).

import * as z from "../zod.js";
import { strategies } from "../core/strategies/index.js";
import { formatBytes } from "../core/format.js";
import { parseBandwidth, parseDuration, parsePacketRate, parseSize, type Parsed } from "./units.js";

/** Bounds of a quantity, in the base unit, with how a bound is written in messages. */
interface Bounds {
  min: number;
  /** The minimum itself is not allowed (a bandwidth of 0). */
  above?: boolean;
  max: number;
  show: (n: number) => string;
}

function quantity(parse: (v: unknown) => Parsed, b: Bounds) {
  return z.pipe(z.unknown(), z.transform((v, ctx) => {
    const r = parse(v);
    const fail = (expected: string) => {
      ctx.issues.push({ code: "custom", message: `expected ${expected}, got ${JSON.stringify(v)}`, input: v });
      return z.NEVER;
    };
    if (!r.ok) return fail(r.expected);
    if (b.above ? r.value <= b.min : r.value < b.min) return fail(`${b.above ? "more than" : "at least"} ${b.show(b.min)}`);
    if (r.value > b.max) return fail(`at most ${b.show(b.max)}`);
    return r.value;
  }));
}

/** The most pages the simulator holds: its bitmaps take 5 bits per page (640 MiB at this bound). */
export const maxPages = 2 ** 30;
const day = 86_400_000;
const showBandwidth = (n: number) => (n === 0 ? "0" : `${n / 1e9} GB/s`);
const size = quantity(parseSize, { min: 0, max: 2 ** 50, show: formatBytes });
const frameSize = quantity(parseSize, { min: 1, max: 2 ** 16, show: formatBytes });
/** 1 PB/s: far beyond any link; keeps every figure derived from it finite. */
export const linkBandwidth = quantity(parseBandwidth, { min: 0, above: true, max: 1e15, show: showBandwidth });
export const rateCap = quantity(parseBandwidth, { min: 0, max: 1e15, show: showBandwidth });
const dirtyLimitRate = quantity(parseBandwidth, { min: 2 ** 20, max: 1e15, show: (n) => (n === 2 ** 20 ? "1 MiB/s" : showBandwidth(n)) });
/** Up to 30 days: a simulated migration longer than that says nothing more. */
export const duration = quantity(parseDuration, { min: 0, max: 30 * day, show: (n) => (n === 0 ? "0" : `${n / day} days`) });
const interval = quantity(parseDuration, { min: 0, above: true, max: day, show: (n) => (n === 0 ? "0" : `${n / day} day`) });
/** 1 Gpps: beyond any NIC's line rate. */
const packetRate = quantity(parsePacketRate, { min: 0, max: 1e9, show: (n) => `${n} frames/s` });

export function number(min: number, max = Infinity, integer = false) {
  return z.pipe(z.unknown(), z.transform((v, ctx) => {
    if (typeof v === "number" && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v))) return v;
    const what = integer ? "an integer" : "a number";
    const show = (n: number) => (n >= 1e6 ? n.toExponential() : String(n));
    const range = max === Infinity ? `>= ${min}` : `in [${show(min)}, ${show(max)}]`;
    ctx.issues.push({ code: "custom", message: `expected ${what} ${range}, got ${JSON.stringify(v)}`, input: v });
    return z.NEVER;
  }));
}

const rx = z.strictObject({ rate: packetRate, size: z._default(frameSize, 1500) });

/**
 * Page writes per second: 1e12 is 4 PB/s of 4 KiB pages, beyond any memory bus.
 * `bytesPerWrite`: bytes of a page one write changes (xbzrle encodes only those); absent: the whole page.
 */
const workloadBase = { workingSet: size, rate: number(0, 1e12), bytesPerWrite: z.optional(size), rx: z.optional(rx) };

export const workloadSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("idle"), rx: z.optional(rx) }),
  z.strictObject({ kind: z.literal("uniform"), ...workloadBase }),
  z.strictObject({
    kind: z.literal("hotcold"),
    ...workloadBase,
    hotFraction: z._default(number(0, 1), 0.1),
    hotShare: z._default(number(0, 1), 0.9),
  }),
  z.strictObject({ kind: z.literal("zipf"), ...workloadBase, exponent: z._default(number(0, 10), 1) }),
  z.strictObject({ kind: z.literal("scan"), ...workloadBase }),
]);

const deviceSchema = z.pipe(z.unknown(), z.transform((v, ctx) => {
  const kinds = Object.keys(strategies);
  const kind = (v as { kind?: unknown } | null)?.kind;
  // Own keys only: `kind: constructor` is no strategy (an inherited Object member crashed the parse).
  const strategy = typeof kind === "string" && Object.hasOwn(strategies, kind) ? strategies[kind] : undefined;
  if (!strategy) {
    ctx.issues.push({ code: "custom", message: `expected kind to be one of ${kinds.join(" | ")}, got ${JSON.stringify(kind)}`, path: ["kind"], input: v });
    return z.NEVER;
  }
  const costShape = Object.fromEntries(Object.keys(strategy.costs).map((k) => [k, z.optional(number(0, 1e9))]));
  // safeExtend keeps a strategy's own refinements (a rule across its options).
  const schema = z.safeExtend(strategy.options as z.ZodMiniObject, { kind: z.literal(kind as string), ...costShape });
  const parsed = schema.safeParse(v, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.issues.push({ ...issue, code: "custom", message: describe(issue), input: v } as never);
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
}));

/** QEMU's other ways to move RAM (src/core/modes.ts); absent fields leave precopy as it was. */
const modeFields = {
  /** multifd capability + multifd-channels (QEMU: 1..255). */
  multifd: z.optional(z.strictObject({ channels: z._default(number(1, 255, true), 2) })),
  /** Cores the migration threads may use (host CPU); absent: livemig's default (src/core/multifd.ts). */
  hostCores: z.optional(number(1, 4096, true)),
  /** postcopy-ram + migrate-start-postcopy after so many passes or so long; postcopy-preempt. */
  postcopy: z.optional(
    z.strictObject({
      after: z.strictObject({ passes: z.optional(number(1, 10_000, true)), time: z.optional(duration) }),
      preempt: z._default(z.boolean(), false),
    }),
  ),
  /** xbzrle capability + xbzrle-cache-size. */
  xbzrle: z.optional(z.strictObject({ cacheSize: z._default(size, 64 * 2 ** 20) })),
  /** dirty-limit capability + vcpu-dirty-limit (per vCPU, bytes/s; QEMU's is whole MB/s, at least 1). */
  dirtyLimit: z.optional(dirtyLimitRate),
  /** KVM's dirty-ring-size (entries per vCPU) that dirty-limit needs; absent: 4096 (QEMU's suggested start). */
  dirtyRingSize: z.optional(number(1024, 65536, true)),
};

/** The capability pairs QEMU refuses (migrate_caps_check, migrate_params_check), with its messages. */
function modeConflicts(m: { multifd?: unknown; xbzrle?: { cacheSize: number }; dirtyLimit?: number; autoConverge: boolean; postcopy?: { after: { passes?: number; time?: number } } }, ctx: z.core.$RefinementCtx): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", message, path: [path] });
  if (m.multifd && m.xbzrle) issue("xbzrle", "Multifd is not compatible with xbzrle");
  if (m.multifd && m.postcopy) issue("postcopy", "Postcopy is not yet compatible with multifd");
  if (m.dirtyLimit !== undefined && m.autoConverge) issue("dirtyLimit", "dirty-limit conflicts with auto-converge either of then available currently");
  if (m.xbzrle && !isPowerOfTwoPages(m.xbzrle.cacheSize)) {
    issue("xbzrle", `Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size, got ${formatBytes(m.xbzrle.cacheSize)}`);
  }
  if (m.postcopy && m.postcopy.after.passes === undefined && m.postcopy.after.time === undefined) issue("postcopy", "expected after: {passes: N} or after: {time: T}");
}

/** A power of two of at least 4 KiB (QEMU checks against the target page size). */
function isPowerOfTwoPages(bytes: number): boolean {
  return bytes >= 4096 && Number.isInteger(Math.log2(bytes));
}

export const scenarioSchema = z.strictObject({
  name: z.string().check(z.minLength(1)),
  seed: z.optional(number(0, 2 ** 31 - 1, true)),
  vm: z.strictObject({
    memory: size, // at least one page: checked with pageSize (load.ts)
    used: z.optional(size),
    vcpus: z._default(number(1, 1024, true), 1),
    pageSize: z._default(size, 4096),
    workload: z._default(workloadSchema, { kind: "idle" }),
  }),
  link: z.strictObject({ bandwidth: linkBandwidth, latency: z._default(duration, 0) }),
  migration: z._default(
    z.strictObject({
      downtimeLimit: z._default(duration, 300),
      maxBandwidth: z._default(rateCap, 128 * 2 ** 20),
      autoConverge: z._default(z.boolean(), false),
      /** The destination QEMU preallocates guest RAM (-mem-prealloc); absent: it does not, as QEMU. */
      destinationPrealloc: z.optional(z.boolean()),
      // Auto-converge's throttle, in percent, with QEMU's ranges and defaults (migration/options.c).
      cpuThrottleInitial: z._default(number(1, 99, true), 20),
      cpuThrottleIncrement: z._default(number(1, 99, true), 10),
      cpuThrottleTailslow: z._default(z.boolean(), false),
      maxCpuThrottle: z._default(number(1, 99, true), 99),
      giveUp: z._default(z.strictObject({ passes: z.optional(number(1, Infinity, true)), time: z.optional(duration) }), {}),
      ...modeFields,
    }).check(z.superRefine(modeConflicts)),
    {
      downtimeLimit: 300, maxBandwidth: 128 * 2 ** 20, autoConverge: false,
      cpuThrottleInitial: 20, cpuThrottleIncrement: 10, cpuThrottleTailslow: false, maxCpuThrottle: 99, giveUp: {},
    },
  ),
  probe: z.optional(z.strictObject({ interval: z._default(interval, 1) })),
  devices: z._default(z.array(deviceSchema).check(z.minLength(1)), [{ kind: "virtio", options: { queuePairs: 1 }, costs: {} }]),
  variants: z._default(z.array(z.strictObject({ name: z.string().check(z.minLength(1)), set: z.record(z.string(), z.unknown()) })), []),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type DeviceEntry = Scenario["devices"][number];

/** One line per zod issue: what was expected, and what was found. */
export function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    case "invalid_type":
      return issue.input === undefined ? `required (expected ${a(issue.expected)})` : `expected ${a(issue.expected)}, got ${JSON.stringify(issue.input)}`;
    case "invalid_union": {
      const choices = "options" in issue && Array.isArray(issue.options) ? (issue.options as unknown[]).join(" | ") : "the documented kinds";
      return `expected kind to be one of ${choices}, got ${JSON.stringify((issue.input as { kind?: unknown })?.kind)}`;
    }
    case "invalid_value":
      return `expected ${issue.values.map(String).join(" | ")}, got ${JSON.stringify(issue.input)}`;
    default:
      return issue.message;
  }
}

/** "a boolean", "an object". */
const a = (noun: string) => `${/^[aeiou]/.test(noun) ? "an" : "a"} ${noun}`;
