// The dashboard of a real `lifeboat serve`, looked at in a real browser
// (Debian's Chromium through playwright-core): what a person sees on the
// overview, a source's history (one plot point per drill, the objective
// line) and a drill record (its Markdown rendered); hostile text
// from the repository (an error message carrying markup) shows as text and
// runs nothing; the page loads nothing from any other origin; screenshots at
// desktop and phone widths.

import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { launchChromium, screenshot } from "./support/chromium.ts";
import { workspace } from "./support/cli.ts";
import { startServe, type Service } from "./support/services.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;
let ws: Workspace;
let serve: Service;
let browser: Browser;
const hostile = "<script>window.pwned=1</script><img src=x onerror=window.pwned=2>";

before(async () => {
  ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  uploads:
    engine: files
    path: "${dir}/uploads"
    objectives: { rto: 5m, rpo: 1h }
    drill:
      checks:
        - { command: "test -n '<b>not bold</b>'" }
  broken:
    engine: files
    path: "${dir}/${hostile}"
`,
  );
  await mkdir(join(ws.dir, "uploads"));
  await writeFile(join(ws.dir, "uploads", "a.txt"), "uploaded\n");
  assert.equal((await ws.cli(["init"])).code, 0);
  assert.notEqual((await ws.cli(["backup"])).code, 0, "broken fails, uploads succeeds");
  for (let n = 0; n < 3; n++) assert.equal((await ws.cli(["drill", "uploads"])).code, 0);
  serve = await startServe(ws.configFile, ws.env);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await serve?.stop();
  await ws?.cleanup();
});

test("overview, source history and drill record, as a person sees them", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const foreign: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(serve.url)) foreign.push(request.url());
  });
  let dialogs = 0;
  page.on("dialog", (dialog) => {
    dialogs++;
    void dialog.dismiss();
  });

  await page.goto(`${serve.url}/`);
  assert.match(await page.title(), /Lifeboat/);
  const uploads = page.locator('tr[data-source="uploads"]');
  assert.match(await uploads.innerText(), /OK/);
  assert.match(await uploads.innerText(), /passed/);
  const broken = page.locator('tr[data-source="broken"]');
  assert.match(await broken.innerText(), /FAILING/);
  assert.match(await broken.innerText(), /SOURCE_UNREACHABLE/);
  assert.match(await page.locator("h1").innerText(), /FAILING/, "the overall verdict is the worst");
  // The error message holds the hostile path: it is shown, as text.
  assert.ok((await page.locator("body").innerText()).includes("<script>window.pwned=1</script>"));
  assert.equal(await page.locator("main script, main img").count(), 0, "no markup from data became elements");
  assert.equal(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined);
  const failedRuns = page.locator('#runs tr[data-outcome="failed"]');
  assert.ok((await failedRuns.count()) >= 1);
  await screenshot(page, "overview-1280");

  await page.click('tr[data-source="uploads"] a[href="/sources/uploads"]');
  await page.waitForURL(`${serve.url}/sources/uploads`);
  const plots = page.locator("svg.trend");
  assert.equal(await plots.count(), 2, "an RTO and an RPO plot");
  assert.equal(await plots.nth(0).locator(".point").count(), 3, "one point per drill");
  assert.equal(await plots.nth(0).locator("line.objective").count(), 1, "the RTO objective line");
  assert.match(await page.locator("figcaption").first().innerText(), /RTO per drill/);
  assert.equal(await page.locator("#drills tbody tr").count(), 3);
  await screenshot(page, "source-uploads-1280");

  await page.locator("#drills tbody tr a").first().click();
  await page.waitForURL(/\/drills\//);
  // The record is seed 001's template: a heading, the result in bold, the filled form as a block.
  assert.match(await page.locator("article h1").innerText(), /DR drill record: uploads/);
  assert.match(await page.locator("article strong").first().innerText(), /Result: /);
  assert.match(await page.locator("article pre").innerText(), /RTO achieved \(minutes\)/);
  const article = await page.locator("article").innerText();
  assert.match(article, /uploads/);
  assert.ok(article.includes("<b>not bold</b>"), "a check's markup shows as text");
  assert.equal(await page.locator("article b").count(), 0);
  await screenshot(page, "drill-1280");

  const phone = await browser.newPage({ viewport: { width: 400, height: 800 } });
  await phone.goto(`${serve.url}/`);
  assert.match(await phone.locator('tr[data-source="uploads"]').innerText(), /OK/);
  await screenshot(phone, "overview-400");

  const missing = await page.goto(`${serve.url}/sources/nothing-here`);
  assert.equal(missing?.status(), 404);
  assert.match(await page.locator("main").innerText(), /no source named nothing-here/);

  assert.deepEqual(foreign, [], "nothing loads from another origin");
  assert.equal(dialogs, 0);
});
