// post-copy (issue 17): the switch, the destination's faults, the background push, QEMU's
// refusal with VFIO devices, and the risk. Rules from migration/postcopy-ram.c, migration.c
// postcopy_start and hw/vfio/migration.c vfio_save_prepare (docs/model.md).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Channel } from "../../src/core/ports.js";
import { loadScenario } from "../../src/scenario/load.js";
import { simulate } from "../../src/sim/simulate.js";
import { run, scenario } from "../helpers.js";
import { EverythingDirty, migrateWatched } from "../sim-harness.js";

const busy = (postcopy: string, devices = "[{kind: virtio}]") => `
name: pc
vm: {memory: 4GiB, used: 3GiB, vcpus: 4, workload: {kind: uniform, workingSet: 2GiB, rate: 300000}}
link: {bandwidth: 10Gbit/s, latency: 0.05ms}
migration: {maxBandwidth: 0, giveUp: {passes: 30}${postcopy}}
devices: ${devices}
`;

describe("post-copy", () => {
  it("must-show: 2 GiB at 300k page writes/s over 10 Gbit/s fails in precopy and completes with postcopy after 2 passes", { timeout: 60_000 }, async () => {
    const without = await run(busy(""));
    expect(without.status).toBe("failed");
    const r = await run(busy(", postcopy: {after: {passes: 2}}"));
    expect(r.status).toBe("completed");
    expect(r.ram["postcopy-requests"]).toBeGreaterThan(0);
    expect(r.ram["postcopy-bytes"]).toBeGreaterThan(0);
    // The switch after pass 2: dirty-sync-count 3, then the final sync at the switch.
    expect(r.ram["dirty-sync-count"]).toBe(4);
    const statuses = r.timeline.filter((e) => e.kind === "status").map((e) => (e as { status: string }).status);
    expect(statuses).toEqual(["setup", "active", "postcopy-active", "completed"]);
    // Every byte after resume is post-copy's; the total time runs to the last page, past the resume.
    const resume = r.timeline.find((e) => e.kind === "vm-resume")!.t;
    expect(r["total-time"]).toBeGreaterThan(resume);
    expect(r["postcopy-active-time"]).toBeGreaterThan(0);
    expect(r.ram.transferred).toBe(r.ram["precopy-bytes"] + r.ram["downtime-bytes"] + r.ram["postcopy-bytes"]!);
    expect(r.warnings.some((w) => w.includes("loses the VM"))).toBe(true);
    expect(r["postcopy-blocktime"]).toBeGreaterThan(0);
    expect(r["postcopy-vcpu-blocktime"]).toHaveLength(4);
    // No vCPU waits longer than the post-copy phase lasts.
    for (const b of r["postcopy-vcpu-blocktime"]!) expect(b).toBeLessThanOrEqual(r["postcopy-active-time"]!);
  });

  it("the shipped scenario shows the same", { timeout: 60_000 }, async () => {
    const runs = loadScenario(readFileSync("scenarios/postcopy-2g-busy.yaml", "utf8"), "postcopy-2g-busy.yaml");
    const byName = Object.fromEntries(await Promise.all(runs.map(async (x) => [x.variant, await simulate(x.scenario)] as const)));
    expect(byName.base.status).toBe("failed");
    expect(byName.postcopy.status).toBe("completed");
    expect(byName["postcopy-vf-tracked"]["blocked-reasons"]).toEqual(["vf-tracked: VFIO migration is not supported with postcopy migration"]);
  });

  it("QEMU refuses post-copy with a migrating VFIO device (vfio_save_prepare) before anything is sent; vhost-vDPA it does not", { timeout: 60_000 }, async () => {
    for (const kind of ["vf-tracked", "vf, force: true"]) {
      const r = await run(busy(", postcopy: {after: {passes: 2}}", `[{kind: ${kind}}]`));
      expect(r.status).toBe("failed");
      expect(r["error-desc"]).toBe(`${kind.split(",")[0]}: VFIO migration is not supported with postcopy migration`);
      expect(r.ram.transferred).toBe(0);
    }
    // The same devices without post-copy migrate (and fail to converge, as precopy does here).
    expect((await run(busy("", "[{kind: vf-tracked}]")))["blocked-reasons"]).toBeUndefined();
    const vdpa = await run(busy(", postcopy: {after: {passes: 2}}", "[{kind: vdpa}]"));
    expect(vdpa.status).toBe("completed");
    expect(vdpa.warnings.some((w) => w.startsWith("post-copy with vdpa: the device pins guest RAM"))).toBe(true);
    // The 2015 enlightened VF is not VFIO migration v2: not refused, but its VF pins the destination's RAM.
    const enlightened = await run(busy(", postcopy: {after: {passes: 2}}", "[{kind: vf-enlightened}]"));
    expect(enlightened["blocked-reasons"]).toBeUndefined();
    expect(enlightened.warnings.some((w) => w.startsWith("post-copy with vf-enlightened: the device pins guest RAM"))).toBe(true);
  });

  it("a guest that converges never switches", async () => {
    const r = await run("name: idle\nvm: {memory: 256MiB}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0, postcopy: {after: {passes: 1}}}\n");
    expect(r.status).toBe("completed");
    expect(r.ram["postcopy-requests"]).toBe(0);
    expect(r.ram["postcopy-bytes"]).toBe(0);
    expect(r["postcopy-active-time"]).toBeUndefined();
    expect(r.warnings).toEqual([]);
  });

  it("after: {time}: the switch comes at the first iteration past the time", { timeout: 60_000 }, async () => {
    const r = await run(busy(", postcopy: {after: {time: 5s}}"));
    expect(r.status).toBe("completed");
    const switched = r.timeline.find((e) => e.kind === "status" && e.status === "postcopy-active")!.t;
    expect(switched).toBeGreaterThanOrEqual(5000);
    expect(switched).toBeLessThan(5100);
  });

  it("preempt: a requested page does not wait behind the background slice, so the vCPUs block less", { timeout: 60_000 }, async () => {
    const plain = await run(busy(", postcopy: {after: {passes: 2}}"));
    const preempt = await run(busy(", postcopy: {after: {passes: 2}, preempt: true}"));
    expect(preempt["postcopy-vcpu-blocktime"]![0]).toBeLessThan(plain["postcopy-vcpu-blocktime"]![0]);
  });

  it("the discard bitmap: 16 B (a be64 start and length) per run of dirty pages, sent in the downtime", async () => {
    // A scan writer's dirty pages at the switch are one run (or two where the scan wrapped).
    const text = "name: d\nvm: {memory: 64MiB, workload: {kind: scan, workingSet: 32MiB, rate: 200000}}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0, postcopy: {after: {passes: 1}}}\n";
    const r = await run(text);
    expect(r.status).toBe("completed");
    const deviceState = 4096; // virtio's state
    expect([16, 32]).toContain(r.ram["downtime-bytes"] - deviceState);
  });

  it("a failure after the switch loses the VM: failed, and the result says so", async () => {
    const s = scenario("name: f\nvm: {memory: 256MiB}\nlink: {bandwidth: 1Gbit/s}\nmigration: {maxBandwidth: 0, postcopy: {after: {passes: 1}}}\n");
    let armed = false;
    class Guest extends EverythingDirty {
      override resumeVcpus(): void {
        super.resumeVcpus();
        armed = true;
      }
    }
    const r = await migrateWatched(s, {
      ram: (p) => new Guest(p.pageCount),
      channel: (link): Channel => ({
        send: async (bytes, payload) => {
          if (armed) throw new Error("link down");
          return link.send(bytes, payload);
        },
        drain: () => link.drain(),
      }),
    });
    expect(r.status).toBe("failed");
    expect(r["error-desc"]).toContain("the VM is lost");
    expect(r["error-desc"]).toContain("link down");
    expect(r.timeline.some((e) => e.kind === "vm-resume")).toBe(true);
    expect(r.warnings.some((w) => w.includes("loses the VM"))).toBe(true);
  });
});

