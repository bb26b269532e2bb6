// `lifeboat exercise plan` through the real CLI: the briefing for a date is a
// golden file (UPDATE_GOLDEN=1 rewrites it), another quarter is another
// scenario, the --json shape, a bad --date, and --notify posting to a real
// local HTTP server without any webhook token reaching an output.

import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CronJob } from "kubernetes-models/batch/v1";
import { parseAllDocuments } from "yaml";
import { workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;

const golden = new URL("./fixtures/exercise/plan-2024-07-01.md", import.meta.url);
const slackToken = "T0EXERCISE/B0EXERCISE/s3cr3tW3bh00kT0k3n";

const received: { path: string; body: Record<string, unknown> }[] = [];
const receiver = createServer(async (request, response) => {
  let text = "";
  for await (const chunk of request) text += chunk;
  received.push({ path: request.url ?? "", body: JSON.parse(text) });
  response.writeHead(request.url?.startsWith("/broken") ? 500 : 200).end("ok");
});

function config(dir: string, port: number): string {
  return `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
notify:
  - webhook: "http://127.0.0.1:${port}/hooks/general"
sources:
  orders-db:
    engine: postgres
    url: postgres://app@127.0.0.1:5432/orders
    mode: physical
    objectives: { rto: 15m, rpo: 5m }
  app-sqlite:
    engine: sqlite
    path: "${dir}/app.db"
    objectives: { rto: 30m, rpo: 24h }
  uploads:
    engine: files
    path: "${dir}/uploads"
    objectives: { rto: 1h }
  cache:
    engine: redis
    url: redis://127.0.0.1:6379
  not-exercised:
    engine: files
    path: "${dir}/other"
groups:
  platform: [app-sqlite, cache]
exercises:
  sources: [orders-db, uploads]
  groups: [platform]
  roles: { facilitator: Dana, scribe: Lee, operator: Sam, reviewer: Kim }
  notify:
    - webhook: "http://127.0.0.1:${port}/hooks/exercises"
    - slack_webhook_env: TEST_SLACK_URL
`;
}

describe("lifeboat exercise plan", () => {
  let ws: Workspace;
  let base = "";
  const slackEnv = () => ({ TEST_SLACK_URL: `${base}/services/${slackToken}` });

  before(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    ws = await workspace((dir) => config(dir, (receiver.address() as AddressInfo).port));
  });
  after(async () => {
    await ws.cleanup();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  test("the briefing for 2024-07-01 is the golden file, on stdout and in --output (rewritten)", async () => {
    const result = await ws.cli(["exercise", "plan", "--date", "2024-07-01"]);
    assert.equal(result.code, 0, result.stderr);
    if (process.env.UPDATE_GOLDEN) await writeFile(golden, result.stdout);
    assert.equal(result.stdout, await readFile(golden, "utf8"));
    const output = join(ws.dir, "artifacts", "plan.md");
    for (let run = 0; run < 2; run++) {
      const written = await ws.cli(["exercise", "plan", "--date", "2024-08-15", "--output", output]);
      assert.equal(written.code, 0, written.stderr);
      assert.match(written.stdout, /DR exercise 2024-Q3: Data corruption/);
      assert.match(written.stdout, new RegExp(`briefing: ${output}`));
    }
    // Any day of the quarter plans the quarter: only the "planned for" line names the day.
    const text = await readFile(output, "utf8");
    assert.equal(text.replace("planned for 2024-08-15", "planned for 2024-07-01"), result.stdout);
  });

  test("another quarter is another scenario; --json has the plan, the briefing and no secret", async () => {
    const q3 = await ws.cli(["exercise", "plan", "--date", "2024-07-01", "--json"]);
    const q4 = await ws.cli(["exercise", "plan", "--date", "2024-10-01", "--json"]);
    assert.equal(q4.code, 0, q4.stderr);
    assert.equal(q3.json.kind, "data-corruption");
    assert.equal(q4.json.kind, "resource-exhaustion");
    assert.equal(q4.json.label, "2024-Q4");
    assert.notEqual(q3.json.briefing, q4.json.briefing);
    const plan = q3.json;
    assert.equal(plan.schema, "lifeboat.exercise-plan/v1");
    assert.deepEqual(
      [plan.date, plan.year, plan.quarter, plan.window],
      ["2024-07-01", 2024, 3, { from: "2024-07-01", to: "2024-09-30" }],
    );
    assert.deepEqual(
      plan.services.map((service: { source: string; group: string | null }) => [
        service.source,
        service.group,
      ]),
      [
        ["orders-db", null],
        ["uploads", null],
        ["app-sqlite", "platform"],
        ["cache", "platform"],
      ],
    );
    const ordersDb = plan.services[0];
    assert.deepEqual(ordersDb.objectives, { rto: "15m", rpo: "5m" });
    assert.equal(ordersDb.variants, 3, "physical postgres: whole restore, tables, recovery to a moment");
    assert.ok(Array.isArray(ordersDb.steps) && ordersDb.steps.length > 0);
    assert.ok(plan.injects.every((inject: { at: string; say: string }) => inject.at && inject.say));
    assert.ok(plan.measure.length >= 2);
    assert.deepEqual(plan.roles, { facilitator: "Dana", scribe: "Lee", operator: "Sam", reviewer: "Kim" });
    assert.equal(plan.output, null);
    assert.deepEqual(plan.notifications, []);
    assert.equal(received.length, 0, "nothing is posted without --notify");
  });

  test("a bad --date is BAD_ARGUMENT saying how to write it", async () => {
    for (const date of ["2024-13-01", "1 July 2024", "2024-02-30"]) {
      const result = await ws.cli(["exercise", "plan", "--date", date, "--json"]);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.json.error.code, "BAD_ARGUMENT");
      assert.match(result.json.error.message, new RegExp(`--date ${date}`));
      assert.match(result.json.error.hint, /YYYY-MM-DD/);
    }
  });

  test("--notify posts the title and summary to exercises.notify; no webhook token in any output", async () => {
    received.length = 0;
    const output = join(ws.dir, "notified.md");
    const result = await ws.cli(
      ["exercise", "plan", "--date", "2024-07-01", "--notify", "--output", output, "--json"],
      slackEnv(),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      received.map((entry) => entry.path),
      ["/hooks/exercises", `/services/${slackToken}`],
      "exercises.notify replaces the top-level notify: targets",
    );
    const webhook = received[0]!.body as { title: string; summary: string; plan: { kind: string } };
    assert.equal(webhook.title, "DR exercise 2024-Q3: Data corruption");
    assert.match(
      webhook.summary,
      /^2024-Q3 \(2024-07-01 to 2024-09-30\): data corruption exercise for orders-db/,
    );
    assert.equal(webhook.plan.kind, "data-corruption");
    const slack = received[1]!.body as { text: string; blocks: unknown[] };
    assert.match(slack.text, /DR exercise 2024-Q3: Data corruption/);
    assert.deepEqual(
      result.json.notifications.map((delivery: { ok: boolean }) => delivery.ok),
      [true, true],
    );
    const outputs = [
      result.stdout,
      result.stderr,
      await readFile(output, "utf8"),
      JSON.stringify(received.map((entry) => entry.body)),
    ];
    for (const text of outputs) {
      assert.ok(!text.includes("s3cr3tW3bh00kT0k3n"), `the Slack token leaked: ${text.slice(0, 300)}`);
      assert.ok(!text.includes("/services/T0EXERCISE"), "no Slack path either");
    }
  });

  test("deploy kubernetes: with exercises:, a quarterly CronJob runs `exercise plan --notify`", async () => {
    const result = await ws.cli(["deploy", "kubernetes"], slackEnv());
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stdout.includes("s3cr3tW3bh00kT0k3n"), "no webhook token in the manifests");
    const job = parseAllDocuments(result.stdout)
      .map((document) => document.toJS())
      .find((resource) => resource.metadata.name === "lifeboat-exercise-plan");
    assert.ok(job, "the CronJob is rendered");
    assert.doesNotThrow(() => new CronJob(job).validate());
    assert.equal(job.spec.schedule, "0 9 1 1,4,7,10 *");
    const container = job.spec.jobTemplate.spec.template.spec.containers[0];
    assert.deepEqual(container.args, ["-c", "/etc/lifeboat/lifeboat.yaml", "exercise", "plan", "--notify"]);
    assert.deepEqual(
      container.env.find((variable: { name: string }) => variable.name === "TEST_SLACK_URL"),
      {
        name: "TEST_SLACK_URL",
        valueFrom: { secretKeyRef: { name: "lifeboat", key: "TEST_SLACK_URL", optional: true } },
      },
    );
  });

  test("without exercises: the defaults plan every source; --notify with no target refuses, writing nothing", async () => {
    const bare = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  uploads: { engine: files, path: "${dir}/uploads" }
  app-sqlite: { engine: sqlite, path: "${dir}/app.db" }
`,
    );
    try {
      const plan = await bare.cli(["exercise", "plan", "--date", "2025-01-02", "--json"]);
      assert.equal(plan.code, 0, plan.stderr);
      assert.equal(plan.json.kind, "primary-failover");
      assert.deepEqual(
        plan.json.services.map((service: { source: string }) => service.source),
        ["uploads", "app-sqlite"],
      );
      assert.match(plan.json.briefing, /\| facilitator \| \(to assign\) \|/);
      const deploy = await bare.cli(["deploy", "kubernetes"]);
      assert.equal(deploy.code, 0, deploy.stderr);
      assert.ok(!deploy.stdout.includes("exercise"), "no exercise CronJob without exercises:");
      const output = join(bare.dir, "never.md");
      const result = await bare.cli(["exercise", "plan", "--notify", "--output", output, "--json"]);
      assert.equal(result.code, 2, result.stdout);
      assert.equal(result.json.error.code, "BAD_ARGUMENT");
      assert.match(result.json.error.message, /--notify: no notification target/);
      await assert.rejects(readFile(output, "utf8"), /ENOENT/);
    } finally {
      await bare.cleanup();
    }
  });
});
