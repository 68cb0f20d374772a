import fc from "fast-check";
import { it } from "vitest";
import { writeFileSync } from "node:fs";
import { checkScenario } from "../bench/input-check.js";
import { mutants, scenarioLines, scenarioValues } from "../bench/mutate.js";
import { scenarioSeeds } from "../bench/seeds.js";
it("probe", () => {
  const samples = fc.sample(mutants(scenarioSeeds, scenarioValues, scenarioLines), { numRuns: 400, seed: 14 });
  let i = 0;
  for (const text of samples) {
    const t = performance.now();
    const o = checkScenario(text, "m.yaml");
    const dt = performance.now() - t;
    if (dt > 200 || o.kind === "crashed") { console.log(i, dt.toFixed(0), o.kind, text.length, o.kind === "crashed" ? String(o.error).slice(0, 200) : ""); writeFileSync(`/tmp/inp/fz/slow-${i}.yaml`, text); }
    i++;
  }
}, 600000);
