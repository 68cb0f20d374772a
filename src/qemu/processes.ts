// Every QEMU process livemig starts is in its own process group and in this registry, so
// that every way out (normal end, error, Ctrl-C, SIGTERM, a failing test) kills it.

import type { ChildProcess } from "node:child_process";

const live = new Set<ChildProcess>();
let handlersInstalled = false;

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL"); // the whole group: QEMU and anything it forked
  } catch {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Kills every QEMU still running (synchronous: safe in an exit handler). */
export function killAll(): void {
  for (const child of live) killGroup(child);
  live.clear();
}

export function track(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
    });
  }
}

/** Kills one process group and waits (briefly) until the process has exited. */
export async function killAndWait(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  killGroup(child);
  await Promise.race([exited, new Promise((r) => setTimeout(r, timeoutMs))]);
  live.delete(child);
}

export function liveCount(): number {
  return live.size;
}
