// The destination health check and the console reader, on console files written by hand.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConsoleFile, emptyConsole, readConsoleLines } from "../../src/qemu/console.js";
import { checkHealth } from "../../src/qemu/health.js";
import type { QemuVm } from "../../src/qemu/vm.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Just what checkHealth reads of a VM: its console, whether it runs, its QMP status. */
function fakeVm(consoleText: string, alive = true): QemuVm {
  dir = mkdtempSync(join(tmpdir(), "livemig-health-"));
  const path = join(dir, "destination.console");
  writeFileSync(path, consoleText);
  return {
    console: new ConsoleFile(path),
    alive,
    deathNote: () => "destination QEMU exited (SIGSEGV): (its log is empty)",
    qmp: { execute: async () => ({ running: true, status: "running" }) },
  } as unknown as QemuVm;
}

const beats = (from: number, n: number) => Array.from({ length: n }, (_, i) => `HB ${from + i} ${(from + i) * 100} ${(from + i) * 2000} 20000`).join("\n") + "\n";
const last = { seq: 20, t: 2000, writes: 40000, achieved: 20000 };

describe("console lines", () => {
  it("reads heartbeats, verifications and alarms", () => {
    const state = emptyConsole();
    readConsoleLines(state, ["LIVEMIG READY ws=1 pages=1 rate=1", "HB 1 100 2000 0", "VERIFY 1 20 65536 0", "LOST 17 5 400000011", "[ 1.0] Kernel panic - not syncing: x"]);
    expect(state.ready).toBe(true);
    expect(state.heartbeats).toEqual([{ seq: 1, t: 100, writes: 2000, achieved: 0 }]);
    expect(state.verifications).toEqual([{ firstSeq: 1, lastSeq: 20, pages: 65536, bad: 0 }]);
    expect(state.alarms).toHaveLength(2);
  });
});

describe("checkHealth", () => {
  it("passes a guest whose heartbeat goes on and whose verification is clean", async () => {
    const vm = fakeVm(beats(21, 6) + "VERIFY 21 26 65536 0\n");
    const h = await checkHealth(vm, last, true, 1000);
    expect(h.healthy).toBe(true);
    expect(h.heartbeatsAfter).toBe(6);
    expect(h.verifiedPages).toBe(65536);
  });

  it("reports lost writes with the lines that show them", async () => {
    const vm = fakeVm(beats(21, 3) + "LOST 17 5 400000011\nVERIFY 21 23 65536 1\n");
    const h = await checkHealth(vm, last, true, 1000);
    expect(h.healthy).toBe(false);
    expect(h.lostPages).toBe(1);
    expect(h.problem).toMatch(/lost a write/);
    expect(h.evidence[0]).toMatch(/^LOST 17/);
  });

  it("reports a kernel that crashed after the switch-over", async () => {
    const vm = fakeVm(beats(21, 2) + "[   11.6] general protection fault: 0000 [#1] PREEMPT SMP NOPTI\n");
    const h = await checkHealth(vm, last, true, 1000);
    expect(h.healthy).toBe(false);
    expect(h.evidence.join("\n")).toMatch(/general protection fault/);
  });

  it("reports a heartbeat that stops, and a destination QEMU that died", async () => {
    const stalled = await checkHealth(fakeVm(beats(21, 2)), last, false, 300);
    expect(stalled.healthy).toBe(false);
    expect(stalled.problem).toMatch(/stopped its heartbeat/);
    const dead = await checkHealth(fakeVm(beats(21, 1), false), last, false, 300);
    expect(dead.problem).toMatch(/died: destination QEMU exited/);
  });
});
