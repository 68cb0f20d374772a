// The `simulate --html` report opened in Chromium: every plot drawn, the at-start/early
// difference visible.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatMs } from "../../src/core/format.js";
import { launchChromium, markCounts, collectErrors, overflow, overlappingTexts, screenshotPath, type OpenBrowser } from "../web/chromium.js";

let chromium: OpenBrowser;
beforeAll(async () => {
  chromium = await launchChromium();
}, 30_000);
afterAll(async () => {
  await chromium?.close();
});

describe("simulate --html in Chromium", () => {
  it("draws every plot of both runs and shows at-start against early", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "livemig-report-")), "out.html");
    const r = spawnSync("node", ["dist/cli/main.js", "simulate", "scenarios/2025-vdpa-39g.yaml", "--html", out], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const json = spawnSync("node", ["dist/cli/main.js", "simulate", "scenarios/2025-vdpa-39g.yaml", "--json"], { encoding: "utf8" });
    const [base, early] = (JSON.parse(json.stdout) as { runs: { result: Record<string, number> }[] }).runs.map((run) => run.result);

    const page = await chromium.context.newPage();
    const errors = collectErrors(page);
    await page.goto(pathToFileURL(resolve(out)).href);
    const counts = await markCounts(page);
    // Two side-by-side plots, then four per run (timeline, switch-over, passes, prober).
    expect(counts.map((c) => c.plot)).toEqual([
      "downtimes", "breakdown",
      "timeline", "switch-over", "passes", "prober",
      "timeline", "switch-over", "passes", "prober",
    ]);
    for (const c of counts) expect(c.marks, c.plot).toBeGreaterThan(3);

    const windows = await page.$$eval("section.run", (runs) => runs.map((s) => [(s as HTMLElement).dataset.run, s.querySelector("ul.windows")?.textContent ?? ""]));
    expect(windows.map((w) => w[0])).toEqual(["base", "early"]);
    expect(windows[0][1]).toContain(`guest-visible-downtime ${formatMs(base["guest-visible-downtime"])}`);
    expect(windows[1][1]).toContain(`guest-visible-downtime ${formatMs(early["guest-visible-downtime"])}`);
    expect(base["guest-visible-downtime"]).toBeGreaterThan(2 * early["guest-visible-downtime"]);
    // The breakdown bar of the at-start run has a pinning block; early's has none.
    const legend = await page.$$eval('figure[data-plot="breakdown"] .role-legend-label text', (ts) => ts.map((t) => t.textContent));
    expect(legend).toContain("pinning");
    const table = await page.$$eval("table tr", (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
    // Both downtimes are far above the 300 ms limit: flagged in the table, the warnings and the plot.
    expect(table.find((row) => row[0] === "downtime")).toEqual(["downtime", `${formatMs(base.downtime)} (16x limit)`, `${formatMs(early.downtime)} (6x limit)`]);
    const alert = await page.textContent(".warnings");
    expect(alert).toMatch(/base: downtime 4\.\d\d s is 15\.\dx the downtime-limit of 300\.0 ms: the limit governs only the RAM sent after stop .* device work after stop that it does not govern \(pinning/);
    const limitLabel = await page.$$eval('figure[data-plot="downtimes"] .role-mark text', (ts) => ts.map((t) => t.textContent).filter((t) => t?.startsWith("downtime-limit")));
    expect(limitLabel).toEqual(["downtime-limit 300.0 ms"]);
    expect(await page.$$('figure[data-plot="downtimes"] .role-mark line')).not.toHaveLength(0);

    await page.screenshot({ path: screenshotPath("report.png"), fullPage: false, clip: { x: 0, y: 0, width: 1400, height: 1000 } });
    expect(errors).toEqual([]);
    await page.close();
  }, 30_000);
});

