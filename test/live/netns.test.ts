// Two hosts: `livemig dest` and `livemig run --dest` in two network namespaces joined by a
// veth pair shaped by tc to the scenario's 1 Gbit/s (src/live/netns.ts). Needs root and
// iproute2; CI runs as root. Without them these tests fail, saying so: they do not skip.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

type Netns = typeof import("../../src/live/netns.js");
const load = (): Promise<Netns> => import("../../dist/src/live/netns.js" as string);

const dir = mkdtempSync(join(tmpdir(), "livemig-netns-test-"));
const scenario = join(dir, "two-hosts.yaml");
writeFileSync(
  scenario,
  `name: two-hosts
vm: {memory: 192MiB, used: 128MiB, vcpus: 2, workload: {kind: uniform, workingSet: 16MiB, rate: 5000, rx: {rate: 2kpps, size: 1000B}}}
link: {bandwidth: 1Gbit/s, latency: 0.1ms}
migration: {maxBandwidth: 0}
probe: {interval: 1ms}
devices: [{kind: virtio}]
`,
);

async function requireNetns(netns: Netns): Promise<void> {
  const problem = netns.netnsProblem();
  if (problem) throw new Error(`the two-namespace migration test cannot run here: ${problem}`);
}

describe("livemig across two network namespaces (tc-shaped veth, 1 Gbit/s)", () => {
  it("migrates: completed, no stale pages, the guest answers from the destination, precopy within the 1 Gbit/s link", async () => {
    const netns = await load();
    await requireNetns(netns);
    const r = await netns.migrateAcrossNamespaces(scenario, { bandwidth: 125e6, latencyMs: 0.1 }, ["--json"], 48 << 20);
    expect(netns.namespacesOf(process.pid)).toEqual([]); // torn down
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout).runs[0].result;
    expect(result.status).toBe("completed");
    expect(result["stale-pages"]).toBe(0);
    expect(result.warnings.join("\n")).not.toMatch(/answered none/); // replies crossed the veth
    expect(r.destLog).toMatch(/migration from source 10\.77\.0\.1:\d+: completed/);
    // The shaping is real: tbf held packets back, and nothing crossed faster than the 1 Gbit/s
    // it was given (plus its burst). How fast below that is the machine's load: not asserted.
    expect(r.sourceQdisc.overlimits).toBeGreaterThan(0);
    expect(r.linkMbps).toBeLessThan(1050);
    // The sender emulates no bandwidth here (--emulate-link none or latency): tc is the link, so
    // precopy runs at most at its rate.
    const tl = result.timeline as { kind: string; t: number }[];
    const precopyMs = tl.find((e) => e.kind === "vm-stop")!.t - tl.find((e) => e.kind === "setup-done")!.t;
    const mbps = (result.ram["precopy-bytes"] * 8) / precopyMs / 1000;
    expect(mbps).toBeLessThan(1100);
    expect(r.sourceQdisc.sentBytes).toBeGreaterThan(result.ram.transferred);
  }, 60_000);

  it("removes the namespaces when the migration is interrupted", async () => {
    const netns = await load();
    await requireNetns(netns);
    const child = spawn(process.execPath, ["dist/src/live/netns.js", scenario, "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))));
    const deadline = Date.now() + 10_000;
    while (netns.namespacesOf(child.pid!).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(netns.namespacesOf(child.pid!)).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 300)); // the destination listens, the source starts
    child.kill("SIGTERM");
    expect(await exited).toBe(143);
    expect(netns.namespacesOf(child.pid!)).toEqual([]);
  }, 30_000);
});
