// A runbook drill of a rendered PostgreSQL restore section: the procedure as
// written (snapshots, dry run, restore into $RESTORE_TARGET) runs against a
// throwaway cluster, the restored database is verified against the
// snapshot's fingerprint and the source's SQL check, and the scratch target
// is gone afterwards.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { workspace } from "./support/cli.ts";
import { startCluster, type PgCluster } from "./support/pg-cluster.ts";

describe("runbook drill of a PostgreSQL restore procedure", () => {
  let source: PgCluster;
  let ws: Awaited<ReturnType<typeof workspace>>;

  before(async () => {
    source = await startCluster();
    await source.psql("CREATE DATABASE app");
    await source.psql(
      `CREATE TABLE bookings (id serial PRIMARY KEY, note text);
       INSERT INTO bookings (note) SELECT 'n' || g FROM generate_series(1, 500) g;`,
      "app",
    );
    ws = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
reports: { dir: "${dir}/reports" }
sources:
  app-db:
    engine: postgres
    url: "${source.url("app")}"
    objectives: { rto: 15m, rpo: 24h }
    drill:
      checks:
        - sql: "select count(*) = 500 from bookings"
`,
    );
    assert.equal((await ws.cli(["init"])).code, 0);
    const backup = await ws.cli(["backup", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    const render = await ws.cli(["runbook", "render", "--out", join(ws.dir, "RUNBOOK.md")]);
    assert.equal(render.code, 0, render.stderr);
  });
  after(async () => {
    await ws?.cleanup();
    await source?.stop();
  });

  it("restores into a throwaway cluster by the runbook's own commands and verifies the data", async () => {
    const drill = await ws.cli([
      "drill",
      "--runbook",
      join(ws.dir, "RUNBOOK.md"),
      "--section",
      "Restore app-db",
      "--reviewer",
      "Sam",
      "--json",
    ]);
    assert.equal(drill.code, 0, drill.stdout + drill.stderr);
    const report = drill.json;
    assert.equal(report.status, "passed");
    assert.equal(report.reviewer, "Sam");
    assert.equal(report.runbook.steps.length, 3);
    const byName = new Map(
      report.checks.map((check: { name: string; result: string }) => [check.name, check.result]),
    );
    assert.equal(byName.get("fingerprint"), "passed");
    assert.equal(byName.get("sql: select count(*) = 500 from bookings"), "passed");
    assert.match(report.scratch.description, /throwaway|cluster|127\.0\.0\.1/);
    assert.ok(report.rto.achieved > 0 && report.rto.met === true);
    assert.doesNotMatch(drill.stdout + drill.stderr, new RegExp(ws.password));
  });
});
