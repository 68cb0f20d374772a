// QEMU's query-migrate replies, as saved from QMP or virsh: a bare reply object, a list of
// polled replies, the {"return": ...} envelope, or JSON lines of a whole QMP transcript
// (greeting, commands and events are skipped). The last reply is the migration's result.

import * as z from "../zod.js";
import { postcopyRiskWarning } from "../core/postcopy.js";
import type { MigrationResult, PassRecord } from "../core/result.js";
import type { MigrationStatus } from "../core/timeline.js";
import { readJson, type JsonRecord } from "./json-text.js";
import { error, warning, type Parsed, type Problem } from "./problems.js";

const count = z.number().check(z.nonnegative());

const ramSchema = z.partial(z.looseObject({
  transferred: count,
  remaining: count,
  total: count,
  duplicate: count,
  skipped: count,
  normal: count,
  "normal-bytes": count,
  "dirty-pages-rate": count,
  mbps: count,
  "pages-per-second": count,
  "dirty-sync-count": count,
  "postcopy-requests": count,
  "page-size": count,
  "multifd-bytes": count,
  "precopy-bytes": count,
  "downtime-bytes": count,
  "postcopy-bytes": count,
  "dirty-sync-missed-zero-copy": count,
}));

/** query-migrate's xbzrle-cache member (present while the xbzrle capability is on). */
const xbzrleCacheSchema = z.looseObject({
  "cache-size": count,
  bytes: count,
  pages: count,
  "cache-miss": count,
  "cache-miss-rate": z.number(),
  "encoding-rate": z.number(),
  overflow: count,
});

export const queryMigrateReply = z.looseObject({
  status: z.string(),
  "setup-time": z.optional(count),
  "total-time": z.optional(count),
  "expected-downtime": z.optional(count),
  downtime: z.optional(count),
  ram: z.optional(ramSchema),
  vfio: z.optional(z.looseObject({ transferred: count })),
  "cpu-throttle-percentage": z.optional(count),
  "error-desc": z.optional(z.string()),
  "blocked-reasons": z.optional(z.array(z.string())),
  "xbzrle-cache": z.optional(xbzrleCacheSchema),
  "postcopy-blocktime": z.optional(count),
  "postcopy-vcpu-blocktime": z.optional(z.array(count)),
});

export type QueryMigrateReply = z.infer<typeof queryMigrateReply>;

export interface QueryMigrate {
  /** The migration as the last reply describes it, in livemig's result type. */
  result: MigrationResult;
  /** Every reply, in order, with its line. */
  replies: { reply: QueryMigrateReply; line: number }[];
}

// QEMU's MigrationStatus has more states than livemig's result; the nearest one stands in.
const statusMap = new Map<string, MigrationStatus>(Object.entries({
  setup: "setup",
  "wait-unplug": "wait-unplug",
  active: "active",
  device: "device",
  "pre-switchover": "device",
  completed: "completed",
  failed: "failed",
  cancelled: "failed",
  cancelling: "failed",
  "postcopy-active": "postcopy-active",
  "postcopy-device": "postcopy-active",
  "postcopy-paused": "postcopy-active",
  "postcopy-recover-setup": "postcopy-active",
  "postcopy-recover": "postcopy-active",
  colo: "active",
} satisfies Record<string, MigrationStatus>));

const SHAPE = 'a query-migrate reply {"status": ..., "ram": {...}} or {"return": {...}}';

export function parseQueryMigrate(text: string): Parsed<QueryMigrate | undefined> {
  const json = readJson(text);
  const problems: Problem[] = [...json.problems];
  const replies: QueryMigrate["replies"] = [];
  for (const rec of json.value) {
    const items = Array.isArray(rec.value) ? rec.value.map((v, i) => ({ v, path: [i] as PropertyKey[] })) : [{ v: rec.value, path: [] as PropertyKey[] }];
    for (const { v, path } of items) readReply(rec, v, path, replies, problems);
  }
  if (replies.length === 0) {
    if (!problems.some((p) => p.severity === "error")) problems.push(error(json.value[0]?.line ?? 0, `no query-migrate reply with a status: expected ${SHAPE}`));
    return { value: undefined, problems };
  }
  return { value: { result: toResult(replies.map((r) => r.reply)), replies }, problems };
}

function readReply(rec: JsonRecord, value: unknown, path: PropertyKey[], out: QueryMigrate["replies"], problems: Problem[]): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.push(error(rec.lineOf(path), `expected ${SHAPE}`));
    return;
  }
  const obj = value as Record<string, unknown>;
  // QMP transcript lines that are not replies.
  if ("QMP" in obj || "execute" in obj || "event" in obj) return;
  if ("error" in obj) {
    const desc = (obj.error as { desc?: unknown } | null)?.desc;
    problems.push(warning(rec.lineOf(path), `QMP error reply skipped: ${typeof desc === "string" ? desc : JSON.stringify(obj.error)}`));
    return;
  }
  let body: unknown = obj;
  let bodyPath = path;
  if ("return" in obj) {
    body = obj.return;
    bodyPath = [...path, "return"];
    // {"return": {}} acknowledges qmp_capabilities, or is query-migrate before any migration.
    if (typeof body === "object" && body !== null && Object.keys(body).length === 0) return;
  }
  const parsed = queryMigrateReply.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length ? `${issue.path.join(".")}: ` : "";
    problems.push(error(rec.lineOf([...bodyPath, ...issue.path]), `expected ${SHAPE}; ${field}${issue.message}`));
    return;
  }
  const reply = parsed.data;
  if (!statusMap.has(reply.status) && reply.status !== "none") {
    problems.push(warning(rec.lineOf([...bodyPath, "status"]), `unknown migration status "${reply.status}", read as "active"`));
  }
  if (reply.status === "none") {
    problems.push(warning(rec.lineOf(bodyPath), 'status "none" (no migration) skipped'));
    return;
  }
  out.push({ reply, line: rec.lineOf(bodyPath) });
}

