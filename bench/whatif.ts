// What-if page update time: the RAM control of `livemig serve` moved between 16 and 17 GiB
// in Debian's Chromium, 6 moves of warm-up then 24 timed, from the control's input event to
// every plot drawn (totalMs) and to the frame after (paintedMs), as window.whatIf reports.
// Run with `npm run bench:whatif` (under the machine-wide lock); figures go in docs/report.md.

import { cpus, loadavg } from "node:os";
import { launchChromium } from "../test/web/chromium.js";
import { settled, startServe } from "../test/web/serve.js";

type Timing = { updates: number; simulateMs: number; totalMs: number; paintedMs: number };

const { server, url } = await startServe();
const browser = await launchChromium();
try {
  const page = await browser.context.newPage();
  const whatIf = () => page.evaluate(() => (window as unknown as { whatIf: Timing }).whatIf);
  await page.goto(url);
  await settled(page, 0);
  const timings: Timing[] = [];
  for (let i = 0; i < 30; i++) {
    const n = (await whatIf()).updates;
    await page.locator("#control-memory").fill(String(16 + (i % 2)));
    await settled(page, n);
    if (i >= 6) timings.push(await whatIf());
  }
  const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.ceil(q * xs.length) - 1];
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, Node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log(`what-if update, 16 GiB guest, 2 runs, ${timings.length} moves (ms):`);
  for (const key of ["simulateMs", "totalMs", "paintedMs"] as const) {
    const xs = timings.map((t) => t[key]);
    console.log(`  ${key}: median ${quantile(xs, 0.5).toFixed(0)}, p95 ${quantile(xs, 0.95).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}`);
  }
} finally {
  await browser.close();
  server.kill();
}
