// `npm run screenshots`: the README's two screenshots, made from the built command, never by
// hand. docs/screenshots/report.png is the `simulate --html` report of the 2025 vDPA scenario;
// docs/screenshots/whatif.png is the what-if page (`livemig serve`) on its default scenario.
// Debian's chromium (LIVEMIG_CHROMIUM to use another) through playwright-core.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "dist", "cli", "main.js");
const shots = join(root, "docs", "screenshots");
const viewport = { width: 1400, height: 1000 };

const report = join(mkdtempSync(join(tmpdir(), "livemig-shots-")), "report.html");
const made = spawnSync(process.execPath, [cli, "simulate", join(root, "scenarios", "2025-vdpa-39g.yaml"), "--html", report], { encoding: "utf8" });
if (made.status !== 0) throw new Error(`simulate --html exited ${made.status}: ${made.stderr}`);

const server = spawn(process.execPath, [cli, "serve", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
const url = await new Promise((resolve, reject) => {
  let out = "";
  server.stdout.on("data", (d) => {
    out += d;
    const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
    if (m) resolve(m[0]);
  });
  server.on("exit", (code) => reject(new Error(`serve exited ${code}: ${out}`)));
});

const browser = await chromium.launch({
  executablePath: process.env.LIVEMIG_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const page = await browser.newPage({ viewport });
  await page.goto(pathToFileURL(report).href);
  await page.screenshot({ path: join(shots, "report.png") });

  const whatIf = await browser.newPage({ viewport });
  await whatIf.goto(url);
  await whatIf.waitForFunction(() => window.whatIf.updates > 0, undefined, { timeout: 60_000 });
  await whatIf.screenshot({ path: join(shots, "whatif.png") });
} finally {
  await browser.close();
  server.kill();
}
console.log(`wrote ${join("docs", "screenshots", "report.png")} and ${join("docs", "screenshots", "whatif.png")}`);
