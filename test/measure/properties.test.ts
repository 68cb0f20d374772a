// Random and mutated input for every parser: nothing throws, problems point at real lines,
// and well-formed records read back exactly.

import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { guestVisibleDowntime, serviceDowntime, downtime, type Derived } from "../../src/measure/definitions.js";
import { detectKind } from "../../src/measure/detect.js";
import { readJson } from "../../src/measure/json-text.js";
import { loadText } from "../../src/measure/load.js";
import { parsePing } from "../../src/measure/ping.js";
import type { Problem } from "../../src/measure/problems.js";
import { parseProberLog } from "../../src/measure/prober-log.js";
import { parseQueryMigrate, queryMigrateReply } from "../../src/measure/query-migrate.js";
import { parseTrace } from "../../src/measure/trace.js";
import { traceRole } from "../../src/measure/trace-role.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/measure/${name}`, import.meta.url), "utf8");

const samples = [
  "vdpa-pair/src.trace",
  "vdpa-pair/dst.trace",
  "iso/src.trace",
  "qemu-devel-2023.trace",
  "vdpa-pair/ping.txt",
  "probes/ping-2015.txt",
  "probes/prober.jsonl",
  "vdpa-pair/query-migrate.json",
  "query-migrate/polled.jsonl",
  "query-migrate/list.json",
  "simulate-vdpa.json",
].map((name) => fixture(name));

const sampleLines = samples.flatMap((s) => s.split("\n"));

/** One edit of a line: cut it, drop or insert characters, or splice in another line. */
const mutatedLine = fc
  .tuple(fc.constantFrom(...sampleLines), fc.nat(), fc.nat(), fc.string({ unit: "binary", maxLength: 8 }), fc.constantFrom(...sampleLines), fc.integer({ min: 0, max: 4 }))
  .map(([line, a, b, insert, other, how]) => {
    const i = a % (line.length + 1);
    const j = i + (b % (line.length - i + 1));
    switch (how) {
      case 0:
        return line.slice(0, i); // truncated
      case 1:
        return line.slice(0, i) + line.slice(j); // a piece lost
      case 2:
        return line.slice(0, i) + insert + line.slice(i); // noise
      case 3:
        return line.slice(0, i) + other; // glued to another record
      default:
        return line.slice(i); // cut at the start
    }
  });

const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.array(fc.oneof(mutatedLine, fc.constantFrom(...sampleLines), fc.string({ maxLength: 40 })), { maxLength: 30 }).map((ls) => ls.join("\n")),
  fc.constantFrom(...samples).chain((s) => fc.tuple(fc.constant(s), fc.nat(), mutatedLine)).map(([s, n, line]) => {
    const ls = s.split("\n");
    ls[n % ls.length] = line;
    return ls.join("\n");
  }),
);

/** A derived figure is a duration with a how, or a reason. */
function derivedIsSane(d: Derived): void {
  if (d.ok) {
    expect(Number.isFinite(d.ms)).toBe(true);
    expect(d.ms).toBeGreaterThanOrEqual(0);
    expect(d.how.length).toBeGreaterThan(0);
  } else {
    expect(d.why.length).toBeGreaterThan(0);
  }
}

const fileKinds = ["trace", "ping", "prober", "query-migrate", "simulate"];
const statuses = ["setup", "wait-unplug", "active", "device", "completed", "completed-unsafe", "failed"];

function linesAreReal(input: string, problems: Problem[]): void {
  const count = input.split("\n").length;
  for (const p of problems) {
    expect(p.line).toBeGreaterThanOrEqual(0);
    expect(p.line).toBeLessThanOrEqual(count);
    expect(p.message.length).toBeGreaterThan(0);
  }
}

