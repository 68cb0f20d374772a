// `livemig serve` for the what-if page's tests and benchmark: the bundled command users run,
// on any free port, and a wait for the page to draw.
import { spawn, type ChildProcess } from "node:child_process";
import type { Page } from "playwright-core";

export interface Serving {
  server: ChildProcess;
  url: string;
}

/** Starts `livemig serve --port 0`; resolves with the address it prints. */
export function startServe(): Promise<Serving> {
  const server = spawn("node", ["dist/cli/main.js", "serve", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    server.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
      if (m) resolve({ server, url: m[0] });
    });
    server.on("exit", (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
}

/** How many times the page has drawn its plots (window.whatIf.updates). */
export const updates = (page: Page) => page.evaluate(() => (window as unknown as { whatIf: { updates: number } }).whatIf.updates);

/** Waits until the page has drawn more than `after` times. */
export async function settled(page: Page, after: number): Promise<void> {
  await page.waitForFunction((n) => (window as unknown as { whatIf: { updates: number } }).whatIf.updates > n, after, { timeout: 20_000 });
}
