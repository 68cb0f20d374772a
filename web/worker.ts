// The what-if page's simulator: scenario text in, one run's result out, off the main thread.

import { loadScenario } from "../src/scenario/load.js";
import { simulate } from "../src/sim/simulate.js";
import type { SimulateReply, SimulateRequest } from "./messages.js";

interface WorkerScope {
  onmessage: ((event: MessageEvent<SimulateRequest>) => void) | null;
  postMessage(message: SimulateReply): void;
}
const scope = self as unknown as WorkerScope;

scope.onmessage = async ({ data }) => {
  const started = performance.now();
  try {
    const runs = loadScenario(data.yaml, "scenario");
    const run = runs[data.run];
    if (!run) throw new Error(`the scenario has ${runs.length} run(s), not ${data.run + 1}`);
    const result = await simulate(run.scenario);
    scope.postMessage({ id: data.id, ok: true, run: data.run, runs: runs.length, scenario: runs[0].scenario.name, variant: run.variant, result, simulateMs: performance.now() - started });
  } catch (e) {
    scope.postMessage({ id: data.id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
};
