// Real HTTP: a receiver on localhost gets the generic JSON and the Slack shape.

import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { sampleReport } from "../../test/support/sample-report.ts";
import { notify } from "./send.ts";

const received: { path: string; body: unknown }[] = [];
const server = createServer(async (request: IncomingMessage, response) => {
  let text = "";
  for await (const chunk of request) text += chunk;
  received.push({ path: request.url ?? "", body: JSON.parse(text) });
  response.writeHead(request.url === "/broken" ? 500 : 200).end("ok");
});
let base = "";

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test("webhook gets the report, Slack gets text and blocks, failures only when asked", async () => {
  received.length = 0;
  const deliveries = await notify(sampleReport, [
    { kind: "webhook", url: `${base}/hooks/lifeboat`, on: "always" },
    { kind: "slack", url: `${base}/services/T000/B000/secret`, on: "failure" },
  ]);
  assert.deepEqual(
    deliveries.map((delivery) => delivery.ok),
    [true, true],
  );
  assert.equal(received[0]?.path, "/hooks/lifeboat");
  assert.deepEqual(received[0]?.body, JSON.parse(JSON.stringify(sampleReport)));
  const slack = received[1]?.body as { text: string; blocks: { type: string }[] };
  assert.match(slack.text, /drill of app-db: objective missed/);
  assert.deepEqual(
    slack.blocks.map((block) => block.type),
    ["section", "section", "context"],
  );
  assert.ok(!deliveries[1]!.target.includes("secret"), "a Slack URL is a credential and is not echoed");
  assert.ok(!deliveries[0]!.target.includes("/hooks/lifeboat"), "nor is a webhook's path");
});

test("on: failure stays quiet for a passed drill; a failing receiver is reported, not thrown", async () => {
  received.length = 0;
  const passed = { ...sampleReport, status: "passed" as const };
  const deliveries = await notify(passed, [
    { kind: "slack", url: `${base}/quiet`, on: "failure" },
    { kind: "webhook", url: `${base}/broken`, on: "always" },
    { kind: "webhook", url: "http://127.0.0.1:1/unreachable", on: "always" },
  ]);
  assert.deepEqual(
    received.map((entry) => entry.path),
    ["/broken"],
  );
  assert.deepEqual(
    deliveries.map((delivery) => delivery.ok),
    [false, false],
  );
  assert.match(deliveries[0]!.detail, /HTTP 500/);
});