describe("post-copy's fault wait behind the socket buffers (profile socketBufferBytes)", () => {
  // One vCPU writing 40k pages/s over 512 MiB, switched after two capped passes; the post-copy
  // push then goes at the profile's stream rate (500 MB/s), so 25 MB of socket buffers ahead
  // of a requested page are a 50 ms wait.
  const guest = `
name: pcq
vm: {memory: 1GiB, used: 600MiB, vcpus: 1, workload: {kind: uniform, workingSet: 512MiB, rate: 40000}}
link: {bandwidth: 100Gbit/s}
migration: {maxBandwidth: 64MiB/s, giveUp: {passes: 30, time: 20s}, postcopy: {after: {passes: 2}}}
`;
  const waitMs = (25e6 / 500e6) * 1000;

  it("a vCPU waits the buffers' bytes at the push's rate for each page, and faults once per wait at most", { timeout: 60_000 }, async () => {
    const r = await simulate(scenario(guest), { profile: { copyBytesPerSecond: 500e6, socketBufferBytes: 25e6 } });
    expect(r.status).toBe("completed");
    const phase = r["postcopy-active-time"]!;
    const requests = r.ram["postcopy-requests"]!;
    // At most one fault per wait (plus the first at once); the guest writes all over its
    // working set, so it faults again as soon as it runs: at least half that many.
    expect(requests).toBeLessThanOrEqual(Math.ceil(phase / waitMs) + 1);
    expect(requests).toBeGreaterThanOrEqual((phase / waitMs) * 0.5);
    // Blocked for nearly all of the phase, never longer than it.
    expect(r["postcopy-blocktime"]!).toBeGreaterThan(0.8 * phase);
    expect(r["postcopy-blocktime"]!).toBeLessThanOrEqual(phase);
  });

  it("with preempt the requested page skips the buffers: far more, far shorter faults", { timeout: 60_000 }, async () => {
    const text = guest.replace("postcopy: {after: {passes: 2}}", "postcopy: {after: {passes: 2}, preempt: true}");
    const queued = await simulate(scenario(guest), { profile: { copyBytesPerSecond: 500e6, socketBufferBytes: 25e6 } });
    const preempt = await simulate(scenario(text), { profile: { copyBytesPerSecond: 500e6, socketBufferBytes: 25e6 } });
    expect(preempt.ram["postcopy-requests"]!).toBeGreaterThan(10 * queued.ram["postcopy-requests"]!);
    expect(preempt["postcopy-blocktime"]! / preempt.ram["postcopy-requests"]!).toBeLessThan(waitMs / 10);
  });
});