describe("no parser throws, whatever it is fed", () => {
  it("parseTrace, and the definitions on what it read", () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        const src = parseTrace(a);
        const dst = parseTrace(b);
        linesAreReal(a, src.problems);
        for (const e of src.value.events) expect(e.line).toBeGreaterThanOrEqual(1);
        const role = traceRole(src.value);
        expect(["source", "destination", "unknown"]).toContain(role.role);
        expect(role.because.length).toBeGreaterThan(0);
        const visible = guestVisibleDowntime({ file: "a", trace: src.value }, { file: "b", trace: dst.value }, 0);
        derivedIsSane(visible);
        // Derived only from a suspend the source trace holds.
        if (visible.ok) expect(src.value.events.some((e) => e.decoded?.name === "vhost_vdpa_suspend")).toBe(true);
        const qemu = downtime({ source: { file: "a", trace: src.value }, destination: { file: "b", trace: dst.value } });
        derivedIsSane(qemu);
        // No query-migrate reply was given: only the checkpoints can give QEMU's downtime.
        if (qemu.ok) expect(qemu.how).toMatch(/^src-downtime-start/);
      }),
      { numRuns: 400 },
    );
  });

  it("parsePing and parseProberLog, and service downtime on what they read", () => {
    fc.assert(
      fc.property(text, fc.option(fc.double({ min: 0.001, max: 1000, noNaN: true })), (input, interval) => {
        for (const parsed of [parsePing(input), parseProberLog(input)]) {
          linesAreReal(input, parsed.problems);
          const s = serviceDowntime("f", parsed.value, interval === null ? undefined : { intervalMs: interval });
          expect(Number.isInteger(s.lostReplies)).toBe(true);
          expect(s.lostReplies).toBeGreaterThanOrEqual(0);
          expect(s.lostReplies).toBeLessThanOrEqual(s.sent);
          derivedIsSane(s.downtime);
          if (interval !== null) expect(s.intervalMs).toBe(interval);
          // Nothing answered: every probe sent is lost and there is no gap to measure.
          if (!parsed.value.probes.some((p) => p.answered)) {
            expect(s.lostReplies).toBe(s.sent);
            expect(s.downtime.ok).toBe(false);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it("parseQueryMigrate, readJson, detectKind and loadText", () => {
    fc.assert(
      fc.property(fc.oneof(text, fc.json()), fc.option(fc.string({ maxLength: 5 })), (input, variant) => {
        const qm = parseQueryMigrate(input);
        linesAreReal(input, qm.problems);
        // A reply read, or an error saying why none was.
        if (qm.value) {
          expect(qm.value.replies.length).toBeGreaterThan(0);
          expect(statuses).toContain(qm.value.result.status);
        } else {
          expect(qm.problems.some((p) => p.severity === "error")).toBe(true);
        }
        linesAreReal(input, readJson(input).problems);
        const kind = detectKind(input);
        if (kind.ok) expect(fileKinds).toContain(kind.kind);
        else expect(kind.why.length).toBeGreaterThan(0);
        const loaded = loadText("f", input, variant ?? undefined);
        linesAreReal(input, loaded.problems);
        expect(loaded.recognized).toBe(kind.ok);
        if (!loaded.recognized) expect(loaded.files).toEqual([]);
        // Nothing loaded is never silent.
        if (loaded.files.length === 0) expect(loaded.problems.length).toBeGreaterThan(0);
      }),
      { numRuns: 400 },
    );
  });

  it("reads a QMP envelope's reply when it is one, and says why not otherwise", () => {
    const reply = fc.record({ status: fc.constantFrom("active", "completed", "failed", "cancelled"), "total-time": fc.nat(), ram: fc.record({ transferred: fc.nat() }) });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), reply), (inner) => {
        const isReply = typeof inner === "object" && inner !== null && !Array.isArray(inner) && typeof (inner as { status?: unknown }).status === "string" && queryMigrateReply.safeParse(inner).success;
        const single = parseQueryMigrate(JSON.stringify({ return: inner }));
        linesAreReal("{}", single.problems);
        if (isReply && (inner as { status: string }).status !== "none") {
          expect(single.value?.replies).toHaveLength(1);
          expect(single.value!.replies[0].reply).toEqual(inner);
        } else {
          expect(single.value).toBeUndefined();
          expect(single.problems.length).toBeGreaterThan(0);
        }
        const pair = parseQueryMigrate(JSON.stringify([{ return: inner }, inner]));
        expect(pair.value?.replies.length ?? 0).toBeLessThanOrEqual(2);
        if (pair.value === undefined) expect(pair.problems.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe("well-formed records read back exactly", () => {
  const pointer = fc.bigInt({ min: 1n, max: 2n ** 47n }).map((n) => `0x${n.toString(16)}`);

  it("a timestamped vring enable gives its time and fields, in both timestamp styles", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4194304 }),
        fc.integer({ min: 0, max: 4102444800 }),
        fc.integer({ min: 0, max: 999999 }),
        pointer,
        fc.nat({ max: 256 }),
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: -4095, max: 0 }),
        (tid, sec, usec, dev, idx, enable, r) => {
          const args = `dev: ${dev}, idx: ${idx}, enable: ${enable}, r: ${r}`;
          const iso = new Date(sec * 1000).toISOString().replace(/\.\d+Z$/, `.${String(usec).padStart(6, "0")}Z`);
          for (const line of [`${tid}@${sec}.${String(usec).padStart(6, "0")}:vhost_vdpa_set_vring_enable_one ${args}`, `${iso} vhost_vdpa_set_vring_enable_one ${args}`]) {
            const { value, problems } = parseTrace(line + "\n");
            expect(problems).toEqual([]);
            expect(value.events).toHaveLength(1);
            expect(value.events[0].t).toBeCloseTo(sec * 1000 + usec / 1000, 3);
            expect(value.events[0].decoded).toEqual({ name: "vhost_vdpa_set_vring_enable_one", dev, idx, enable, r });
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a steady prober's service downtime is its longest run of losses times the interval", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 50 }), (answered, interval) => {
        const flags = [...answered, true]; // the log ends with a reply
        const lines = flags.map((ok, i) => JSON.stringify({ seq: i + 1, sent: 1000 + i * interval, received: ok ? 1000 + i * interval + 0.2 : null }));
        const s = serviceDowntime("p", parseProberLog(lines.join("\n")).value);
        let longest = 0;
        let run = 0;
        for (const ok of flags) {
          run = ok ? 0 : run + 1;
          longest = Math.max(longest, run);
        }
        expect(s.lostReplies).toBe(flags.filter((ok) => !ok).length);
        expect(s.downtime.ok && s.downtime.ms).toBe(longest * interval);
      }),
      { numRuns: 300 },
    );
  });
});
