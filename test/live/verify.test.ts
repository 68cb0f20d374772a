// The switch-over comparison's scope: by default only the NIC's pages (its rings and buffers)
// are hashed and compared, on the claim that no other page can change behind the dirty log's
// back. `--verify all` hashes and compares every page; run on a guest whose NIC's DMA is not
// logged, it finds stale pages only among the NIC's pages, which is what makes the default
// exact. (The default's own stale-page checks are test/live/live.test.ts's.) Built by
// `npm test` before vitest runs.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nicLayout, nicPages, pageSize } from "../../src/live/guest/layout.js";

const dir = mkdtempSync(join(tmpdir(), "livemig-verify-"));
const memory = 64 * 2 ** 20;
const scenario = join(dir, "enl.yaml");
writeFileSync(
  scenario,
  `name: verify-scope
vm: {memory: 64MiB, used: 24MiB, vcpus: 1, workload: {kind: uniform, workingSet: 8MiB, rate: 2000, rx: {rate: 2kpps, size: 1000B}}}
link: {bandwidth: 1Gbit/s}
migration: {maxBandwidth: 0}
probe: {interval: 1ms}
devices: [{kind: vf-enlightened, trackDma: false}]
`,
);

/** `livemig ARGS` as a process of its own (the test waits for it: nothing else runs meanwhile). */
function livemig(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync("node", ["dist/cli/main.js", ...args], { encoding: "utf8" });
}

const nic = new Set(nicPages(nicLayout(memory / pageSize)));

describe("run --verify: which pages the switch-over compares", () => {
  it("every page compared (--verify all): untracked DMA leaves stale only the NIC's pages", () => {
    const r = livemig("run", scenario, "--verify", "all", "--json");
    expect(r.status).toBe(1); // completed-unsafe
    const result = JSON.parse(r.stdout).runs[0].result;
    expect(result.status).toBe("completed-unsafe");
    const stale: number[] = result["stale-page-list"];
    expect(stale.length).toBeGreaterThan(0);
    expect(stale.filter((p) => !nic.has(p))).toEqual([]);
  }, 60_000);

  it("an unknown scope is one line, exit 2", () => {
    const r = livemig("run", scenario, "--verify", "some");
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('livemig: --verify: expected one of dma, all, got "some"');
  }, 30_000);
});
