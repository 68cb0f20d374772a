// Errors a user can cause end in one clear message and exit code 2, never a stack trace.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** What went wrong with a file, in words ("no such file"), for a message naming the file. */
export function fileProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOENT: "no such file or directory",
    EISDIR: "it is a directory",
    ENOTDIR: "a part of the path is not a directory",
    EACCES: "permission denied",
    EPERM: "permission denied",
    EROFS: "read-only file system",
    ENOSPC: "no space left on the device",
  };
  return (code && words[code]) ?? (code ? `error ${code}` : String(e));
}

export const exitCodes = { ok: 0, migrationFailed: 1, badInput: 2 } as const;

interface RunOutcome {
  variant: string;
  result: { status: string; "error-desc"?: string; "stale-pages"?: number; warnings?: string[] };
}

/**
 * Says on stderr which runs failed or completed unsafely, and why; returns the command's exit
 * code. A migration that left the destination's copy wrong is no success: exit 1 like a failure.
 */
export function exitCodeOf(name: string, runs: RunOutcome[]): number {
  let code: number = exitCodes.ok;
  for (const r of runs) {
    if (r.result.status === "failed") {
      process.stderr.write(`${name} / ${r.variant}: migration failed: ${r.result["error-desc"] ?? "unknown reason"}\n`);
      code = exitCodes.migrationFailed;
    } else if (r.result.status === "completed-unsafe") {
      // The result's own warning says "UNSAFE: ..." and why.
      const why = r.result.warnings?.find((w) => w.startsWith("UNSAFE")) ?? `UNSAFE: ${r.result["stale-pages"] ?? "some"} stale pages`;
      process.stderr.write(`${name} / ${r.variant}: completed, ${why}\n`);
      code = exitCodes.migrationFailed;
    }
  }
  return code;
}
