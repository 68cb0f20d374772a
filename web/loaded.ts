// A result file laid beside the prediction: the `simulate --json`/`run --json` shape
// {scenario, runs: [{variant, result}]}, or an `analyze --json` output {runs: [{label, figures}]}.

import type { MigrationResult } from "../src/core/result.js";
import { downtimeNames, type DowntimeRow, type NamedRun } from "../src/report/html/figures.js";

export interface Loaded {
  file: string;
  /** Full results (with a timeline): they get every plot. */
  results: NamedRun[];
  /** Measured figures only (analyze): they join the downtime comparison. */
  downtimes: DowntimeRow[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function isResult(v: unknown): v is MigrationResult {
  return isObject(v) && typeof v.status === "string" && Array.isArray(v.timeline) && Array.isArray(v.passes) && isObject(v.ram);
}

/** The runs in the file, or one line saying what was expected. */
export function parseLoaded(file: string, text: string): Loaded | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return `${file}: not JSON (${e instanceof Error ? e.message : String(e)})`;
  }
  const runs = isObject(json) && Array.isArray(json.runs) ? (json.runs as unknown[]) : undefined;
  if (!runs || runs.length === 0) return `${file}: expected {"runs": [...]} from livemig simulate/run --json or analyze --json`;
  const loaded: Loaded = { file, results: [], downtimes: [] };
  for (const [i, run] of runs.entries()) {
    if (isObject(run) && typeof run.variant === "string" && isResult(run.result)) {
      loaded.results.push({ name: `${run.variant} (${file})`, result: run.result });
    } else if (isObject(run) && typeof run.label === "string" && Array.isArray(run.figures)) {
      for (const f of run.figures) {
        if (isObject(f) && (downtimeNames as readonly unknown[]).includes(f.name) && typeof f.value === "number") {
          // Run labels are paths, too long for a legend: number the runs instead.
          loaded.downtimes.push({ run: `measured ${i + 1} (${file})`, figure: f.name as DowntimeRow["figure"], ms: f.value });
        }
      }
    } else {
      return `${file}: runs[${i}]: expected {variant, result} (simulate/run --json) or {label, figures} (analyze --json)`;
    }
  }
  if (loaded.results.length === 0 && loaded.downtimes.length === 0) return `${file}: no run in it has a downtime figure`;
  return loaded;
}
