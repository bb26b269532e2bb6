// End to end through the real CLI against a throwaway PostgreSQL cluster:
// backup, restore into a database the restore creates, --clean, --dry-run,
// and pg_dump dying midway (its backend terminated by the server) recording
// no snapshot.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { cliPath, workspace } from "./support/cli.ts";
import { startCluster, type PgCluster } from "./support/pg-cluster.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;

describe("lifeboat CLI with PostgreSQL", () => {
  let cluster: PgCluster;
  let ws: Workspace;

  before(async () => {
    cluster = await startCluster();
    await cluster.psql("CREATE DATABASE app");
    await cluster.psql(
      `CREATE TABLE bookings (id serial PRIMARY KEY, note text);
       INSERT INTO bookings (note) SELECT 'booking ' || g FROM generate_series(1, 5000) g;
       CREATE TABLE leads (id serial PRIMARY KEY, email text);
       INSERT INTO leads (email) SELECT g || '@example.test' FROM generate_series(1, 300) g;`,
      "app",
    );
    ws = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  app-db: { engine: postgres, url: "${cluster.url("app")}" }
`,
    );
    assert.equal((await ws.cli(["init"])).code, 0);
  });
  after(async () => {
    await ws?.cleanup();
    await cluster?.stop();
  });

  test("backup, then restore into a new database that the restore creates", async () => {
    const backup = await ws.cli(["backup", "app-db", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    const snapshot = backup.json.snapshots[0];
    assert.equal(snapshot.fingerprint.counts["rows:public.bookings"], 5000);
    assert.equal(snapshot.fingerprint.counts["rows:public.leads"], 300);

    const list = await ws.cli(["snapshots", "--json"]);
    assert.equal(list.json.snapshots[0].engineMeta.database, "app");
    assert.ok(list.json.snapshots[0].engineMeta.system_identifier);

    const target = cluster.url("app_restored");
    const dry = await ws.cli(["restore", "app-db", "--to", target, "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(await cluster.psql("SELECT count(*) FROM pg_database WHERE datname = 'app_restored'"), "0");

    const restore = await ws.cli(["restore", "app-db", "--to", target, "--json"]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(restore.json.verified, true);
    assert.equal(await cluster.psql("SELECT count(*) FROM bookings", "app_restored"), "5000");

    const again = await ws.cli(["restore", "app-db", "--to", target, "--json"]);
    assert.equal(again.code, 5);
    assert.equal(again.json.error.code, "TARGET_NOT_EMPTY");
    const clean = await ws.cli(["restore", "app-db", "--to", target, "--clean", "--json"]);
    assert.equal(clean.code, 0, clean.stderr);

    const self = await ws.cli(["restore", "app-db", "--to", cluster.url("app"), "--clean", "--json"]);
    assert.equal(self.code, 5);
    assert.equal(self.json.error.code, "TARGET_IS_SOURCE");
  });

  test("pg_dump dying midway records no snapshot, and the next backup succeeds", async () => {
    // Enough data that pg_dump is still streaming when its backend is terminated.
    await cluster.psql(
      "CREATE TABLE bulk AS SELECT g AS id, md5(g::text) || repeat('x', 400) AS filler FROM generate_series(1, 400000) g",
      "app",
    );
    const before = (await ws.cli(["snapshots", "--json"])).json.snapshots.length;
    const child = spawn(process.execPath, [cliPath, "-c", ws.configFile, "backup", "app-db", "--json"], {
      env: { ...process.env, ...ws.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));

    let terminated = "0";
    for (let attempt = 0; attempt < 400 && terminated === "0"; attempt++) {
      terminated = await cluster.psql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'lifeboat-pg_dump-%' AND state = 'active' AND query ILIKE 'COPY%'",
      );
      if (terminated === "0") await sleep(25);
    }
    assert.notEqual(terminated, "0", "pg_dump's COPY was never seen; the test could not interrupt it");
    const code = await exited;
    assert.equal(code, 5, stdout);
    assert.equal(JSON.parse(stdout).failures[0].error.code, "SOURCE_TOOL_FAILED");
    assert.equal(
      (await ws.cli(["snapshots", "--json"])).json.snapshots.length,
      before,
      "no snapshot recorded",
    );

    const check = await ws.cli(["check", "--json"]);
    assert.equal(check.code, 0, check.stdout);
    const next = await ws.cli(["backup", "app-db", "--json"]);
    assert.equal(next.code, 0, next.stderr);
    assert.equal(next.json.snapshots[0].fingerprint.counts["rows:public.bulk"], 400000);
  });

  test("a password in the source URL never reaches output, manifests or reports", async () => {
    const secret = "s3cret-pw-in-url";
    const leaky = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  app-db: { engine: postgres, url: "${cluster.url("app").replace("postgres@", `postgres:${secret}@`)}" }
`,
    );
    try {
      const outputs = [
        await leaky.cli(["init"]),
        await leaky.cli(["backup", "--json", "-v"]),
        await leaky.cli(["snapshots", "--json"]),
        await leaky.cli(["restore", "app-db", "--to", cluster.url("app_secret_check"), "--json", "-v"]),
      ];
      for (const result of outputs) {
        assert.equal(result.code, 0, result.stderr);
        assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), "password printed");
      }
      // Unreachable now: the error must name the server, never the password.
      await cluster.psql("ALTER DATABASE app ALLOW_CONNECTIONS false");
      const failed = await leaky.cli(["backup", "--json"]);
      await cluster.psql("ALTER DATABASE app ALLOW_CONNECTIONS true");
      assert.notEqual(failed.code, 0);
      assert.ok(!failed.stdout.includes(secret) && !failed.stderr.includes(secret), "password in an error");
    } finally {
      await leaky.cleanup();
    }
  });
});
