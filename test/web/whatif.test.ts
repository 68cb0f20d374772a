// The what-if page (livemig serve) in Chromium: loads clean, follows its controls, lays a
// result file beside the prediction; and serve's own errors.
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectErrors, launchChromium, markCounts, overflow, overlappingTexts, screenshotPath, type OpenBrowser } from "./chromium.js";
import { settled, startServe, updates } from "./serve.js";
import { defaultScenario } from "../../web/default-scenario.js";

let chromium: OpenBrowser;
let server: ChildProcess;
let url: string;

beforeAll(async () => {
  ({ server, url } = await startServe());
  chromium = await launchChromium();
}, 30_000);

afterAll(async () => {
  await chromium?.close();
  server?.kill();
}, 30_000);

const plottedDowntimes = (page: Page) =>
  page.$$eval('figure[data-plot="downtimes"] .role-mark text', (ts) => ts.map((t) => t.textContent).join(" "));


describe("livemig serve: the what-if page", () => {
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    page = await chromium.context.newPage();
    errors = collectErrors(page);
    await page.goto(url);
    await settled(page, 0);
  }, 30_000);

  it("loads with no console error and draws its plots", async () => {
    expect(errors).toEqual([]);
    const counts = await markCounts(page);
    expect(counts.map((c) => c.plot)).toContain("downtimes");
    expect(counts.filter((c) => c.plot === "switch-over")).toHaveLength(2);
    for (const c of counts) expect(c.marks, c.plot).toBeGreaterThan(3);
    expect(page.url()).toMatch(/#s=[A-Za-z0-9_-]+$/);
  }, 30_000);

  it("moving a control changes the plotted downtime and the shareable URL", async () => {
    const before = await plottedDowntimes(page);
    const hash = new URL(page.url()).hash;
    const n = await updates(page);
    await page.locator("#control-memory").fill("24");
    await settled(page, n);
    const after = await plottedDowntimes(page);
    expect(after).not.toBe(before);
    expect(await page.inputValue("#scenario")).toMatch(/memory: 24GiB/);
    const shared = page.url();
    expect(new URL(shared).hash).not.toBe(hash);

    // The URL alone brings the same scenario back.
    const other = await chromium.context.newPage();
    await other.goto(shared);
    await settled(other, 0);
    expect(await other.inputValue("#scenario")).toBe(await page.inputValue("#scenario"));
    expect(await plottedDowntimes(other)).toBe(after);
    await other.close();
  }, 30_000);

  it("lays a loaded result JSON beside the prediction", async () => {
    const dir = mkdtempSync(join(tmpdir(), "livemig-web-"));
    const file = join(dir, "measured.json");
    const r = spawnSync("node", ["dist/cli/main.js", "simulate", "scenarios/2025-vdpa-39g.yaml", "--json"], { encoding: "utf8" });
    writeFileSync(file, r.stdout);
    await page.setInputFiles("#load", file);
    await page.waitForFunction(() => document.getElementById("loaded")!.textContent!.includes("measured.json"));
    await page.waitForSelector('figure[data-run="early (measured.json)"] svg');
    const legend = await page.$$eval('figure[data-plot="downtimes"] .role-legend-label text', (ts) => ts.map((t) => t.textContent));
    expect(legend).toEqual(expect.arrayContaining(["base", "early", "base (measured.json)", "early (measured.json)"]));

    const analyze = join(dir, "analyze.json");
    writeFileSync(analyze, spawnSync("node", ["dist/cli/main.js", "analyze", "test/fixtures/measure/vdpa-pair/", "--json"], { encoding: "utf8" }).stdout);
    await page.setInputFiles("#load", analyze);
    await page.waitForFunction(() => document.getElementById("loaded")!.textContent!.includes("analyze.json"));
    await page.waitForFunction(() =>
      [...document.querySelectorAll('figure[data-plot="downtimes"] .role-legend-label text')].some((t) => t.textContent === "measured 1 (analyze.json)"),
    );
    await page.screenshot({ path: screenshotPath("whatif.png") });
    expect(errors).toEqual([]);
  }, 30_000);

  it("a burst of control moves ends with the last one plotted", async () => {
    const burst = await chromium.context.newPage();
    const burstErrors = collectErrors(burst);
    await burst.goto(url);
    await settled(burst, 0);
    // Ten moves 10 ms apart, faster than a simulation: the ones that wait are coalesced and
    // the results of superseded ones dropped, but the last one is always simulated and drawn.
    await burst.evaluate(async () => {
      const input = document.getElementById("control-memory") as HTMLInputElement;
      for (let gib = 20; gib < 30; gib++) {
        input.value = String(gib);
        input.dispatchEvent(new Event("input", { bubbles: true }));
        await new Promise((r) => setTimeout(r, 10));
      }
    });
    await burst.waitForFunction(() => (window as unknown as { whatIf: { scenario: string } }).whatIf.scenario === location.hash, undefined, { timeout: 20_000 });
    expect(await burst.inputValue("#scenario")).toMatch(/memory: 29GiB/);
    expect(await burst.$eval("#control-memory", (i) => i.previousElementSibling?.querySelector("output")?.textContent)).toBe("29 GiB");
    const drawn = await plottedDowntimes(burst);

    // The same as the plots of a page opened on that scenario.
    const fresh = await chromium.context.newPage();
    await fresh.goto(burst.url());
    await settled(fresh, 0);
    expect(await plottedDowntimes(fresh)).toBe(drawn);
    expect(burstErrors).toEqual([]);
    await fresh.close();
    await burst.close();
  }, 60_000);

  it("each move of a control re-simulates and redraws, for the new value (timing: npm run bench:whatif)", async () => {
    const fresh = await chromium.context.newPage();
    await fresh.goto(url);
    await settled(fresh, 0);
    type WhatIf = { updates: number; simulateMs: number; totalMs: number; scenario: string };
    const seen: WhatIf[] = [];
    for (const gib of [16, 17, 16]) {
      const n = await updates(fresh);
      await fresh.locator("#control-memory").fill(String(gib));
      await settled(fresh, n);
      seen.push(await fresh.evaluate(() => (window as unknown as { whatIf: WhatIf }).whatIf));
    }
    // One update per move, each one simulated and drawn; the shared scenario follows the value.
    for (let i = 1; i < seen.length; i++) expect(seen[i].updates).toBe(seen[i - 1].updates + 1);
    for (const w of seen) {
      expect(w.simulateMs).toBeGreaterThan(0);
      expect(w.totalMs).toBeGreaterThanOrEqual(w.simulateMs);
    }
    expect(seen[0].scenario).not.toBe(seen[1].scenario);
    expect(seen[2].scenario).toBe(seen[0].scenario);
    await fresh.close();
  }, 60_000);
});

