// `livemig evacuate`: the JSON shape of the issue, the exit codes, one-line errors.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const livemig = (args: string[]) => spawnSync("node", ["dist/cli/main.js", ...args], { encoding: "utf8" });
const dir = mkdtempSync(join(tmpdir(), "livemig-evacuate-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const small = `name: small
hosts: [{name: a, nic: 10Gbit/s}, {name: b, nic: 10Gbit/s}, {name: c, nic: 10Gbit/s}]
vms:
  - {name: web, host: a, count: 3, vm: {memory: 256MiB, workload: {kind: uniform, workingSet: 16MiB, rate: 1000}}, devices: [{kind: vf-tracked}]}
  - {name: hog, host: a, vm: {memory: 2GiB, workload: {kind: uniform, workingSet: 1GiB, rate: 1000000}}}
evacuate: {from: [a], to: [b, c]}
probe: {interval: 1ms}
policy: {preset: kubevirt, completionTimeoutPerGiB: 2s}
variants:
  - {name: serial, set: {policy.parallelOutboundMigrationsPerNode: 1}}
`;

describe("livemig evacuate", () => {
  it("--json: {fleet, runs: [{variant, summary, vms: [{vm, from, to, start, end, result}]}]}; exit 1 when a VM did not move", () => {
    const r = livemig(["evacuate", "--json", file("small.yaml", small)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/small \/ base: hog: migration failed: migration aborted: cancelled by kubevirt: completionTimeoutPerGiB/);
    const out = JSON.parse(r.stdout);
    expect(out.fleet).toBe("small");
    expect(out.runs.map((x: { variant: string }) => x.variant)).toEqual(["base", "serial"]);
    const base = out.runs[0];
    expect(Object.keys(base.summary)).toEqual(["drain-time", "completed", "failed", "downtime", "guest-visible-downtime", "service-downtime", "bytes"]);
    expect(Object.keys(base.summary.downtime)).toEqual(["p50", "p95", "max"]);
    expect(base.summary).toMatchObject({ completed: 3, failed: 1 });
    expect(base.vms.map((v: { vm: string }) => v.vm).sort()).toEqual(["hog", "web-1", "web-2", "web-3"]);
    for (const v of base.vms) {
      expect(v.from).toBe("a");
      expect(["b", "c"]).toContain(v.to);
      expect(v.end).toBeCloseTo(v.start + v.result["total-time"], 6);
    }
    // Two at a time from host a: the third VM waits for a slot, spread over b and c by load.
    expect(base.vms.filter((v: { start: number }) => v.start === 0)).toHaveLength(2);
    expect(new Set(base.vms.map((v: { to: string }) => v.to))).toEqual(new Set(["b", "c"]));
    expect(base.summary["drain-time"]).toBe(Math.max(...base.vms.map((v: { end: number }) => v.end)));
  });

  it("a table without --json; bad input is one line, exit 2", () => {
    const r = livemig(["evacuate", file("small2.yaml", small.replace("policy: {preset: kubevirt, completionTimeoutPerGiB: 2s}", "policy: {preset: kubevirt}").replace(/  - \{name: hog.*\n/, ""))]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^fleet small\n/);
    expect(r.stdout).toMatch(/drain time/);
    expect(r.stdout).toMatch(/web-3 .*a -> [bc]/);
    const bad = livemig(["evacuate", file("bad.yaml", small.replace("nic: 10Gbit/s}, {name: b", "nic: 10Gb/s}, {name: b"))]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/^livemig: .*bad\.yaml:2: hosts\.0\.nic: expected .*ambiguous/);
    const missing = livemig(["evacuate", join(dir, "nope.yaml")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^livemig: .*nope\.yaml: cannot read the fleet file \(no such file or directory\)\n$/);
  });

  it("--html: per run a Gantt chart with the downtime windows, link utilisation and the downtime distribution", () => {
    const html = join(dir, "report.html");
    const r = livemig(["evacuate", file("small3.yaml", small.replace(/  - \{name: hog.*\n/, "")), "--html", html]);
    expect(r.status).toBe(0);
    const page = readFileSync(html, "utf8");
    for (const variant of ["base", "serial"]) expect(page).toContain(`data-run="${variant}"`);
    expect(page.match(/data-plot="gantt"/g)).toHaveLength(2);
    expect(page.match(/data-plot="links"/g)).toHaveLength(2);
    expect(page.match(/data-plot="downtimes"/g)).toHaveLength(2);
    expect(page).toContain("web-3");
    expect(page).toContain("a tx");
  });
});
