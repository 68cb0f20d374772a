// What a parser found wrong with its input, line by line. Parsers never throw: they return
// what they understood and a list of problems; the command decides what is fatal.

export interface Problem {
  /** 1-based line in the input; 0 when the problem is about the whole input. */
  line: number;
  /** "error": the input is not what it claims to be; "warning": a line was skipped or repaired. */
  severity: "error" | "warning";
  message: string;
}

export interface Parsed<T> {
  value: T;
  problems: Problem[];
}

export const error = (line: number, message: string): Problem => ({ line, severity: "error", message });
export const warning = (line: number, message: string): Problem => ({ line, severity: "warning", message });

export function firstError(problems: Problem[]): Problem | undefined {
  return problems.find((p) => p.severity === "error");
}

/** "file:17: message"; a whole-input problem has no line. */
export function located(file: string, p: Problem): string {
  return p.line > 0 ? `${file}:${p.line}: ${p.message}` : `${file}: ${p.message}`;
}

/**
 * Warnings grouped by message, so a log with 10 000 lines without timestamps gives one note:
 * "file:1: no timestamp ... (and 9999 more lines like it)".
 */
export function summarizeWarnings(file: string, problems: Problem[]): string[] {
  const groups = new Map<string, Problem[]>();
  for (const p of problems) {
    if (p.severity !== "warning") continue;
    const list = groups.get(p.message) ?? [];
    list.push(p);
    groups.set(p.message, list);
  }
  return [...groups.values()].map((list) => {
    const more = list.length > 1 ? ` (and ${list.length - 1} more line${list.length > 2 ? "s" : ""} like it)` : "";
    return located(file, list[0]) + more;
  });
}

/** Shows a piece of an offending line without flooding the terminal. */
export function excerpt(text: string, max = 60): string {
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return JSON.stringify(clean.length > max ? `${clean.slice(0, max)}...` : clean);
}
