// What the page and its simulator workers say to each other: one worker simulates one run
// (the base or a variant) of the scenario, so variants simulate in parallel.

import type { MigrationResult } from "../src/core/result.js";

export interface SimulateRequest {
  id: number;
  yaml: string;
  /** Which run of the scenario: 0 the base, then each variant. */
  run: number;
}

export type SimulateReply =
  | { id: number; ok: true; run: number; runs: number; scenario: string; variant: string; result: MigrationResult; simulateMs: number }
  | { id: number; ok: false; error: string };
