// Is the destination guest alive and intact after a migration QEMU calls completed? Its
// heartbeat must continue past the source's last one, and (for a guest with a working set)
// one full verification scan, started after the switch-over, must find every page holding
// its last write. A guest that dies, stalls or finds a lost write is reported with the
// console lines that show it.

import type { Heartbeat } from "./console.js";
import type { QemuVm } from "./vm.js";

export interface Health {
  healthy: boolean;
  /** What went wrong, as the end of a sentence ("stopped its heartbeat ..."). */
  problem?: string;
  evidence: string[];
  heartbeatsAfter: number;
  verifiedPages: number;
  /** Pages found holding an older write than the guest made: lost by the migration. */
  lostPages: number;
}

/** Heartbeats (~100 ms apart) the destination must show. */
const heartbeatsNeeded = 5;

export async function checkHealth(destination: QemuVm, lastOnSource: Heartbeat | undefined, verify: boolean, timeoutMs: number): Promise<Health> {
  const after = lastOnSource?.seq ?? 0;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = destination.console.poll();
    const beats = state.heartbeats.filter((h) => h.seq > after);
    const scans = state.verifications.filter((v) => v.firstSeq > after);
    const verifiedPages = scans.reduce((n, v) => n + v.pages, 0);
    const lostPages = Math.max(0, ...state.verifications.map((v) => v.bad));
    const base = { heartbeatsAfter: beats.length, verifiedPages, lostPages };
    if (state.alarms.length > 0) {
      return { ...base, healthy: false, problem: lostPages > 0 ? `found ${lostPages} page(s) that lost a write the guest made (the dirty log missed them)` : "failed", evidence: state.alarms.slice(0, 8) };
    }
    if (!destination.alive) {
      return { ...base, healthy: false, problem: `died: ${destination.deathNote()}`, evidence: state.tail.slice(-5) };
    }
    if (beats.length >= heartbeatsNeeded && (!verify || scans.length > 0)) {
      const status = await destination.qmp.execute<{ running: boolean; status: string }>("query-status").catch(() => undefined);
      if (status && !status.running) return { ...base, healthy: false, problem: `is not running (run state ${status.status})`, evidence: state.tail.slice(-5) };
      return { ...base, healthy: true, evidence: [] };
    }
    if (Date.now() > deadline) {
      const what = beats.length < heartbeatsNeeded
        ? `stopped its heartbeat (${beats.length} heartbeat(s) in ${timeoutMs / 1000} s after the switch-over, the source's last was #${after})`
        : "did not finish a verification scan of its working set";
      return { ...base, healthy: false, problem: what, evidence: state.tail.slice(-5) };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
