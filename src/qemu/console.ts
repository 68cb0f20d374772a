// The guest's serial console, as the workload program (guest/writer.c) prints it: a
// heartbeat every ~100 ms with its write counters, verification reports, and whatever the
// kernel says when things go wrong.

import { closeSync, openSync, readSync } from "node:fs";

export interface Heartbeat {
  seq: number;
  /** ms since the workload started, on the guest's clock. */
  t: number;
  writes: number;
  /** Writes per second over the last second, as the guest measured them. */
  achieved: number;
}

export interface Verification {
  firstSeq: number;
  lastSeq: number;
  pages: number;
  bad: number;
}

export interface ConsoleState {
  ready: boolean;
  heartbeats: Heartbeat[];
  verifications: Verification[];
  /** Lines that mean the guest is damaged: lost writes, a dead workload, a kernel oops or panic. */
  alarms: string[];
  /** The last lines, for error messages. */
  tail: string[];
  /** Error printed by the workload itself (cannot map its working set). */
  error?: string;
}

const alarmPatterns = [/^LOST /, /^LIVEMIG WRITER EXITED/, /Kernel panic/, /\bOops\b/, /\bBUG:/, /general protection fault/, /segfault at/, /Attempted to kill init/, /invalid opcode/];

export function emptyConsole(): ConsoleState {
  return { ready: false, heartbeats: [], verifications: [], alarms: [], tail: [] };
}

/** Adds complete lines to a console state. */
export function readConsoleLines(state: ConsoleState, lines: string[]): void {
  for (const raw of lines) {
    const line = raw.replace(/\r$/, "");
    if (!line.trim()) continue;
    state.tail.push(line);
    if (state.tail.length > 20) state.tail.shift();
    const words = line.trim().split(/\s+/);
    if (words[0] === "HB" && words.length === 5) {
      const [seq, t, writes, achieved] = words.slice(1).map(Number);
      if ([seq, t, writes, achieved].every(Number.isFinite)) state.heartbeats.push({ seq, t, writes, achieved });
      continue;
    }
    if (words[0] === "VERIFY" && words.length === 5) {
      const [firstSeq, lastSeq, pages, bad] = words.slice(1).map(Number);
      state.verifications.push({ firstSeq, lastSeq, pages, bad });
      if (bad > 0) state.alarms.push(line);
      continue;
    }
    if (line.startsWith("LIVEMIG READY")) state.ready = true;
    else if (line.startsWith("LIVEMIG ERROR")) state.error = line;
    if (alarmPatterns.some((p) => p.test(line))) state.alarms.push(line);
  }
}

/** Follows a console file (QEMU's -serial file:) as it grows. */
export class ConsoleFile {
  readonly state = emptyConsole();
  private offset = 0;
  private partial = "";

  constructor(readonly path: string) {}

  /** Reads what was appended since the last call. */
  poll(): ConsoleState {
    let fd: number;
    try {
      fd = openSync(this.path, "r");
    } catch {
      return this.state; // QEMU has not created it yet
    }
    try {
      const chunk = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        const text = this.partial + chunk.subarray(0, n).toString("latin1");
        const lines = text.split("\n");
        this.partial = lines.pop() ?? "";
        readConsoleLines(this.state, lines);
      }
    } finally {
      closeSync(fd);
    }
    return this.state;
  }

  lastHeartbeat(): Heartbeat | undefined {
    return this.state.heartbeats[this.state.heartbeats.length - 1];
  }
}