describe("the report's plots in Chromium, at 800 and 1400 px", () => {
  const dir = mkdtempSync(join(tmpdir(), "livemig-plots-"));
  const report = (scenario: string, name: string) => {
    const out = join(dir, `${name}.html`);
    const r = spawnSync("node", ["dist/cli/main.js", "simulate", scenario, "--html", out], { encoding: "utf8" });
    expect(r.stderr).toContain(`wrote the report ${out}`);
    return pathToFileURL(resolve(out)).href;
  };
  const oneRun = join(dir, "one.yaml");
  writeFileSync(oneRun, "name: one-run\nvm: {memory: 4GiB, used: 1GiB, vcpus: 2, workload: {kind: uniform, workingSet: 512MiB, rate: 60000}}\nlink: {bandwidth: 10Gbit/s}\nmigration: {autoConverge: true, giveUp: {passes: 60}}\nprobe: {interval: 1ms}\n");

  for (const width of [800, 1400]) {
    it(`one run (${width} px): x labels apart, the threshold on the per-pass plot, the throttle plotted`, async () => {
      const page = await chromium.context.newPage();
      await page.setViewportSize({ width, height: 1000 });
      const errors = collectErrors(page);
      await page.goto(report(oneRun, `one-${width}`));
      expect(await overlappingTexts(page, 'figure[data-plot="downtimes"]', ["downtime", "guest-visible-downtime", "service-downtime"])).toEqual([]);
      expect(await overflow(page)).toEqual([]);
      // Pass 1 (all of RAM) and the last passes on one symlog scale, the threshold drawn over them.
      const passes = await page.$$eval('figure[data-plot="passes"] text', (ts) => ts.map((t) => t.textContent));
      expect(passes).toContain("MiB, symlog scale (remaining dirty, threshold)");
      expect(await page.$$('figure[data-plot="passes"] path[stroke="#d62728"]')).not.toHaveLength(0);
      // Auto-converge raised the throttle: plotted with the guest's share left.
      const throttle = await page.$$eval('figure[data-plot="throttle"] .role-legend-label text', (ts) => ts.map((t) => t.textContent));
      expect(throttle).toEqual(["cpu-throttle-percentage", "guest vCPU time left"]);
      expect(errors).toEqual([]);
      await page.close();
    }, 30_000);
  }

  it("a blocked VF: no empty plot, the heading says it was blocked", async () => {
    const page = await chromium.context.newPage();
    await page.goto(report("scenarios/2015-82599-no-support.yaml", "blocked"));
    const base = page.locator('section.run[data-run="base"]');
    expect(await base.locator("h2").textContent()).toBe("base: blocked, nothing was sent: VFIO device doesn't support device and IOMMU dirty tracking");
    expect(await base.locator("figure").count()).toBe(0);
    expect(await page.locator('figure[data-plot="downtimes"]').count()).toBe(0);
    const ticks = await page.$$eval("svg text", (ts) => ts.map((t) => t.textContent ?? ""));
    expect(ticks.filter((t) => /^0\.0{4,}$/.test(t))).toEqual([]);
    await page.close();
  }, 30_000);
});

describe("compare --html overlays the runs", () => {
  it("a line per run of both sides on one plot, coloured by side", async () => {
    const dir = mkdtempSync(join(tmpdir(), "livemig-overlay-"));
    const base = "name: ov\nvm: {memory: 2GiB, used: 1GiB, workload: {kind: uniform, workingSet: 256MiB, rate: 30000}}\nlink: {bandwidth: 10Gbit/s}\n";
    for (const [side, extra] of [["a", ""], ["b", "migration: {maxBandwidth: 256MiB/s}\n"]]) {
      mkdirSync(join(dir, side));
      writeFileSync(join(dir, `${side}.yaml`), base + extra);
      for (const seed of ["1", "2", "3"]) {
        const r = spawnSync("node", ["dist/cli/main.js", "simulate", join(dir, `${side}.yaml`), "--json", "--seed", seed], { encoding: "utf8" });
        writeFileSync(join(dir, side, `run${seed}.json`), r.stdout);
      }
    }
    const out = join(dir, "ab.html");
    const r = spawnSync("node", ["dist/cli/main.js", "compare", join(dir, "a"), join(dir, "b"), "--html", out], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const page = await chromium.context.newPage();
    const errors = collectErrors(page);
    await page.goto(pathToFileURL(out).href);
    const overlay = page.locator('figure[data-plot="overlay"]');
    expect(await overlay.locator('path[aria-roledescription="line mark"]').count()).toBe(6);
    const legend = await overlay.locator(".role-legend-label text").allTextContents();
    expect(legend).toEqual([join(dir, "a"), join(dir, "b")]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
