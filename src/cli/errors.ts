// Errors a user can cause end in one clear message and exit code 2, never a stack trace.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const exitCodes = { ok: 0, migrationFailed: 1, badInput: 2 } as const;

/** Says on stderr which runs failed and why; returns the command's exit code. */
export function exitCodeOf(name: string, runs: { variant: string; result: { status: string; "error-desc"?: string } }[]): number {
  let code: number = exitCodes.ok;
  for (const r of runs) {
    if (r.result.status === "failed") {
      process.stderr.write(`${name} / ${r.variant}: migration failed: ${r.result["error-desc"] ?? "unknown reason"}\n`);
      code = exitCodes.migrationFailed;
    }
  }
  return code;
}