describe("the what-if page at 800 and 1400 px", () => {
  async function open(width: number, yaml?: string) {
    const page = await chromium.context.newPage();
    await page.setViewportSize({ width, height: 900 });
    const errors = collectErrors(page);
    await page.goto(url);
    await settled(page, 0);
    if (yaml !== undefined) {
      const n = await updates(page);
      await page.fill("#scenario", yaml);
      await settled(page, n);
    }
    return { page, errors };
  }
  const scenario = (workload: string, devices = "[{kind: virtio}]") =>
    `name: w\nvm: {memory: 4GiB, used: 1GiB, vcpus: 2, workload: ${workload}}\nlink: {bandwidth: 10Gbit/s}\nmigration: {autoConverge: true, giveUp: {passes: 60}}\nprobe: {interval: 1ms}\ndevices: ${devices}\n`;

  for (const width of [800, 1400]) {
    it(`${width} px: nothing cut off, labels apart, the limit drawn, sizes in their unit`, async () => {
      const { page, errors } = await open(width, scenario("{kind: uniform, workingSet: 32MiB, rate: 60000}"));
      expect(await overflow(page)).toEqual([]);
      expect(await overlappingTexts(page, 'figure[data-plot="downtimes"]', ["downtime", "guest-visible-downtime", "service-downtime"])).toEqual([]);
      const texts = await page.$$eval('figure[data-plot="downtimes"] text', (ts) => ts.map((t) => t.textContent));
      expect(texts).toContain("downtime-limit 300.0 ms");
      expect(await page.$eval("#control-workingSet", (i) => i.previousElementSibling?.querySelector("output")?.textContent)).toBe("32 MiB");
      expect(errors).toEqual([]);
      await page.close();
    }, 60_000);
  }

  it("after invalid YAML the old plots are marked stale, and unmarked once it is valid again", async () => {
    const { page, errors } = await open(1400);
    const valid = await page.inputValue("#scenario");
    await page.fill("#scenario", valid.replace(/memory: \S+/, "memory: lots"));
    await page.waitForSelector("#status.error");
    await page.waitForSelector("#plots.stale");
    const banner = await page.$eval("#plots", (p) => getComputedStyle(p, "::before").content);
    expect(banner).toContain("stale: these plots are of the last valid scenario");
    const n = await updates(page);
    await page.fill("#scenario", valid);
    await settled(page, n);
    expect(await page.$eval("#plots", (p) => p.classList.contains("stale"))).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("the modes' controls: post-copy completes what precopy gave up on; a mode QEMU refuses beside another turns that one off", async () => {
    const busy = "name: w\nvm: {memory: 1GiB, used: 768MiB, vcpus: 2, workload: {kind: uniform, workingSet: 512MiB, rate: 400000}}\nlink: {bandwidth: 10Gbit/s}\nmigration: {giveUp: {passes: 5}}\ndevices: [{kind: virtio}]\n";
    const { page, errors } = await open(1400, busy);
    const heading = () => page.locator("#plots h2").first().textContent();
    expect(await heading()).toBe("base: failed");
    expect(await page.$eval("#control-preempt", (s) => (s as HTMLSelectElement).disabled)).toBe(true);

    let n = await updates(page);
    await page.locator("#control-postcopy").fill("2");
    await settled(page, n);
    expect(await page.inputValue("#scenario")).toMatch(/postcopy: \{ after: \{ passes: 2 \}, preempt: false \}/);
    expect(await heading()).toBe("base: completed");
    expect(await page.$eval("#control-preempt", (s) => (s as HTMLSelectElement).disabled)).toBe(false);

    // multifd and post-copy: QEMU 10.0 refuses the pair, so turning multifd on turns post-copy off.
    n = await updates(page);
    await page.locator("#control-multifd").fill("4");
    await settled(page, n);
    let yaml = await page.inputValue("#scenario");
    expect(yaml).toMatch(/multifd: \{ channels: 4 \}/);
    expect(yaml).not.toMatch(/postcopy/);
    expect(await page.inputValue("#control-postcopy")).toBe("0");
    expect(await heading()).toBe("base: failed");

    // xbzrle and multifd: the same.
    n = await updates(page);
    await page.selectOption("#control-xbzrle", "256MiB");
    await settled(page, n);
    yaml = await page.inputValue("#scenario");
    expect(yaml).toMatch(/xbzrle: \{ cacheSize: 256MiB \}/);
    expect(yaml).not.toMatch(/multifd/);
    expect(await page.inputValue("#control-multifd")).toBe("0");

    n = await updates(page);
    await page.locator("#control-dirtyLimit").fill("64");
    await settled(page, n);
    expect(await page.inputValue("#scenario")).toMatch(/dirtyLimit: 64MiB\/s/);
    expect(await page.$eval("#control-dirtyLimit", (i) => i.previousElementSibling?.querySelector("output")?.textContent)).toBe("64 MiB/s");
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it("a blocked VF: no empty plot, the heading says it was blocked", async () => {
    const { page, errors } = await open(1400, scenario("{kind: idle}", "[{kind: vf}]"));
    expect(await page.locator("#plots figure").count()).toBe(0);
    expect(await page.locator("#plots h2").allTextContents()).toEqual([
      "base: blocked, nothing was sent: VFIO device doesn't support device and IOMMU dirty tracking",
    ]);
    const ticks = await page.$$eval("svg text", (ts) => ts.map((t) => t.textContent ?? ""));
    expect(ticks.filter((t) => /^0\.0{4,}$/.test(t))).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});

describe("the what-if page: the device paths' options as controls", () => {
  async function open(yaml: string) {
    const page = await chromium.context.newPage();
    const errors = collectErrors(page);
    await page.goto(url);
    await settled(page, 0);
    const n = await updates(page);
    await page.fill("#scenario", yaml);
    await settled(page, n);
    return { page, errors };
  }
  const choose = async (page: Page, id: string, value: string) => {
    const n = await updates(page);
    await page.selectOption(`#control-${id}`, value);
    await settled(page, n);
  };
  const disabled = (page: Page, id: string) => page.$eval(`#control-${id}`, (i) => (i as HTMLSelectElement).disabled);

  it("vf-tracked: switchover-ack, the mlx5 timing and state over multifd follow the scenario and change the downtime", async () => {
    // A VF whose 300 MB of PRE_COPY state takes 1.5 s to allocate on an idle 2 GiB guest: without the ack most of it is downtime.
    const vf = "name: vf\nvm: {memory: 2GiB, used: 512MiB, workload: {kind: idle}}\nlink: {bandwidth: 100Gbit/s}\nmigration: {maxBandwidth: 0, giveUp: {time: 60s}}\ndevices: [{kind: vf-tracked, preCopyBytes: 300000000, stopCopyBytes: 67108864}]\n";
    const { page, errors } = await open(vf);
    expect(await disabled(page, "switchoverAck")).toBe(false);
    expect(await disabled(page, "parallelSuspend")).toBe(true);
    expect(await page.inputValue("#control-switchoverAck")).toBe("off");
    const without = await plottedDowntimes(page);
    await choose(page, "switchoverAck", "on");
    expect(await page.inputValue("#scenario")).toMatch(/switchoverAck: true/);
    const acked = await plottedDowntimes(page);
    expect(acked).not.toBe(without);
    await choose(page, "deviceTiming", "mlx5-cx7");
    expect(await page.inputValue("#scenario")).toMatch(/deviceTiming: mlx5-cx7/);
    expect(await plottedDowntimes(page)).not.toBe(acked);
    // QEMU refuses the state over multifd without migration.multifd: turning it on turns multifd
    // on (2 channels, QEMU's default), and multifd off turns it off.
    await choose(page, "multifdDeviceState", "on");
    expect(await page.inputValue("#scenario")).toMatch(/multifdDeviceState: true/);
    expect(await page.inputValue("#scenario")).toMatch(/multifd: \{ channels: 2 \}/);
    expect(await page.locator("#plots h2").allTextContents()).not.toEqual(expect.arrayContaining([expect.stringMatching(/blocked/)]));
    const n = await updates(page);
    await page.locator("#control-multifd").fill("0");
    await settled(page, n);
    expect(await page.inputValue("#scenario")).toMatch(/multifdDeviceState: false/);
    expect(await page.inputValue("#control-multifdDeviceState")).toBe("off");
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("vdpa: early DRIVER_OK turns iterative state on with it, and iterative state off turns it off", async () => {
    const { page, errors } = await open(defaultScenario.replace(/\nvariants:[\s\S]*$/, "\n"));
    expect(await disabled(page, "switchoverAck")).toBe(true);
    const before = await plottedDowntimes(page);
    await choose(page, "earlyDriverOk", "on");
    const text = await page.inputValue("#scenario");
    expect(text).toMatch(/earlyDriverOk: true/);
    expect(text).toMatch(/iterativeState: true/);
    expect(await page.inputValue("#control-iterativeState")).toBe("on");
    expect(await plottedDowntimes(page)).not.toBe(before);
    await choose(page, "iterativeState", "off");
    expect(await page.inputValue("#scenario")).toMatch(/earlyDriverOk: false/);
    expect(await page.inputValue("#control-earlyDriverOk")).toBe("off");
    await choose(page, "parallelSuspend", "on");
    expect(await page.inputValue("#scenario")).toMatch(/parallelSuspend: true/);
    expect(await page.$eval("#status", (s) => s.classList.contains("error"))).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});

describe("livemig serve: errors", () => {
  it("a bad port or a port in use: one line, exit 2", async () => {
    const bad = spawnSync("node", ["dist/cli/main.js", "serve", "--port", "70000"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('livemig: --port: expected an integer in [0, 65535] (0: any free port), got "70000"');

    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    const busy = spawnSync("node", ["dist/cli/main.js", "serve", "--port", String(port)], { encoding: "utf8", timeout: 10_000 });
    taken.close();
    expect(busy.status).toBe(2);
    expect(busy.stderr.trim()).toBe(`livemig: serve: port ${port} is in use; choose another with --port`);
  }, 30_000);
});
