// A postgres URL without a user resolves it as libpq does: PGUSER, else the
// name of the effective uid in the passwd database, never $USER (which cron,
// systemd units and containers often leave unset).

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { userInfo } from "node:os";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parsePostgresUrl } from "../src/engines/postgres/connection.ts";
import { cliPath, workspace } from "./support/cli.ts";
import { startCluster, type PgCluster } from "./support/pg-cluster.ts";

const connectionModule = fileURLToPath(new URL("../src/engines/postgres/connection.ts", import.meta.url));

/** Lifeboat's environment as cron or a systemd unit gives it: no USER, LOGNAME or PGUSER. */
function bareEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const name of ["USER", "LOGNAME", "USERNAME", "PGUSER", "PGDATABASE"]) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

function runCli(args: readonly string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("postgres URL without a user", () => {
  let cluster: PgCluster;
  const osUser = userInfo().username;

  before(async () => {
    cluster = await startCluster();
    // The OS user's role owns the database, so a backup as that role can read it all.
    await cluster.psql(`CREATE ROLE "${osUser}" LOGIN; CREATE DATABASE app OWNER "${osUser}"`);
    await cluster.psql(
      `SET ROLE "${osUser}";
       CREATE TABLE visits (id int PRIMARY KEY); INSERT INTO visits SELECT generate_series(1, 42);`,
      "app",
    );
  });

  after(async () => {
    await cluster?.stop();
  });

  it("backs up as the OS user from the passwd database when USER is unset", async () => {
    const url = `postgres://127.0.0.1:${cluster.port}/app`;
    const ws = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  app-db: { engine: postgres, url: "${url}" }
`,
    );
    try {
      const env = bareEnvironment({ LIFEBOAT_PASSWORD: ws.password });
      assert.equal((await runCli(["-c", ws.configFile, "init"], env)).code, 0);
      const backup = await runCli(["-c", ws.configFile, "backup", "--json"], env);
      assert.equal(backup.code, 0, backup.stderr);
      assert.equal(JSON.parse(backup.stdout).snapshots[0].fingerprint.counts["rows:public.visits"], 42);
    } finally {
      await ws.cleanup();
    }
  });

  it("prefers PGUSER, and names the database after the user as libpq does", () => {
    const saved = { PGUSER: process.env.PGUSER, PGDATABASE: process.env.PGDATABASE };
    process.env.PGUSER = "reporting";
    delete process.env.PGDATABASE;
    try {
      const location = parsePostgresUrl("postgres://db.example:5433", "source");
      assert.equal(location.user, "reporting");
      assert.equal(location.database, "reporting");
      // Written into the URL tools get, so pg_dump connects as the `pg` client does.
      assert.equal(location.safeUrl, "postgres://reporting@db.example:5433/reporting");
      const socket = parsePostgresUrl("postgres:///app?host=/run/postgresql", "source");
      assert.equal(socket.user, "reporting");
      assert.match(socket.safeUrl, /[?&]user=reporting(&|$)/);
      assert.equal(parsePostgresUrl("postgres://app@db.example/x", "source").user, "app");
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it("says how to name the user when the uid has no name and PGUSER is unset", (context) => {
    if (process.getuid?.() !== 0) return context.skip("needs root to run a child under an unnamed uid");
    const script = `const m = await import(${JSON.stringify(connectionModule)});
      try { m.parsePostgresUrl("postgres://127.0.0.1:5432/app", "source"); console.log("parsed"); }
      catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }`;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      uid: 4242, // no passwd entry
      gid: 4242,
      env: bareEnvironment(),
      encoding: "utf8",
    });
    assert.equal(child.status, 0, child.stderr);
    const error = JSON.parse(child.stdout) as { code: string; message: string };
    assert.equal(error.code, "BAD_ARGUMENT");
    assert.match(error.message, /names no user, PGUSER is not set and the effective uid 4242 has no name/);
  });
});
