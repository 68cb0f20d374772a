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

/** Screenshots go to a temporary folder; the README's are made by `npm run screenshots`. */
export function screenshotPath(name: string): string {
  return join(mkdtempSync(join(tmpdir(), "livemig-shot-")), name);
}

/** Whether the named texts of a plot overlap one another (axis labels, say), by their boxes. */
export async function overlappingTexts(page: Page, figure: string, texts: string[]): Promise<string[]> {
  return page.$$eval(
    `${figure} text`,
    (nodes, names) => {
      const boxes = nodes
        .filter((n) => names.includes(n.textContent ?? ""))
        .map((n) => ({ name: n.textContent ?? "", box: n.getBoundingClientRect() }))
        .sort((a, b) => a.box.left - b.box.left);
      const out: string[] = [];
      for (let i = 0; i + 1 < boxes.length; i++) {
        const [a, b] = [boxes[i], boxes[i + 1]];
        const sameRow = a.box.top < b.box.bottom && b.box.top < a.box.bottom;
        if (sameRow && a.box.right > b.box.left) out.push(`${a.name} / ${b.name}`);
      }
      return out;
    },
    texts,
  );
}

/** The widths that do not fit a viewport: the page's own, and each plot's right edge. */
export async function overflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const out: string[] = [];
    if (document.documentElement.scrollWidth > width) out.push(`page ${document.documentElement.scrollWidth} > ${width}`);
    for (const f of document.querySelectorAll("figure[data-plot]")) {
      const r = f.getBoundingClientRect();
      if (r.right > width + 0.5) out.push(`${(f as HTMLElement).dataset.plot} ends at ${Math.round(r.right)} > ${width}`);
    }
    return out;
  });
}