/**
 * The last reply, in livemig's result type. Polled replies also give one pass per change of
 * dirty-sync-count; fields a reply lacks are 0 (QEMU does not report the threshold, nor stale
 * pages, which only livemig's verification can find).
 */
export function toResult(replies: QueryMigrateReply[]): MigrationResult {
  const last = replies[replies.length - 1];
  const ram = last.ram ?? {};
  const status = statusMap.get(last.status) ?? "active";
  const warnings: string[] = [];
  if (status !== last.status) warnings.push(`QEMU status "${last.status}" shown as "${status}"`);
  for (const reason of last["blocked-reasons"] ?? []) warnings.push(`migration blocked: ${reason}`);
  const result: MigrationResult = {
    status,
    "total-time": last["total-time"] ?? 0,
    "setup-time": last["setup-time"] ?? 0,
    "expected-downtime": last["expected-downtime"] ?? 0,
    "stale-pages": 0,
    "cpu-throttle-percentage": last["cpu-throttle-percentage"] ?? 0,
    warnings,
    ram: {
      transferred: ram.transferred ?? 0,
      remaining: ram.remaining ?? 0,
      total: ram.total ?? 0,
      duplicate: ram.duplicate ?? 0,
      normal: ram.normal ?? 0,
      "normal-bytes": ram["normal-bytes"] ?? 0,
      "dirty-sync-count": ram["dirty-sync-count"] ?? 0,
      mbps: ram.mbps ?? 0,
      "pages-per-second": ram["pages-per-second"] ?? 0,
      "dirty-pages-rate": ram["dirty-pages-rate"] ?? 0,
      "precopy-bytes": ram["precopy-bytes"] ?? 0,
      "downtime-bytes": ram["downtime-bytes"] ?? 0,
      "page-size": ram["page-size"] ?? 0,
    },
    passes: passesOf(replies),
    timeline: [],
  };
  addModeFields(result, replies);
  if (last.downtime !== undefined) result.downtime = last.downtime;
  if (last.vfio) result.vfio = { transferred: last.vfio.transferred };
  if (last["blocked-reasons"]?.length) result["blocked-reasons"] = last["blocked-reasons"];
  if (last["error-desc"] !== undefined) result["error-desc"] = last["error-desc"];
  else if (last.status === "cancelled" || last.status === "cancelling") result["error-desc"] = `migration ${last.status}`;
  return result;
}

/**
 * The modes' fields (issue 17). QEMU reports multifd-bytes and the post-copy counters as 0
 * when the mode is off; like the simulator, the result carries them only for a mode in use:
 * multifd-bytes when any went through multifd, post-copy's once the migration switched.
 */
function addModeFields(result: MigrationResult, replies: QueryMigrateReply[]): void {
  const last = replies[replies.length - 1];
  const ram = last.ram ?? {};
  if ((ram["multifd-bytes"] ?? 0) > 0) result.ram["multifd-bytes"] = ram["multifd-bytes"];
  const switched = replies.find((r) => statusMap.get(r.status) === "postcopy-active");
  if (switched || (ram["postcopy-bytes"] ?? 0) > 0) {
    result.ram["postcopy-requests"] = ram["postcopy-requests"] ?? 0;
    result.ram["postcopy-bytes"] = ram["postcopy-bytes"] ?? 0;
  }
  if (switched?.["total-time"] !== undefined) {
    result.timeline.push({ t: switched["total-time"], kind: "status", status: "postcopy-active" });
    const end = last["total-time"] ?? switched["total-time"];
    result["postcopy-active-time"] = end - switched["total-time"];
    result.warnings.push(postcopyRiskWarning(switched["total-time"], end));
  }
  if (last["postcopy-blocktime"] !== undefined) result["postcopy-blocktime"] = last["postcopy-blocktime"];
  if (last["postcopy-vcpu-blocktime"] !== undefined) result["postcopy-vcpu-blocktime"] = last["postcopy-vcpu-blocktime"];
  const cache = last["xbzrle-cache"];
  if (cache) {
    result["xbzrle-cache"] = {
      "cache-size": cache["cache-size"], bytes: cache.bytes, pages: cache.pages, "cache-miss": cache["cache-miss"],
      "cache-miss-rate": cache["cache-miss-rate"], "encoding-rate": cache["encoding-rate"], overflow: cache.overflow,
    };
  }
}

function passesOf(replies: QueryMigrateReply[]): PassRecord[] {
  const passes: PassRecord[] = [];
  let seen: number | undefined;
  for (const r of replies) {
    const sync = r.ram?.["dirty-sync-count"];
    if (sync === undefined || sync === seen || r["total-time"] === undefined) continue;
    seen = sync;
    const pageSize = r.ram?.["page-size"] ?? 0;
    const remaining = r.ram?.remaining ?? 0;
    passes.push({
      pass: sync,
      t: r["total-time"],
      "dirty-pages": pageSize > 0 ? Math.round(remaining / pageSize) : 0,
      "remaining-bytes": remaining,
      "newly-dirty": 0,
      // mbps is megabits per second; a pass's bandwidth is in bytes per second.
      bandwidth: Math.round(((r.ram?.mbps ?? 0) * 1e6) / 8),
      threshold: 0,
      "cpu-throttle-percentage": r["cpu-throttle-percentage"] ?? 0,
      transferred: r.ram?.transferred ?? 0,
    });
  }
  // A single reply is a snapshot, not a series of passes.
  return passes.length > 1 ? passes : [];
}
