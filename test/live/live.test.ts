// The live engine with real processes and sockets: `livemig run` on loopback, `livemig dest`,
// and peers that get the protocol wrong. Built by `npm test` before vitest runs.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { connect, createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { firstTouchProbePages } from "../../src/live/first-touch.js";
import { profileOfFigures } from "../../src/cli/run.js";
import { qemuIterationMs } from "../../src/core/params.js";
import { loadScenario } from "../../src/scenario/load.js";
import { simulate } from "../../src/sim/simulate.js";
import { Command, FrameReader, encodeFrame, newNonce, protocolVersion, startPayload, type Frame } from "../../src/live/protocol.js";

const dir = mkdtempSync(join(tmpdir(), "livemig-live-"));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

function livemig(...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn("node", ["dist/cli/main.js", ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

async function liveJson(...args: string[]) {
  const r = await livemig("run", ...args, "--json");
  expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  return { ...r, out: JSON.parse(r.stdout) };
}

const guest = (workload: string, devices: string, extra = "") => `
name: live-test
vm: {memory: 64MiB, used: 24MiB, vcpus: 1, workload: ${workload}}
link: {bandwidth: 1Gbit/s}
migration: {maxBandwidth: 0}
probe: {interval: 1ms}
devices: [${devices}]
${extra}`;

describe("livemig run (loopback, real processes)", () => {
  it("migrates a running virtio guest: completed, no stale pages, a measured service downtime", async () => {
    const s = file("virtio.yaml", guest("{kind: uniform, workingSet: 8MiB, rate: 4000}", "{kind: virtio}"));
    const { status, out } = await liveJson(s);
    expect(status).toBe(0);
    const r = out.runs[0].result;
    expect(r.status).toBe("completed");
    expect(r["stale-pages"]).toBe(0);
    expect(r.downtime).toBeGreaterThan(0);
    expect(r.ram.transferred).toBeGreaterThan(24 * 2 ** 20);
    // The service downtime is the switch-over's gap, not a figure (a loaded machine only stretches it):
    // pings go unanswered only while the guest runs on neither side, so the longest gap is one that
    // overlaps the stop..resume window; and replies resume at the destination (no warning that the guest
    // answered none of the pings sent after its resume).
    const at = (kind: string) => r.timeline.find((e: { kind: string }) => e.kind === kind).t as number;
    const gaps = r.timeline.filter((e: { kind: string }) => e.kind === "probe-gap") as { t: number; end: number; lost: number }[];
    const longest = gaps.reduce((a, b) => (b.end - b.t > a.end - a.t ? b : a));
    expect(r["service-downtime"]).toBeCloseTo(longest.end - longest.t, 2); // rounded to the us
    expect(longest.lost).toBeGreaterThanOrEqual(1);
    expect(longest.t).toBeLessThan(at("vm-resume"));
    expect(longest.end).toBeGreaterThan(at("vm-stop"));
    expect(r.warnings.join(" ")).not.toMatch(/answered none/);
    expect(r.timeline.filter((e: { kind: string }) => e.kind === "announce")).toHaveLength(5);
  }, 60_000);

  it("vf-enlightened without DMA tracking loses receive DMA: stale pages, completed-unsafe", async () => {
    const s = file("enl.yaml", guest("{kind: uniform, workingSet: 8MiB, rate: 2000, rx: {rate: 2kpps, size: 1000B}}", "{kind: vf-enlightened, trackDma: false}"));
    const { status, out } = await liveJson(s, "--predict");
    expect(status).toBe(1); // completed, but unsafe: no success
    const { result, predicted } = out.runs[0];
    expect(result.status).toBe("completed-unsafe");
    expect(result["stale-pages"]).toBeGreaterThan(0);
    expect(result["stale-page-list"].length).toBe(result["stale-pages"]);
    expect(result.warnings.join("\n")).toMatch(/UNSAFE/);
    // The live engine re-sent them before resuming: the guest at the destination ran on verified memory.
    expect(result.warnings.join("\n")).toMatch(new RegExp(`re-sent the ${result["stale-pages"]} differing pages and compared them again`));
    expect(predicted.status).toBe("completed-unsafe"); // --predict: the simulator's result beside it
  }, 60_000);

  it("--runs N: every run kept, the figures summarised as analyze does, the host's load recorded; --predict predicts each run", async () => {
    const text = guest("{kind: uniform, workingSet: 8MiB, rate: 2000}", "{kind: virtio}");
    const s = file("runs.yaml", text);
    const { status, out } = await liveJson(s, "--runs", "2", "--predict");
    expect(status).toBe(0);
    const run = out.runs[0];
    expect(run.results).toHaveLength(2);
    const downtime = run.summary.find((f: { name: string }) => f.name === "downtime").summary;
    const values = run.results.map((r: { downtime: number }) => r.downtime);
    expect(downtime.runs).toBe(2);
    expect(downtime.min).toBe(Math.min(...values));
    expect(downtime.max).toBe(Math.max(...values));
    expect(downtime.interval.lo).toBeLessThanOrEqual(downtime.median);
    for (const r of run.results) {
      expect(r.host.cpus).toBeGreaterThan(0);
      expect(r.host["cpu-busy"]).toBeGreaterThan(0);
      expect(r.host["cpu-busy"]).toBeLessThanOrEqual(1);
      // Starved or not, the warning says so exactly when the recorded lateness says it should.
      const late = r.host["vcpu-late-naps"] > 0 || r.host["loop-delay-p99"] > 10;
      expect(r.warnings.some((w: string) => w.startsWith("STARVED"))).toBe(late);
    }
    // Each run is predicted with its own figures, at QEMU's iteration cadence, as the live engine runs.
    expect(run["predicted-runs"]).toHaveLength(2);
    const scenario = loadScenario(text, "runs.yaml")[0].scenario;
    for (const [i, r] of run.results.entries()) {
      const profile = profileOfFigures({ firstTouchUs: r.destination["first-touch-us"], applyUs: r.destination["apply-us"], zeroCheckUs: r.source["walk-zero-check-us"] }, 4096);
      const expected = await simulate(scenario, { profile, iterationMs: qemuIterationMs });
      expect(run["predicted-runs"][i]["total-time"]).toBe(expected["total-time"]);
      expect(run["predicted-runs"][i].downtime).toBe(expected.downtime);
    }
    const byDowntime = [...run["predicted-runs"]].sort((a: { downtime: number }, b: { downtime: number }) => a.downtime - b.downtime);
    expect(run.predicted.downtime).toBe(byDowntime[0].downtime); // the lower median of two
    const bad = await livemig("run", s, "--runs", "0");
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('livemig: --runs: expected a whole number of runs from 1 to 1000, got "0"');
  }, 60_000);

  it("vdpa: pinning at-start is inside the downtime, early pinning is not", async () => {
    const s = file(
      "vdpa.yaml",
      `name: live-vdpa
vm: {memory: 192MiB, used: 48MiB, vcpus: 1, workload: {kind: idle}}
link: {bandwidth: 500Mbit/s}
migration: {maxBandwidth: 0}
probe: {interval: 1ms}
devices: [{kind: vdpa, queuePairs: 1, pinning: at-start, tracking: device, initStallMs: 50}]
variants: [{name: early, set: {devices.0.pinning: early}}]
`,
    );
    const { status, out } = await liveJson(s);
    expect(status).toBe(0);
    const [atStart, early] = out.runs.map((r: { result: Record<string, never> }) => r.result) as Record<string, any>[];
    expect(atStart.status).toBe("completed");
    expect(early.status).toBe("completed");
    // Where the pinning (touching every page of the destination's RAM) lies, not how long it
    // takes: at-start inside [vm-stop, vm-resume], early wholly before vm-stop.
    type Ev = { kind: string; t: number; end?: number; name?: string; component?: string };
    const at = (r: { timeline: Ev[] }, kind: string) => r.timeline.find((e) => e.kind === kind)!.t;
    const pinning = (r: { timeline: Ev[] }) => r.timeline.filter((e) => e.kind === "span" && e.component === "pinning" && e.name !== "wait for early pinning");
    const [inside] = pinning(atStart);
    expect(inside.t).toBeGreaterThanOrEqual(at(atStart, "vm-stop"));
    expect(inside.end!).toBeLessThanOrEqual(at(atStart, "vm-resume"));
    expect(atStart["downtime-breakdown"].pinning).toBeGreaterThan(0);
    // Early pinning starts beside precopy; the downtime holds at most what is left of it at
    // vm-stop (the join waits for it). How much is left depends on the machine's speed, so
    // that is asserted, not that nothing is left.
    const [before] = pinning(early);
    expect(before.name).toBe("early pinning");
    const stop = at(early, "vm-stop");
    expect(before.t).toBeLessThan(stop);
    const leftAtStop = Math.max(0, before.end! - stop);
    // A component the downtime did not hold is absent from the breakdown (the memory key, when
    // the early pinning ended before vm-stop).
    const inDowntime = (component: string): number => early["downtime-breakdown"][component] ?? 0;
    const joinSlackMs = inDowntime("memory-key") + 2;
    expect(inDowntime("pinning")).toBeLessThanOrEqual(leftAtStop + joinSlackMs);
    expect(inDowntime("pinning")).toBeLessThan(before.end! - before.t);
    // The pinning thread's own times (schedstat): CPU and run-queue wait fit in its wall time,
    // but for the kernel's accounting, which brings a running thread's figures up to date at
    // scheduler ticks (10 ms: two ticks at 250 Hz); a wait over a tenth of it is in the warnings.
    for (const r of [atStart, early]) {
      const d = r.destination;
      expect(d["pin-cpu-ms"]).toBeGreaterThan(0);
      expect(d["pin-wait-ms"]).toBeGreaterThanOrEqual(0);
      expect(d["pin-cpu-ms"] + d["pin-wait-ms"]).toBeLessThanOrEqual(d["pin-ms"] + 10);
      // Its page faults: at most one a page of the 192 MiB, and at least one a page of what
      // the stream had not written when the pinning reached it (the 144 MiB never used, less
      // the NIC's buffers DMA may have filled, at start; early pinning races the stream).
      expect(d["pin-faults"]).toBeLessThanOrEqual((192 << 20) / 4096 + 64);
      expect(d["pin-faults"]).toBeGreaterThanOrEqual(r === atStart ? (144 << 20) / 4096 - 512 : 1);
      const warned = r.warnings.some((w: string) => w.startsWith("the destination's pinning waited"));
      expect(warned).toBe(d["pin-wait-ms"] > 0.1 * d["pin-ms"]);
    }
  }, 90_000);

  it("--predict uses the first touch, apply and zero check measured in the run; destinationPrealloc faults its RAM in first", async () => {
    const text = `name: live-touch
vm: {memory: 96MiB, used: 24MiB, vcpus: 1, workload: {kind: idle}}
link: {bandwidth: 1Gbit/s}
migration: {maxBandwidth: 0}
probe: {interval: 1ms}
devices: [{kind: vdpa, queuePairs: 1, pinning: at-start}]
variants: [{name: prealloc, set: {migration.destinationPrealloc: true}}]
`;
    const { status, out } = await liveJson(file("touch.yaml", text), "--predict");
    expect(status).toBe(0);
    const [base, prealloc] = out.runs as { variant: string; result: Record<string, any>; predicted: Record<string, any>; "predicted-first-touch-us": number; "predicted-apply-us": number; "predicted-zero-check-us": number }[];
    for (const run of [base, prealloc]) {
      const touch = run.result.destination;
      expect(touch["first-touch-probe-pages"]).toBe(firstTouchProbePages);
      expect(touch["first-touch-us"]).toBeGreaterThan(0);
      expect(touch["apply-us"]).toBeGreaterThan(0);
      // The prediction is the simulator's with the figures this run measured (one run: its own):
      // the first touch of the pinning's own page faults where it took them (not preallocated),
      // else the probe's.
      const pinned = touch["pin-faults"] === undefined ? undefined : (touch["pin-cpu-ms"] * 1000) / touch["pin-faults"];
      if (run.variant === "base") expect(touch["pin-faults"]).toBeGreaterThanOrEqual((72 << 20) / 4096 - 512);
      else expect(touch["pin-faults"]).toBeUndefined();
      const firstTouchUs = pinned ?? touch["first-touch-us"];
      expect(run["predicted-first-touch-us"]).toBe(firstTouchUs);
      expect(run["predicted-apply-us"]).toBe(touch["apply-us"]);
      const scenario = loadScenario(text, "touch.yaml").find((r) => r.variant === run.variant)!.scenario;
      expect(run.result.source["zero-check-us"]).toBeGreaterThan(0);
      // The walk checked the 72 MiB the guest never wrote, so its own zero check is the figure, not the probe's.
      const source = run.result.source;
      expect(source["walk-zero-pages"]).toBeGreaterThanOrEqual((72 << 20) / 4096 - 512); // less the NIC buffers DMA may have filled
      expect(source["walk-zero-check-us"]).toBeGreaterThan(0);
      expect(run["predicted-zero-check-us"]).toBe(source["walk-zero-check-us"]);
      const profile = profileOfFigures({ firstTouchUs, applyUs: touch["apply-us"], zeroCheckUs: source["walk-zero-check-us"] }, 4096);
      const expected = await simulate(scenario, { profile, iterationMs: qemuIterationMs });
      expect(run.predicted.downtime).toBe(expected.downtime);
      expect(run.predicted["total-time"]).toBe(expected["total-time"]);
    }
    expect(base.result.destination["prealloc-ms"]).toBeUndefined();
    expect(prealloc.result.destination["prealloc-ms"]).toBeGreaterThan(0);
    // Preallocated, the pinning finds every page in and the prediction pins nothing.
    expect(prealloc.predicted["downtime-breakdown"].pinning ?? 0).toBe(0);
    expect(base.predicted["downtime-breakdown"].pinning).toBeGreaterThan(0);
  }, 60_000);

  it("vf-failover: link down at setup, the standby path is dirty-logged, hot-plug after resume; vf-tracked logs DMA", async () => {
    const rx = "{kind: uniform, workingSet: 8MiB, rate: 2000, rx: {rate: 3kpps, size: 1000B}}";
    const fo = file("failover.yaml", guest(rx, "{kind: vf-failover, unplugMs: 400, hotplugMs: 100, driverProbeMs: 50, linkUpMs: 50}"));
    const tr = file("tracked.yaml", guest(rx, "{kind: vf-tracked}", "variants: [{name: untracked, set: {devices.0.trackDma: false}}]"));
    const [f, t] = await Promise.all([liveJson(fo), liveJson(tr)]);
    expect(f.status).toBe(0);
    const r = f.out.runs[0].result;
    expect(r.status).toBe("completed");
    expect(r["stale-pages"]).toBe(0); // the standby path's DMA reached the dirty log
    expect(r["setup-time"]).toBeGreaterThanOrEqual(400); // wait-unplug
    type Ev = { kind: string; t: number; end?: number; state?: string; name?: string };
    const tl = r.timeline as Ev[];
    expect(tl.filter((e) => e.kind === "net").map((e) => e.state)).toEqual(["down", "degraded", "up"]);
    const down = tl.find((e) => e.kind === "net")!.t;
    const setupDone = tl.find((e) => e.kind === "setup-done")!.t;
    // The NIC's link was down while net_failover switched to the standby: the prober saw it.
    expect(tl.some((e) => e.kind === "probe-gap" && e.end! > down && e.t < setupDone)).toBe(true);
    const resume = tl.find((e) => e.kind === "vm-resume")!.t;
    expect(tl.find((e) => e.kind === "span" && e.name === "VF hot-plug")!.t).toBeGreaterThanOrEqual(resume);

    expect(t.status).toBe(1); // the untracked variant is unsafe
    const [tracked, untracked] = t.out.runs.map((x: { result: Record<string, never> }) => x.result) as Record<string, any>[];
    expect(tracked.status).toBe("completed");
    expect(tracked["stale-pages"]).toBe(0);
    expect(untracked.status).toBe("completed-unsafe");
    expect(untracked["stale-pages"]).toBeGreaterThan(0);
  }, 60_000);

  it("fields the live engine cannot honour are an error naming them (exit 2)", async () => {
    const s = file("vf.yaml", guest("{kind: idle}", "{kind: vf, force: true}"));
    const r = await livemig("run", s);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`livemig: ${s}: devices.0.kind: the live engine runs virtio, vf-enlightened, vf-tracked, vf-failover, vdpa; "vf" is simulated only`);
    const p = file("pin.yaml", guest("{kind: idle}", "{kind: vdpa, pinningMsPerGiB: 10}"));
    expect((await livemig("run", p)).stderr).toMatch(/devices\.0\.pinningMsPerGiB: the live engine pins for real/);
  }, 30_000);

  it("run and dest take the shared secret the same way; misuse is one line, exit 2", async () => {
    const s = file("opts.yaml", guest("{kind: idle}", "{kind: virtio}"));
    const short = file("short.secret", "abc\n");
    const cases: [string[], string][] = [
      [["dest", "--listen", "127.0.0.1:0"], "livemig: --secret-file: needs FILE, the secret the source will give to `livemig run --dest`"],
      [["run", s, "--dest", "127.0.0.1:4444"], "livemig: --dest: needs --secret-file FILE, the secret the destination was started with"],
      [["run", s, "--secret-file", short], "livemig: --secret-file: only with --dest (a loopback run starts its own destination with a fresh secret)"],
      [["run", s, "--dest", "127.0.0.1:4444", "--secret-file", short], `livemig: --secret-file ${short}: expected a shared secret of at least 8 characters`],
      [["dest", "--listen", "127.0.0.1:0", "--secret-file", short], `livemig: --secret-file ${short}: expected a shared secret of at least 8 characters`],
      [["run", s, "--emulate-link", "tc"], 'livemig: --emulate-link: expected one of both, bandwidth, latency, none, got "tc"'],
    ];
    const runs = await Promise.all(cases.map(([args]) => livemig(...args)));
    runs.forEach((r, i) => {
      expect(r.stderr.trim()).toBe(cases[i][1]);
      expect(r.status).toBe(2);
    });
  }, 30_000);
});

describe("refused peers: the source guest keeps running", () => {
  let dest: ChildProcess;
  let port = 0;
  const scenario = () => file("small.yaml", guest("{kind: uniform, workingSet: 4MiB, rate: 1000}", "{kind: virtio}"));

  beforeAll(async () => {
    const secret = file("a.secret", "the-right-secret\n");
    dest = spawn("node", ["dist/cli/main.js", "dest", "--listen", "127.0.0.1:0", "--secret-file", secret]);
    port = await new Promise<number>((resolve) => {
      let out = "";
      dest.stdout!.on("data", (d) => {
        out += d;
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
    });
  });
  afterAll(() => dest.kill());

  it("a source with the wrong secret is refused; the migration fails and the guest runs on", async () => {
    const r = await livemig("run", scenario(), "--dest", `127.0.0.1:${port}`, "--secret-file", file("b.secret", "not-the-secret"));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/migration failed: authentication failed/);
    expect(r.stdout).toMatch(/the source guest kept running: it answered \d+ of \d+ pings/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  }, 30_000);

  it("a source speaking another protocol version is refused with both versions named", async () => {
    const r = await livemig("run", scenario(), "--dest", `127.0.0.1:${port}`, "--secret-file", join(dir, "a.secret"), "--protocol-version", String(protocolVersion + 1));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(`the source speaks protocol version ${protocolVersion + 1}; this destination speaks version ${protocolVersion}`);
    expect(r.stdout).toMatch(/the source guest kept running/);
  }, 30_000);

  it("the destination answers garbage and a wrong version with an Error frame, and keeps listening", async () => {
    const ask = (bytes: Buffer) =>
      new Promise<Frame[]>((resolve) => {
        const reader = new FrameReader();
        const frames: Frame[] = [];
        const s = connect(port, "127.0.0.1", () => s.write(bytes));
        s.on("data", (d) => reader.push(d, (f) => frames.push(f)));
        s.on("close", () => resolve(frames));
      });
    const garbage = await ask(Buffer.from("GET / HTTP/1.0\r\n\r\n"));
    expect(garbage[0].type).toBe(Command.Error);
    expect(garbage[0].payload.toString()).toBe("malformed frame: unknown command 0x47");
    const version = await ask(encodeFrame(Command.Start, 0, startPayload(newNonce(), 9)));
    expect(version[0].type).toBe(Command.Error);
    expect(version[0].payload.toString()).toMatch(`the source speaks protocol version 9; this destination speaks version ${protocolVersion}`);
  }, 30_000);

  it("a destination that answers garbage is refused; the source guest runs on", async () => {
    const fake = createServer((s) => s.on("data", () => s.write("HTTP/1.1 400 Bad Request\r\n\r\n")));
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", () => r()));
    const fakePort = (fake.address() as AddressInfo).port;
    const r = await livemig("run", scenario(), "--dest", `127.0.0.1:${fakePort}`, "--secret-file", join(dir, "a.secret"));
    fake.close();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/migration failed: malformed frame: unknown command 0x48 \(from destination 127\.0\.0\.1:\d+\)/);
    expect(r.stdout).toMatch(/the source guest kept running/);
  }, 30_000);
});
