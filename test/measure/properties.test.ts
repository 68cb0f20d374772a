// Random and mutated input for every parser: nothing throws, problems point at real lines,
// and well-formed records read back exactly.

import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { guestVisibleDowntime, serviceDowntime, downtime } from "../../src/measure/definitions.js";
import { detectKind } from "../../src/measure/detect.js";
import { readJson } from "../../src/measure/json-text.js";
import { loadText } from "../../src/measure/load.js";
import { parsePing } from "../../src/measure/ping.js";
import type { Problem } from "../../src/measure/problems.js";
import { parseProberLog } from "../../src/measure/prober-log.js";
import { parseQueryMigrate } from "../../src/measure/query-migrate.js";
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
        traceRole(src.value);
        guestVisibleDowntime({ file: "a", trace: src.value }, { file: "b", trace: dst.value }, 0);
        downtime({ source: { file: "a", trace: src.value }, destination: { file: "b", trace: dst.value } });
      }),
      { numRuns: 400 },
    );
  });

  it("parsePing and parseProberLog, and service downtime on what they read", () => {
    fc.assert(
      fc.property(text, fc.option(fc.double({ min: 0.001, max: 1000, noNaN: true })), (input, interval) => {
        for (const parsed of [parsePing(input), parseProberLog(input)]) {
          linesAreReal(input, parsed.problems);
          serviceDowntime("f", parsed.value, interval === null ? undefined : { intervalMs: interval });
        }
      }),
      { numRuns: 400 },
    );
  });

  it("parseQueryMigrate, readJson, detectKind and loadText", () => {
    fc.assert(
      fc.property(fc.oneof(text, fc.json()), fc.option(fc.string({ maxLength: 5 })), (input, variant) => {
        linesAreReal(input, parseQueryMigrate(input).problems);
        linesAreReal(input, readJson(input).problems);
        detectKind(input);
        linesAreReal(input, loadText("f", input, variant ?? undefined).problems);
      }),
      { numRuns: 400 },
    );
  });

  it("survives QMP envelopes with arbitrary JSON inside", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (inner) => {
        parseQueryMigrate(JSON.stringify({ return: inner }));
        parseQueryMigrate(JSON.stringify([{ return: inner }, inner]));
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
