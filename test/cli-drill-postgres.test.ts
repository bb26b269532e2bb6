// PostgreSQL drills through the CLI: a throwaway cluster by default, a
// configured scratch server, keep_on_failure naming the kept database, and a
// scratch server that is the source's own server refused.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { workspace } from "./support/cli.ts";
import { startCluster, type PgCluster } from "./support/pg-cluster.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;

describe("lifeboat drill with PostgreSQL", () => {
  let source: PgCluster;
  let scratchServer: PgCluster;
  let ws: Workspace;

  before(async () => {
    [source, scratchServer] = await Promise.all([startCluster(), startCluster()]);
    await source.psql("CREATE DATABASE app");
    await source.psql(
      `CREATE TABLE bookings (id serial PRIMARY KEY, starts_at timestamptz DEFAULT now());
       INSERT INTO bookings SELECT FROM generate_series(1, 1000);`,
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
        - sql: "select count(*) = 1000 from bookings"
        - command: 'test "$(psql -Atc "select count(*) from bookings")" = 1000'
  on-scratch-server:
    engine: postgres
    url: "${source.url("app")}"
    drill:
      target: { url: "${scratchServer.url()}" }
      keep_on_failure: true
      checks:
        - sql: "select count(*) = 5 from bookings"
  kept-throwaway:
    engine: postgres
    url: "${source.url("app")}"
    drill:
      keep_on_failure: true
      checks:
        - sql: "select count(*) = 5 from bookings"
  on-source-server:
    engine: postgres
    url: "${source.url("app")}"
    drill:
      target: { url: "${source.url()}" }
`,
    );
    assert.equal((await ws.cli(["init"])).code, 0);
    const backup = await ws.cli(["backup", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
  });
  after(async () => {
    await ws?.cleanup();
    await Promise.all([source?.stop(), scratchServer?.stop()]);
  });

  test("a drill into a throwaway cluster passes, with SQL and command checks", async () => {
    const result = await ws.cli(["drill", "app-db", "--json"]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.json.status, "passed");
    assert.match(result.json.environment, /throwaway PostgreSQL/);
    assert.deepEqual(
      result.json.checks.map((check: { kind: string; result: string }) => `${check.kind}:${check.result}`),
      ["fingerprint:passed", "not_empty:passed", "sql:passed", "command:passed"],
    );
    assert.ok(result.json.phases.start > 0, "starting the throwaway cluster is timed");
    assert.equal(result.json.scratch.kept, false);
  });

  test("keep_on_failure leaves the scratch database on the scratch server and names it", async () => {
    const result = await ws.cli(["drill", "on-scratch-server", "--json"]);
    assert.equal(result.code, 6, result.stdout + result.stderr);
    assert.equal(result.json.scratch.kept, true);
    const name = /database (lifeboat_drill_\S+)/.exec(result.json.scratch.description)?.[1];
    assert.ok(name, result.json.scratch.description);
    assert.equal(await scratchServer.psql(`SELECT count(*) FROM bookings`, name), "1000");
    assert.equal(
      await source.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'lifeboat_drill%'"),
      "0",
    );
  });

  test("keep_on_failure with the default throwaway cluster really keeps it running after Lifeboat exits", async () => {
    const result = await ws.cli(["drill", "kept-throwaway", "--json"]);
    assert.equal(result.code, 6, result.stdout + result.stderr);
    assert.equal(result.json.scratch.kept, true);
    const kept = result.json.issues.find((issue: string) => issue.startsWith("scratch target kept"));
    const connect = /psql -h (\S+) -p (\d+) -U postgres (\S+);/.exec(kept ?? "");
    const remove = /remove it with: (.*)$/.exec(kept ?? "");
    assert.ok(connect && remove, kept);
    try {
      // The CLI has exited: the cluster must still answer, with the restored data in it.
      const count = spawnSync(
        "psql",
        [
          "-h",
          connect[1]!,
          "-p",
          connect[2]!,
          "-U",
          "postgres",
          "-Atc",
          "select count(*) from bookings",
          connect[3]!,
        ],
        { encoding: "utf8" },
      );
      assert.equal(count.stdout.trim(), "1000", count.stderr);
    } finally {
      const removed = spawnSync("sh", ["-c", remove[1]!], { encoding: "utf8" });
      assert.equal(removed.status, 0, removed.stderr);
    }
  });

  test("a scratch server that is the source's own server is refused", async () => {
    const result = await ws.cli(["drill", "on-source-server", "--json"]);
    assert.equal(result.code, 8, result.stdout + result.stderr);
    assert.match(result.json.issues.join("\n"), /SCRATCH_ON_SOURCE/);
    assert.equal(
      await source.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'lifeboat_drill%'"),
      "0",
    );
  });
});
