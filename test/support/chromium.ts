// A real browser for the dashboard tests: Debian's Chromium (apt-get install
// chromium) driven by playwright-core, one browser per test file. Screenshots
// go to test/out/screenshots/ (git-ignored) for a person to look at.

import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
const screenshots = fileURLToPath(new URL("../out/screenshots/", import.meta.url));

export async function launchChromium(): Promise<Browser> {
  // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshots, { recursive: true });
  const path = `${screenshots}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}
