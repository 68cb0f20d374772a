// The `simulate --html` report opened in Chromium: every plot drawn, the at-start/early
// difference visible.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatMs } from "../../src/core/format.js";
import { launchChromium, markCounts, collectErrors, screenshotPath, type OpenBrowser } from "../web/chromium.js";

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
    const r = spawnSync("node", ["dist/src/cli/main.js", "simulate", "scenarios/2025-vdpa-39g.yaml", "--html", out], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const json = spawnSync("node", ["dist/src/cli/main.js", "simulate", "scenarios/2025-vdpa-39g.yaml", "--json"], { encoding: "utf8" });
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
