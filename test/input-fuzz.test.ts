// Fuzzing the scenario loader and every measurement parser with mutated real inputs, the
// cases of issue 14 as seeds. Each result is checked: a valid scenario (every quantity
// finite and in range) or a one-line rejection; a parser's problems one line each, on a
// line that exists. The bench (npm run fuzz) runs 10,000 of each through the CLI's entry.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkScenario, oneLine } from "../bench/input-check.js";
import { measureLines, measureValues, mutants, scenarioLines, scenarioValues } from "../bench/mutate.js";
import { issueScenarios, measureSeeds, scenarioSeeds } from "../bench/seeds.js";
import { loadText } from "../src/measure/load.js";
import { parsePing } from "../src/measure/ping.js";
import { parseProberLog } from "../src/measure/prober-log.js";
import type { Parsed } from "../src/measure/problems.js";
import { parseQueryMigrate } from "../src/measure/query-migrate.js";
import { parseTrace } from "../src/measure/trace.js";
import { maxPages, type Scenario } from "../src/scenario/schema.js";

/** What a scenario that passed validation must hold: what the simulator can run. */
function expectRunnable(s: Scenario): void {
  const { memory, pageSize, used, workload } = s.vm;
  expect(Number.isInteger(Math.log2(pageSize))).toBe(true);
  expect(memory).toBeGreaterThanOrEqual(pageSize);
  expect(memory / pageSize).toBeLessThanOrEqual(maxPages);
  if (used !== undefined) expect(used).toBeLessThanOrEqual(memory);
  if ("workingSet" in workload) {
    expect(workload.workingSet).toBeLessThanOrEqual(memory);
    expect(Number.isFinite(workload.rate)).toBe(true);
  }
  expect(s.link.bandwidth).toBeGreaterThan(0);
  for (const v of [s.link.bandwidth, s.link.latency, s.migration.downtimeLimit, s.migration.maxBandwidth, s.migration.giveUp.time ?? 0]) {
    expect(Number.isFinite(v)).toBe(true);
  }
  if (s.probe) expect(s.probe.interval).toBeGreaterThan(0);
}

describe("scenario loader fuzz", () => {
  it("every mutant is a runnable scenario or a one-line rejection naming the file", () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(mutants(scenarioSeeds, scenarioValues, scenarioLines), (text) => {
        const outcome = checkScenario(text, "m.yaml");
        if (outcome.kind === "crashed") throw outcome.error;
        if (outcome.kind === "rejected") {
          rejected++;
          expect(oneLine(outcome.message)).toBe(true);
          expect(outcome.message).toMatch(/^m\.yaml(:\d+)?: \S/);
          return;
        }
        accepted++;
        expect(outcome.value[0].variant).toBe("base");
        for (const run of outcome.value) expectRunnable(run.scenario);
      }),
      { numRuns: 400, seed: 14 },
    );
    // Both ends are exercised, or the mutations would test nothing.
    expect(accepted).toBeGreaterThan(20);
    expect(rejected).toBeGreaterThan(100);
  }, 120_000);

  it("each seed of the issue ends as it should", () => {
    for (const seed of issueScenarios) {
      const outcome = checkScenario(seed, "s.yaml");
      expect(outcome.kind).not.toBe("crashed");
      if (outcome.kind === "rejected") expect(oneLine(outcome.message)).toBe(true);
    }
  });
});

describe("measurement parsers fuzz", () => {
  const parsers: [string, (text: string) => Parsed<unknown>][] = [
    ["trace", parseTrace],
    ["ping", parsePing],
    ["prober", parseProberLog],
    ["query-migrate", parseQueryMigrate],
  ];

  it("every parser returns problems of one line each, on a line of the input, for every mutant", () => {
    fc.assert(
      fc.property(mutants(measureSeeds, measureValues, measureLines), (text) => {
        const lines = text.split("\n").length;
        const results = [...parsers.map(([, parse]) => parse(text)), loadText("m.txt", text)];
        for (const r of results) {
          for (const p of r.problems) {
            expect(oneLine(p.message)).toBe(true);
            expect(["error", "warning"]).toContain(p.severity);
            expect(Number.isInteger(p.line) && p.line >= 0 && p.line <= lines).toBe(true);
          }
        }
        // A file livemig reads either yields measurements or says why not.
        const loaded = results[results.length - 1] as ReturnType<typeof loadText>;
        if (loaded.recognized && loaded.files.length === 0) expect(loaded.problems.some((p) => p.severity === "error")).toBe(true);
      }),
      { numRuns: 300, seed: 14 },
    );
  }, 120_000);
});
