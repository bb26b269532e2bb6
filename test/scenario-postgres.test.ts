// Scenario drills against a real PostgreSQL primary with a streaming replica:
// the primary is killed, the recover step promotes the replica, the probe
// waits for it to accept writes. The writer's markers give the lost writes:
// none with synchronous replication. A probe that never passes ends at its
// budget with a failed verdict; a production scenario needs a confirmation.

import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { workspace } from "./support/cli.ts";
import { startPrimaryWithReplica, type PrimaryWithReplica } from "./support/pg-replica.ts";

const yamlString = (text: string) => JSON.stringify(text);

describe("scenario drills: PostgreSQL primary failover", () => {
  let pair: PrimaryWithReplica;
  let ws: Awaited<ReturnType<typeof workspace>>;

  before(async () => {
    pair = await startPrimaryWithReplica({ synchronous: true });
    await pair.primary.psql("CREATE DATABASE app");
    ws = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
reports: { dir: "${dir}/reports" }
scenarios:
  primary-failover:
    description: The primary dies; the replica is promoted.
    expected: { rto: 2m, rpo: 0s }
    writer: { url: ${yamlString(pair.primary.url("app"))}, survivor_url: ${yamlString(pair.replica.url("app"))}, interval: 50ms }
    steps:
      - steady: { sql: "select pg_is_in_recovery()", url: ${yamlString(pair.replica.url("app"))}, timeout: 10s }
      - disrupt: { command: ${yamlString(pair.killPrimaryCommand)} }
      - recover: { command: ${yamlString(pair.promoteCommand)} }
      - probe: { sql: "select not pg_is_in_recovery()", url: ${yamlString(pair.replica.url("app"))}, interval: 200ms, timeout: 1m }
  never-recovers:
    expected: { rto: 10s }
    steps:
      - disrupt: { command: "true" }
      - probe: { tcp: "127.0.0.1:1", interval: 200ms, timeout: 2s }
      - probe: { command: "true" }
  prod-failover:
    environment: production
    steps:
      - disrupt: { command: "true" }
`,
    );
    assert.equal((await ws.cli(["init"])).code, 0);
  });
  after(async () => {
    await ws?.cleanup();
    await pair?.stop();
  });

  it("lists the scenarios", async () => {
    const list = await ws.cli(["scenario", "list", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      list.json.scenarios.map((s: { name: string; steps: string[] }) => [s.name, s.steps.join(",")]),
      [
        ["primary-failover", "steady,disrupt,recover,probe"],
        ["never-recovers", "disrupt,probe,probe"],
        ["prod-failover", "disrupt"],
      ],
    );
  });

  it("a production scenario is refused without --production --confirm NAME", async () => {
    const refused = await ws.cli(["scenario", "run", "prod-failover", "--json"]);
    assert.equal(refused.code, 2);
    assert.match(refused.json.error.message, /--production --confirm prod-failover/);
    const wrongName = await ws.cli([
      "scenario",
      "run",
      "prod-failover",
      "--production",
      "--confirm",
      "x",
      "--json",
    ]);
    assert.equal(wrongName.code, 2);
    const confirmed = await ws.cli([
      "scenario",
      "run",
      "prod-failover",
      "--production",
      "--confirm",
      "prod-failover",
      "--json",
    ]);
    assert.equal(confirmed.code, 0, confirmed.stdout + confirmed.stderr);
  });

  it("a probe that never passes ends at its budget, failed, and the steps after it do not run", async () => {
    const run = await ws.cli(["scenario", "run", "never-recovers", "--json"]);
    assert.equal(run.code, 6, run.stdout + run.stderr);
    assert.equal(run.json.status, "failed");
    const [disrupt, probe, rest] = run.json.steps;
    assert.equal(disrupt.result, "passed");
    assert.equal(probe.result, "failed");
    assert.ok(probe.attempts >= 5 && probe.seconds >= 1.8 && probe.seconds < 10, JSON.stringify(probe));
    assert.match(probe.detail, /gave up after 2s/);
    assert.equal(rest.result, "skipped");
    assert.equal(run.json.rto.achieved, null);
    assert.match(run.json.issues.join("\n"), /left as that step left it/);
  });

  it("kill the primary, promote the replica: RTO measured, no write lost under synchronous replication", async () => {
    const run = await ws.cli(["scenario", "run", "primary-failover", "--operator", "Dana", "--json"]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const report = run.json;
    assert.equal(report.status, "passed");
    assert.equal(report.operator, "Dana");
    assert.deepEqual(
      report.steps.map((step: { kind: string; result: string }) => `${step.kind}:${step.result}`),
      ["steady:passed", "disrupt:passed", "recover:passed", "probe:passed"],
    );
    assert.ok(report.rto.achieved > 0 && report.rto.achieved < 60, String(report.rto.achieved));
    assert.equal(report.rto.met, true);
    assert.equal(report.rto.expected, 120, "the contract's rto.expected, in seconds");
    assert.ok(report.lost_writes.acknowledged >= 1, JSON.stringify(report.lost_writes));
    assert.equal(report.lost_writes.count, 0, JSON.stringify(report.lost_writes));
    assert.equal(report.lost_writes.survived, report.lost_writes.acknowledged);
    assert.equal(report.rpo.achieved, 0);
    assert.equal(report.rpo.met, true);
    // The promoted replica holds the writer's markers and takes writes.
    assert.equal(await pair.replica.psql("SELECT count(*) >= 1 FROM lifeboat_scenario_writes", "app"), "t");
    const files = await readdir(join(ws.dir, "reports"));
    assert.ok(
      files.some((name) => name === `${report.id}-scenario-primary-failover.md`),
      files.join(", "),
    );
    // Kept in the repository's drill history, beside drills (`lifeboat drills`).
    const history = await ws.cli(["drills", "--json"]);
    assert.equal(history.code, 0, history.stderr);
    const kept = history.json.scenarios.find((entry: { id: string }) => entry.id === report.id);
    assert.equal(kept.scenario, "primary-failover");
    assert.equal(kept.lostWrites.count, 0);
    assert.deepEqual(history.json.drills, []);
    // And in status and the metrics: the newest run of each scenario.
    const status = await ws.cli(["status", "--json"]);
    const newest = status.json.scenarios.find(
      (entry: { scenario: string }) => entry.scenario === "primary-failover",
    );
    assert.deepEqual([newest.id, newest.status, newest.lostWrites], [report.id, "passed", 0]);
    const textfile = join(ws.dir, "lifeboat.prom");
    const check = await ws.cli(["check", "--metrics-textfile", textfile]);
    assert.equal(check.code, 0, check.stderr);
    const metrics = await readFile(textfile, "utf8");
    assert.match(metrics, /^lifeboat_scenario_lost_writes\{scenario="primary-failover"\} 0$/m);
    assert.match(metrics, /^lifeboat_scenario_last_passed\{scenario="primary-failover"\} 1$/m);
    assert.match(
      metrics,
      new RegExp(
        `^lifeboat_scenario_rto_achieved_seconds\\{scenario="primary-failover"\\} ${report.rto.achieved}$`,
        "m",
      ),
    );
  });
});

describe("scenario drills: failover under asynchronous replication", () => {
  let pair: PrimaryWithReplica;
  let ws: Awaited<ReturnType<typeof workspace>>;

  before(async () => {
    pair = await startPrimaryWithReplica({ synchronous: false });
    await pair.primary.psql("CREATE DATABASE app");
    ws = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
reports: { dir: "${dir}/reports" }
scenarios:
  async-failover:
    expected: { rto: 2m }
    writer: { url: ${yamlString(pair.primary.url("app"))}, survivor_url: ${yamlString(pair.replica.url("app"))}, interval: 10ms }
    steps:
      - disrupt: { command: ${yamlString(pair.killPrimaryCommand)} }
      - recover: { command: ${yamlString(pair.promoteCommand)} }
      - probe: { sql: "select not pg_is_in_recovery()", url: ${yamlString(pair.replica.url("app"))}, interval: 200ms, timeout: 1m }
`,
    );
  });
  after(async () => {
    await ws?.cleanup();
    await pair?.stop();
  });

  it("counts what survived: the survivors are what the replica has, the rest is reported lost", async () => {
    const run = await ws.cli(["scenario", "run", "async-failover", "--json"]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const lost = run.json.lost_writes;
    assert.ok(lost, JSON.stringify(run.json.issues));
    assert.ok(lost.acknowledged >= 1, JSON.stringify(lost));
    assert.equal(lost.survived + lost.count, lost.acknowledged);
    // The report's survivors are exactly the markers the promoted replica holds.
    assert.equal(
      Number(await pair.replica.psql("SELECT count(*) FROM lifeboat_scenario_writes", "app")),
      lost.survived,
    );
    assert.equal(lost.count === 0, lost.seconds === 0, JSON.stringify(lost));
    assert.equal(run.json.rpo.achieved, lost.seconds);
  });
});
