// From a file's text to what it measured: detect its kind, parse it, and say what it is.

import * as z from "../zod.js";
import type { ResultFields } from "./figures.js";
import { detectKind } from "./detect.js";
import { readJson } from "./json-text.js";
import { parsePing } from "./ping.js";
import { error, type Problem } from "./problems.js";
import type { ProbeLog } from "./probe-log.js";
import { parseProberLog } from "./prober-log.js";
import { parseQueryMigrate, type QueryMigrate } from "./query-migrate.js";
import { parseTrace, type Trace } from "./trace.js";
import { traceRole, type RoleInfo } from "./trace-role.js";

export type MeasuredFile =
  | { kind: "trace"; file: string; trace: Trace; role: RoleInfo }
  | { kind: "probe"; file: string; log: ProbeLog }
  | { kind: "query-migrate"; file: string; queryMigrate: QueryMigrate }
  | { kind: "prediction"; file: string; variant: string; result: ResultFields };

export interface Loaded {
  /** False when the text is none of the kinds livemig reads (then `problems` says why). */
  recognized: boolean;
  files: MeasuredFile[];
  problems: Problem[];
}

// `livemig simulate --json`: what figures are read from is checked; the rest passes through.
const ms = z.number().check(z.nonnegative());
const simulateOutput = z.object({
  scenario: z.string(),
  runs: z.array(
    z.object({
      variant: z.string(),
      result: z.looseObject({
        status: z.string(),
        "total-time": ms,
        "setup-time": ms,
        downtime: z.optional(ms),
        "guest-visible-downtime": z.optional(ms),
        "service-downtime": z.optional(ms),
        ram: z.looseObject({ transferred: z.number(), "dirty-sync-count": z.number() }),
        network: z.optional(z.looseObject({ "lost-replies": z.number() })),
        warnings: z.optional(z.array(z.string())),
      }),
    }),
  ),
});

/**
 * `variant` picks one run of a simulate output ("sim.json#early"); a simulate output with
 * several variants and no pick is refused, since pooling different variants means nothing.
 */
export function loadText(file: string, text: string, variant?: string): Loaded {
  const detected = detectKind(text);
  if (!detected.ok) return { recognized: false, files: [], problems: [error(0, detected.why)] };
  if (variant !== undefined && detected.kind !== "simulate") {
    return { recognized: true, files: [], problems: [error(0, `"#${variant}" selects a variant, but this is a ${detected.kind} file, not a livemig simulate --json output`)] };
  }
  switch (detected.kind) {
    case "trace": {
      const { value, problems } = parseTrace(text);
      return { recognized: true, files: [{ kind: "trace", file, trace: value, role: traceRole(value) }], problems };
    }
    case "ping": {
      const { value, problems } = parsePing(text);
      return { recognized: true, files: [{ kind: "probe", file, log: value }], problems };
    }
    case "prober": {
      const { value, problems } = parseProberLog(text);
      return { recognized: true, files: [{ kind: "probe", file, log: value }], problems };
    }
    case "query-migrate": {
      const { value, problems } = parseQueryMigrate(text);
      return { recognized: true, files: value ? [{ kind: "query-migrate", file, queryMigrate: value }] : [], problems };
    }
    case "simulate":
      return loadPredictions(file, text, variant);
  }
}

function loadPredictions(file: string, text: string, variant: string | undefined): Loaded {
  const refuse = (problems: Problem[]): Loaded => ({ recognized: true, files: [], problems });
  const json = readJson(text);
  const record = json.value[0];
  if (!record || json.value.length !== 1) {
    return refuse(json.problems.length ? json.problems : [error(0, "expected one livemig simulate --json object")]);
  }
  const parsed = simulateOutput.safeParse(record.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return refuse([error(record.lineOf(issue.path), `expected livemig simulate --json output; ${issue.path.join(".")}: ${issue.message}`)]);
  }
  const runs = parsed.data.runs;
  const variants = runs.map((r) => r.variant);
  let chosen = runs;
  if (variant !== undefined) {
    chosen = runs.filter((r) => r.variant === variant);
    if (chosen.length === 0) return refuse([error(0, `no variant "${variant}"; it has ${variants.join(", ")}`)]);
  } else if (new Set(variants).size > 1) {
    return refuse([error(0, `holds the variants ${variants.join(", ")}: pick one with ${file}#VARIANT`)]);
  }
  return {
    recognized: true,
    files: chosen.map((r) => ({ kind: "prediction" as const, file, variant: r.variant, result: r.result })),
    problems: json.problems,
  };
}
