// Hung, slow, cut and killed peers during real migrations (issue 14, "Hung or slow peers"):
// `livemig run` and `livemig dest` as processes, a proxy between them that acts at a chosen
// point. Every failure must come within the deadline both were given (failBoundMs), leave the
// source guest answering the prober, and leave the destination free for the next source with
// the file descriptors it had before.
import { describe, expect, it } from "vitest";
import { faultProxy, type FaultAction, type FaultPoint } from "./proxy.js";
import { deadlineMs, deadlinePattern, eventually, failBoundMs, faultTestTimeoutMs, longestGap, migrate, now, sharedDestination, silenceReason, startDestination, type Event, type Ran } from "./harness.js";

const shared = sharedDestination();

/** The migration failed, said why on one line of stderr, and the source guest ran on. */
function expectFailedAndRunning(r: Ran, reason: RegExp): void {
  expect(r.status).toBe(1);
  expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  expect(r.result?.status).toBe("failed");
  expect(r.result?.["error-desc"]).toMatch(reason);
  expect(r.stdout).toMatch(/the source guest kept running: it answered \d+ of \d+ pings after the failure/);
}

/** The destination gave up too: its file descriptors are back to what they were (it waits for the next source). */
async function expectDestinationFree(): Promise<void> {
  const free = await eventually(() => shared.dest.fds() <= shared.baselineFds, failBoundMs + 2500);
  const extra = shared.dest.fdList().filter((d, i, all) => all.filter((x) => x === d).length > shared.baseline.filter((x) => x === d).length);
  expect(free, `descriptors beyond the baseline: ${[...new Set(extra)].join(", ")}; log: ${shared.dest.log().slice(-600)}`).toBe(true);
}

/** When the source declared the migration failed (epoch ms). */
function failedAt(r: Ran): number {
  const failed = (r.result!.timeline as Event[]).find((e) => e.kind === "status" && e.status === "failed")!;
  return r.result!["started-at"] + failed.t;
}

/** Longest prober gap allowed: the vCPUs' stop before the fault, plus the time to fail. */
function gapBound(r: Ran, firedAt: number): number {
  const stop = (r.result!.timeline as Event[]).find((e) => e.kind === "vm-stop");
  const stoppedBeforeFault = stop ? Math.max(0, firedAt - (r.result!["started-at"] + stop.t)) : 0;
  return stoppedBeforeFault + failBoundMs;
}

async function withFault(point: FaultPoint, action: FaultAction) {
  const proxy = await faultProxy(shared.dest.port, point, action);
  const r = await migrate(proxy.port);
  expect(proxy.firedAt).toBeDefined();
  // A stalled destination is still counting down its own deadline when the source has already
  // exited: closing the proxy now would end its socket for it.
  if (action.kind === "stall") await eventually(() => proxy.gaveUp.destination !== undefined, Math.max(0, proxy.firedAt! + failBoundMs - now()));
  await proxy.close();
  return { r, proxy, firedAt: proxy.firedAt! };
}

describe("a stalled stream (the proxy stops forwarding, both sockets stay open)", () => {
  for (const point of ["setup", "precopy", "switchover", "verify"] as const) {
    it(`at ${point}: both sides give up within the deadline; the source guest resumes at once`, async () => {
      const { r, proxy, firedAt } = await withFault(point, { kind: "stall" });
      expectFailedAndRunning(r, silenceReason);
      const sourceGaveUp = failedAt(r) - firedAt;
      expect(sourceGaveUp).toBeLessThanOrEqual(failBoundMs);
      expect(proxy.gaveUp.source! - firedAt).toBeLessThanOrEqual(failBoundMs);
      // It was the deadline, not something else: the peer's last keepalive may precede the stall by a quarter of it.
      expect(sourceGaveUp).toBeGreaterThanOrEqual(deadlineMs * (3 / 4 - 1 / 16));
      // The destination notices the silence on its own (the proxy keeps its socket open).
      expect(proxy.gaveUp.destination! - firedAt).toBeLessThanOrEqual(failBoundMs);
      expect(longestGap(r.result!)).toBeLessThanOrEqual(gapBound(r, firedAt));
      await expectDestinationFree();
    }, faultTestTimeoutMs);
  }
});

