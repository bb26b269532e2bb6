// scenarios: in lifeboat.yaml as the schema checks it, and scenarios on a
// schedule: `run: scenario` runs `lifeboat scenario run NAME`, never a
// production scenario (that one waits for a person's confirmation).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { workspace } from "./support/cli.ts";

const scenarios = `scenarios:
  weekly-failover:
    steps:
      - disrupt: { command: "true" }
      - probe: { tcp: "127.0.0.1:1", timeout: 1s }
  prod-failover:
    environment: production
    steps:
      - disrupt: { command: "true" }
`;

let ws: Awaited<ReturnType<typeof workspace>>;
before(async () => {
  ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
${scenarios}schedules:
  failover-drill: { cron: "0 3 * * 1", run: scenario, scenario: weekly-failover }
`,
  );
});
after(() => ws.cleanup());

test("a scheduled scenario runs `lifeboat scenario run NAME`", async () => {
  const list = await ws.cli(["schedule", "list", "--json"]);
  assert.equal(list.code, 0, list.stderr);
  const job = list.json.schedules.find((entry: { name: string }) => entry.name === "failover-drill");
  assert.equal(job.command, "lifeboat scenario run weekly-failover");
});

test("a scheduled production scenario, an unknown one, and a scenario without exactly one disrupt step are refused", async () => {
  for (const [yaml, message] of [
    [
      `${scenarios}schedules:\n  x: { cron: "0 3 * * 1", run: scenario, scenario: prod-failover }\n`,
      /prod-failover is a production one: it runs only when a person confirms it/,
    ],
    [
      `${scenarios}schedules:\n  x: { cron: "0 3 * * 1", run: scenario, scenario: nope }\n`,
      /no scenario named nope/,
    ],
    [
      `${scenarios}schedules:\n  x: { cron: "0 3 * * 1", run: scenario }\n`,
      /run: scenario needs scenario: NAME/,
    ],
    [
      "scenarios:\n  two:\n    steps:\n      - disrupt: { command: a }\n      - disrupt: { command: b }\n",
      /exactly one disrupt step/,
    ],
  ] as const) {
    const bad = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }\n${yaml}`,
    );
    try {
      const result = await bad.cli(["scenario", "list", "--json"]);
      assert.equal(result.code, 2, result.stdout);
      assert.match(JSON.stringify(result.json.error), message);
    } finally {
      await bad.cleanup();
    }
  }
});
