// Errors a user can cause end in one clear message and exit code 2, never a stack trace.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const exitCodes = { ok: 0, migrationFailed: 1, badInput: 2 } as const;