describe("a cut connection", () => {
  for (const point of ["setup", "precopy", "switchover", "verify"] as const) {
    it(`at ${point}: the migration fails at once and the source guest runs on`, async () => {
      const { r, firedAt } = await withFault(point, { kind: "cut" });
      expectFailedAndRunning(r, /closed the connection|ECONNRESET|EPIPE/);
      expect(failedAt(r) - firedAt).toBeLessThanOrEqual(failBoundMs);
      expect(longestGap(r.result!)).toBeLessThanOrEqual(gapBound(r, firedAt));
      await expectDestinationFree();
    }, faultTestTimeoutMs);
  }
});

it("a stream delayed by 100 ms (below the deadline) still completes", async () => {
  const { r } = await withFault("precopy", { kind: "delay", ms: 100 });
  expect(r.status).toBe(0);
  expect(r.result?.status).toBe("completed");
  expect(r.result?.["stale-pages"]).toBe(0);
  await expectDestinationFree();
}, faultTestTimeoutMs);

describe("signals to either side, mid-precopy", () => {
  it("SIGSTOP of the destination: the source fails within the deadline; continued, the destination frees itself", async () => {
    const pid = shared.dest.child.pid!;
    const { r, proxy, firedAt } = await withFault("precopy", { kind: "call", fn: () => process.kill(pid, "SIGSTOP") });
    process.kill(pid, "SIGCONT");
    expectFailedAndRunning(r, silenceReason);
    expect(failedAt(r) - firedAt).toBeLessThanOrEqual(failBoundMs);
    await expectDestinationFree();
  }, faultTestTimeoutMs);

  it("SIGSTOP of the source: the destination frees itself within the deadline", async () => {
    let source: import("node:child_process").ChildProcess | undefined;
    const proxy = await faultProxy(shared.dest.port, "precopy", { kind: "call", fn: () => source!.kill("SIGSTOP") });
    const ran = migrate(proxy.port, (c) => (source = c));
    expect(await eventually(() => proxy.firedAt !== undefined, 20_000)).toBe(true);
    expect(await eventually(() => proxy.gaveUp.destination !== undefined, failBoundMs + 1000)).toBe(true);
    expect(proxy.gaveUp.destination! - proxy.firedAt!).toBeLessThanOrEqual(failBoundMs);
    expect(shared.dest.log()).toMatch(new RegExp(`aborted in state Receiving: source .* sent nothing for ${deadlinePattern}`));
    source!.kill("SIGKILL");
    await ran;
    await proxy.close();
    await expectDestinationFree();
  }, faultTestTimeoutMs);

  it("kill -9 of the source: the destination frees itself", async () => {
    let source: import("node:child_process").ChildProcess | undefined;
    const proxy = await faultProxy(shared.dest.port, "precopy", { kind: "call", fn: () => source!.kill("SIGKILL") });
    await migrate(proxy.port, (c) => (source = c));
    await proxy.close();
    expect(proxy.firedAt).toBeDefined();
    await expectDestinationFree();
  }, faultTestTimeoutMs);

  it("kill -9 of the destination: the source fails at once and its guest runs on", async () => {
    const victim = await startDestination();
    const proxy = await faultProxy(victim.port, "precopy", { kind: "call", fn: () => victim.child.kill("SIGKILL") });
    const r = await migrate(proxy.port);
    await proxy.close();
    expectFailedAndRunning(r, /closed the connection|ECONNRESET|EPIPE/);
    expect(failedAt(r) - proxy.firedAt!).toBeLessThanOrEqual(failBoundMs);
    await victim.stop();
  }, faultTestTimeoutMs);
});

it("after all that, the destination still migrates a guest (no proxy)", async () => {
  const t = now();
  const r = await migrate(shared.dest.port);
  expect(r.status).toBe(0);
  expect(r.result?.status).toBe("completed");
  expect(r.exitedAt - t).toBeGreaterThan(0);
  await expectDestinationFree();
}, faultTestTimeoutMs);
