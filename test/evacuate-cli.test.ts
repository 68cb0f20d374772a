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
    // Each link's utilisation per second: shares of its capacity that add up to what it carried.
    expect(base.links.length).toBeGreaterThan(0);
    for (const l of base.links as { capacity: number; carried: number; utilisation: number[] }[]) {
      expect(l.utilisation.length).toBeGreaterThan(0);
      for (const u of l.utilisation) expect(u >= 0 && u <= 1).toBe(true);
      const bytes = l.utilisation.reduce((sum, u) => sum + u * l.capacity, 0);
      // Each share is rounded to 3 decimals: at most 0.0005 of a second's capacity off per bin.
      expect(Math.abs(bytes - l.carried)).toBeLessThanOrEqual(0.0005 * l.capacity * l.utilisation.length);
    }
  });

  it("--plan: every ordering and limit within the policy's, the shortest drain with no failure, and what it saves", () => {
    const fleet = small.replace(/  - \{name: hog.*\n/, "").replace(/variants:\n.*\n/, "");
    const r = livemig(["evacuate", "--json", "--plan", file("plan.yaml", fleet)]);
    expect(r.status).toBe(0);
    const run = JSON.parse(r.stdout).runs[0];
    const plan = run.plan;
    // 3 VMs on one source, kubevirt's 2 per node and 5 per cluster: (1, 1), (2, 1), (2, 2) per ordering.
    expect(plan.tried).toHaveLength(4 * 3);
    expect(new Set(plan.tried.map((t: { order: string }) => t.order))).toEqual(new Set(["given", "largest-first", "smallest-first", "least-dirty-first"]));
    // The file's own plan is the run printed beside it.
    expect(plan.given).toMatchObject({ order: "given", perSource: 2, perCluster: 2, "drain-time": run.summary["drain-time"] });
    const complete = plan.tried.filter((t: { failed: number; stopped?: string }) => t.failed === 0 && !t.stopped);
    expect(plan.best["drain-time"]).toBe(Math.min(...complete.map((t: { "drain-time": number }) => t["drain-time"])));
    expect(plan.saves).toBeCloseTo(plan.given["drain-time"] - plan.best["drain-time"], 6);
    // Serial is slower than two at once here: the plan is not the one-at-a-time trial (stopped
    // when it reached the best drain so far, or run to an end past it).
    const serial = plan.tried.find((t: { order: string; perSource: number }) => t.order === "given" && t.perSource === 1);
    expect(serial["drain-time"]).toBeGreaterThanOrEqual(plan.best["drain-time"]);
    expect(serial).not.toEqual(plan.best);
    // The best plan, written into the file, drains in the time the search reported.
    const chosen = fleet
      .replace("policy: {preset: kubevirt,", `order: ${plan.best.order}\npolicy: {preset: kubevirt, parallelMigrationsPerCluster: ${plan.best.perCluster}, parallelOutboundMigrationsPerNode: ${plan.best.perSource},`);
    const again = livemig(["evacuate", "--json", file("chosen.yaml", chosen)]);
    expect(JSON.parse(again.stdout).runs[0].summary["drain-time"]).toBe(plan.best["drain-time"]);
    const table = livemig(["evacuate", "--plan", file("plan.yaml", fleet)]);
    expect(table.stdout).toMatch(/base: plan: .* per cluster, .* per source host: drain .*, saves .* against the file's \(given, 2 per cluster, 2 per source host\): .* \(12 tried(, \d+ stopped early)?\)/);
  }, 60_000);

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
  }, 30_000); // three CLI processes: seconds each on a loaded 2-core machine

  it("--profile: each VM migrates on the profile's machine, as simulate --profile; a bad profile is one line, exit 2", () => {
    const vm = "{memory: 256MiB, used: 128MiB, workload: {kind: uniform, workingSet: 16MiB, rate: 1000}}";
    const fleetFile = file("solo.yaml", `name: solo
seed: 3
hosts: [{name: a, nic: 10Gbit/s}, {name: b, nic: 10Gbit/s}]
vms: [{name: g, host: a, vm: ${vm}}]
evacuate: {from: [a], to: [b]}
migration: {giveUp: {time: 300s}}
policy: {preset: kubevirt, completionTimeoutPerGiB: 0s, progressTimeout: 0s}
`);
    const scenarioFile = file("solo-scenario.yaml", `name: solo
seed: 3
vm: ${vm}
link: {bandwidth: 10Gbit/s}
migration: {maxBandwidth: 0, giveUp: {time: 300s}}
`);
    const profile = "scenarios/qemu-profile.yaml";
    const fleetRun = livemig(["evacuate", fleetFile, "--json", "--profile", profile]);
    expect(fleetRun.status).toBe(0);
    const sim = livemig(["simulate", scenarioFile, "--json", "--profile", profile]);
    expect(sim.status).toBe(0);
    const predicted = JSON.parse(fleetRun.stdout).runs[0].vms[0].result;
    expect(predicted).toEqual(JSON.parse(sim.stdout).runs[0].result);
    // Without the profile the same VM is another machine's (15 GB/s reads, no setup cost).
    const plain = JSON.parse(livemig(["evacuate", fleetFile, "--json"]).stdout).runs[0].vms[0].result;
    expect(plain["total-time"]).not.toBe(predicted["total-time"]);
    const bad = livemig(["evacuate", fleetFile, "--profile", file("bad-profile.yaml", "copyBytesPerSecond: fast\n")]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^livemig: .*bad-profile\.yaml: copyBytesPerSecond: .*\n$/);
    // --cpu-wait as simulate's: hosts whose migration threads wait for a CPU take longer.
    const waiting = livemig(["evacuate", fleetFile, "--json", "--profile", profile, "--cpu-wait", "0.5"]);
    expect(waiting.status).toBe(0);
    expect(JSON.parse(waiting.stdout).runs[0].vms[0].result["total-time"]).toBeGreaterThan(predicted["total-time"] * 1.5);
    const alone = livemig(["evacuate", fleetFile, "--cpu-wait", "0.5"]);
    expect(alone.status).toBe(2);
    expect(alone.stderr).toBe("livemig: --cpu-wait: needs --profile (it rescales the profile's costs from the CPU wait they were fitted at)\n");
  }, 30_000); // six CLI processes

  it("--html: per run a Gantt chart with the downtime windows, link utilisation and the downtime distribution", () => {
    const html = join(dir, "report.html");
    const r = livemig(["evacuate", file("small3.yaml", small.replace(/  - \{name: hog.*\n/, "")), "--html", html]);
    expect(r.status).toBe(0);
    const page = readFileSync(html, "utf8");
    for (const variant of ["base", "serial"]) expect(page).toContain(`data-run="${variant}"`);
    expect(page.match(/data-plot="gantt"/g)).toHaveLength(2);
    expect(page.match(/data-plot="links"/g)).toHaveLength(2);
    expect(page.match(/data-plot="utilisation"/g)).toHaveLength(2);
    expect(page.match(/data-plot="downtimes"/g)).toHaveLength(2);
    expect(page).toContain("web-3");
    expect(page).toContain("a tx");
  }, 30_000);
});
