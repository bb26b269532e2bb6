// A real browser for the dashboard tests: Debian's Chromium (apt-get install
// chromium) driven by playwright-core, which downloads no browser of its own.
// One browser per test file (`useBrowser()`), one fresh context per page so
// viewports and listeners do not leak between tests. Every opened page
// records what a person would not see: requests to any other origin, dialogs
// (an injected alert()), uncaught errors and console errors (a CSP refusal).
// Screenshots go to test/out/screenshots/ for a person to look at.

import { access, mkdir } from "node:fs/promises";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";
export const SCREENSHOTS = fileURLToPath(new URL("../out/screenshots/", import.meta.url));

export async function launchBrowser(): Promise<Browser> {
  await access(CHROMIUM_PATH).catch(() => {
    throw new Error(`${CHROMIUM_PATH} is missing: the dashboard tests need Debian's chromium package`);
  });
  // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ["--no-sandbox"] });
}

/** Launches one browser before this file's tests and closes it after them. */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error("useBrowser(): the browser is used before the file's before() hook ran");
    return browser;
  };
}

export interface OpenedPage {
  readonly page: Page;
  /** Every request the page made to an origin other than the one it was opened at. */
  readonly foreignRequests: string[];
  /** Messages of alert/confirm/prompt dialogs the page opened (each is dismissed). */
  readonly dialogs: string[];
  /** Uncaught page errors and console errors. */
  readonly errors: string[];
  /** The HTTP status of the first document. */
  readonly status: number | null;
  close(): Promise<void>;
}

export interface Viewport {
  readonly width: number;
  readonly height?: number;
}

/** Opens `url` in a fresh context of the given width, with the recorders attached before anything loads. */
export async function openPage(
  browser: Browser,
  url: string,
  viewport: Viewport = { width: 1280 },
): Promise<OpenedPage> {
  const context = await browser.newContext({
    viewport: { width: viewport.width, height: viewport.height ?? 900 },
  });
  const page = await context.newPage();
  const origin = new URL(url).origin;
  const foreignRequests: string[] = [];
  const dialogs: string[] = [];
  const errors: string[] = [];
  // The dashboard must not need the network: a request for another origin is recorded and never leaves.
  await context.route(
    (target) => target.origin !== origin,
    (route) => {
      foreignRequests.push(route.request().url());
      return route.abort("blockedbyclient");
    },
  );
  page.on("request", (request) => {
    const target = request.url();
    if (
      !target.startsWith("data:") &&
      new URL(target).origin !== origin &&
      !foreignRequests.includes(target)
    ) {
      foreignRequests.push(target);
    }
  });
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  const response = await page.goto(url, { waitUntil: "load" });
  return {
    page,
    foreignRequests,
    dialogs,
    errors,
    status: response?.status() ?? null,
    close: () => context.close(),
  };
}

/** Saves a full-page screenshot as test/out/screenshots/<name>.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = `${SCREENSHOTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}
