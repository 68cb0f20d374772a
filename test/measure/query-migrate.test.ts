import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseQueryMigrate } from "../../src/measure/query-migrate.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/measure/${name}`, import.meta.url), "utf8");

const completed = {
  status: "completed",
  "setup-time": 14,
  "total-time": 34086,
  downtime: 2093,
  "expected-downtime": 301,
  ram: { transferred: 11876052992, remaining: 0, total: 41875931136, duplicate: 7340032, normal: 2883584, "normal-bytes": 11811160064, "dirty-sync-count": 4, mbps: 2788.46, "page-size": 4096, "precopy-bytes": 11867287552, "downtime-bytes": 8765440, "dirty-pages-rate": 2114, skipped: 0 },
};

describe("parseQueryMigrate", () => {
  it("reads a bare reply into livemig's result, field by field", () => {
    const { value, problems } = parseQueryMigrate(JSON.stringify(completed));
    expect(problems).toEqual([]);
    const r = value!.result;
    expect(r).toMatchObject({ status: "completed", "setup-time": 14, "total-time": 34086, downtime: 2093, "expected-downtime": 301 });
    expect(r.ram).toEqual({
      transferred: 11876052992, remaining: 0, total: 41875931136, duplicate: 7340032, normal: 2883584,
      "normal-bytes": 11811160064, "dirty-sync-count": 4, mbps: 2788.46, "pages-per-second": 0, "dirty-pages-rate": 2114,
      "precopy-bytes": 11867287552, "downtime-bytes": 8765440, "page-size": 4096,
    });
    // QEMU knows nothing of these: empty, not invented
    expect(r.passes).toEqual([]);
    expect(r.timeline).toEqual([]);
    expect(r["guest-visible-downtime"]).toBeUndefined();
  });

  it("reads the QMP envelope, pretty-printed", () => {
    const { value, problems } = parseQueryMigrate(fixture("vdpa-pair/query-migrate.json"));
    expect(problems).toEqual([]);
    expect(value!.result).toMatchObject({ status: "completed", downtime: 2093 });
    expect(value!.replies[0].line).toBe(2);
  });

  it("reads a QMP transcript as JSON lines: greeting, commands and events skipped, the last reply counts", () => {
    const { value, problems } = parseQueryMigrate(fixture("query-migrate/polled.jsonl"));
    expect(problems).toEqual([]);
    expect(value!.replies.map((r) => [r.line, r.reply.status])).toEqual([[8, "active"], [10, "active"], [12, "active"], [15, "completed"]]);
    expect(value!.result).toMatchObject({ status: "completed", "total-time": 34086, downtime: 2093 });
    // one pass per dirty-sync-count seen: 1, 2, 3, 4
    expect(value!.result.passes.map((p) => [p.pass, p.t, p["remaining-bytes"]])).toEqual([
      [1, 5012, 39613194240],
      [2, 31050, 105910272],
      [3, 32001, 8753152],
      [4, 34086, 0],
    ]);
    // 2950.1 Mbit/s in bytes per second
    expect(value!.result.passes[0].bandwidth).toBe(Math.round((2950.1 * 1e6) / 8));
    expect(value!.result.passes[1]["dirty-pages"]).toBe(105910272 / 4096);
  });

  it("reads a list of polled replies and a failed migration's reason", () => {
    const { value } = parseQueryMigrate(fixture("query-migrate/list.json"));
    expect(value!.result).toMatchObject({ status: "failed", "error-desc": "Unable to write to socket: Connection reset by peer", "total-time": 84200 });
    expect(value!.result.downtime).toBeUndefined();
  });

  it("shows QEMU statuses livemig lacks as the nearest one, and says so", () => {
    const { value } = parseQueryMigrate(JSON.stringify({ status: "postcopy-paused", "total-time": 10 }));
    expect(value!.result.status).toBe("postcopy-active");
    expect(value!.result.warnings[0]).toMatch(/postcopy-paused/);
    const cancelled = parseQueryMigrate(JSON.stringify({ status: "cancelled" })).value!.result;
    expect(cancelled).toMatchObject({ status: "failed", "error-desc": "migration cancelled" });
  });

  it("reads post-copy's fields from QEMU 10's polled replies (a real run here) and marks the switch", () => {
    const { value, problems } = parseQueryMigrate(fixture("query-migrate/postcopy-qemu10.jsonl"));
    expect(problems).toEqual([]);
    const r = value!.result;
    expect(r.status).toBe("completed");
    // The replies' own counters, carried over because the migration switched.
    expect(r.ram).toMatchObject({ "postcopy-requests": 60, "postcopy-bytes": 131492199 });
    // multifd was off: QEMU's 0 is left out, as the simulator leaves it out.
    expect(r.ram["multifd-bytes"]).toBeUndefined();
    // The switch is the first postcopy-active poll (10396 ms); the window of risk runs to the end (10619 ms).
    expect(r.timeline).toEqual([{ t: 10396, kind: "status", status: "postcopy-active" }]);
    expect(r["postcopy-active-time"]).toBe(10619 - 10396);
    expect(r.warnings).toEqual([expect.stringMatching(/^post-copy: from the switch at 10\.40 s to the last page at 10\.62 s .*loses the VM/)]);
  });

  it("reads multifd-bytes, the xbzrle cache and the destination's blocktime when QEMU reports them", () => {
    const reply = {
      ...completed,
      ram: { ...completed.ram, "multifd-bytes": 123456, "postcopy-requests": 0, "postcopy-bytes": 0 },
      "xbzrle-cache": { "cache-size": 536870912, bytes: 1000, pages: 10, "cache-miss": 5, "cache-miss-rate": 0.25, "encoding-rate": 40.5, overflow: 1 },
      "postcopy-blocktime": 7,
      "postcopy-vcpu-blocktime": [7, 3],
    };
    const r = parseQueryMigrate(JSON.stringify(reply)).value!.result;
    expect(r.ram["multifd-bytes"]).toBe(123456);
    // Never switched and sent nothing after a switch: no post-copy counters.
    expect(r.ram["postcopy-requests"]).toBeUndefined();
    expect(r["xbzrle-cache"]).toEqual(reply["xbzrle-cache"]);
    expect(r["postcopy-blocktime"]).toBe(7);
    expect(r["postcopy-vcpu-blocktime"]).toEqual([7, 3]);
  });

  it("names the line of a field of the wrong type", () => {
    const { value, problems } = parseQueryMigrate(fixture("malformed/bad-field.json"));
    expect(value).toBeUndefined();
    expect(problems).toEqual([expect.objectContaining({ line: 7, severity: "error" })]);
    expect(problems[0].message).toMatch(/ram\.transferred: .*expected number/);
  });

  it("names the line of a JSON syntax error in a pretty-printed reply", () => {
    const text = '{\n  "status": "active",\n  "total-time": 12\n  "downtime": 3\n}\n';
    const { problems } = parseQueryMigrate(text);
    expect(problems).toEqual([expect.objectContaining({ line: 4, severity: "error" })]);
  });

  it("names the line of a broken JSON line in a transcript", () => {
    const text = `${JSON.stringify({ return: completed })}\n{"return": {"status": \n${JSON.stringify({ return: completed })}\n`;
    const { problems } = parseQueryMigrate(text);
    expect(problems).toEqual([expect.objectContaining({ line: 2, severity: "error" })]);
  });

  it("refuses JSON that holds no reply", () => {
    const { value, problems } = parseQueryMigrate('{"return": {}}\n');
    expect(value).toBeUndefined();
    expect(problems[0].severity).toBe("error");
  });

  it("reports QMP error replies without failing", () => {
    const text = `{"error": {"class": "GenericError", "desc": "no migration"}}\n${JSON.stringify({ return: completed })}\n`;
    const { value, problems } = parseQueryMigrate(text);
    expect(value!.result.status).toBe("completed");
    expect(problems).toEqual([expect.objectContaining({ line: 1, severity: "warning" })]);
  });
});
