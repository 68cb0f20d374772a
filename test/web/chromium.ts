// Debian's Chromium, driven by playwright-core (no browser download). Fails loudly when it
// is missing: CI installs it (.ci/run), and a silent skip would hide the browser tests.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from "playwright-core";

export const chromiumPath = process.env.LIVEMIG_CHROMIUM ?? "/usr/bin/chromium";

export interface OpenBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<OpenBrowser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} not found: the browser tests need Debian's chromium (apt-get install -y chromium; .ci/run does it when root)`);
  }
  const profile = mkdtempSync(join(tmpdir(), "livemig-chromium-"));
  // A fresh profile (playwright passes it as --user-data-dir). The machine's network is
  // closed: keep Chromium from trying to reach anything.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Console errors and uncaught exceptions of a page, collected as they happen. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m: ConsoleMessage) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  return errors;
}

/** Marks drawn by vega in a plot: the paths, lines and texts inside its mark groups. */
export async function markCounts(page: Page, selector = "figure[data-plot]"): Promise<{ plot: string; marks: number }[]> {
  return page.$$eval(selector, (figs) =>
    figs.map((f) => ({
      plot: (f as HTMLElement).dataset.plot ?? "",
      marks: f.querySelectorAll("g.role-mark path, g.role-mark line, g.role-mark text").length,
    })),
  );
}

/** Screenshots go to a temporary folder; LIVEMIG_SCREENSHOTS=1 refreshes docs/screenshots/. */
export function screenshotPath(name: string): string {
  if (process.env.LIVEMIG_SCREENSHOTS === "1") return join("docs", "screenshots", name);
  return join(mkdtempSync(join(tmpdir(), "livemig-shot-")), name);
}
