// Nothing hangs for ever (fault case 17): a backup blocked by another
// session's ACCESS EXCLUSIVE lock fails after lock_timeout with SOURCE_LOCKED
// naming the blocking session, and an abort (SIGTERM) ends it within seconds,
// leaving no query of Lifeboat's running on the server.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import type { EngineContext } from "../src/engines/engine.ts";
import { capture } from "../src/engines/postgres/capture.ts";
import { isLifeboatError, LifeboatError } from "../src/errors.ts";
import { silentLogger } from "../src/runtime/logger.ts";
import { processRunner, type ProcessRunner } from "../src/runtime/process.ts";
import { cliPath, workspace } from "./support/cli.ts";
import { MemoryArtifacts } from "./support/memory-artifacts.ts";
import { startCluster, type PgCluster } from "./support/pg-cluster.ts";

const secretInQuery = "hunter2-in-a-query";

describe("postgres lock waits and interruptions", () => {
  let cluster: PgCluster;
  const tempDirs: string[] = [];
  const blockers: pg.Client[] = [];

  async function makeContext(signal?: AbortSignal): Promise<EngineContext> {
    const tempDir = await mkdtemp(join(tmpdir(), "lifeboat-pg-locks-"));
    tempDirs.push(tempDir);
    return { runner: processRunner, log: silentLogger, tempDir, ...(signal ? { signal } : {}) };
  }

  const source = (extra: Record<string, string> = {}) => ({
    engine: "postgres" as const,
    url: cluster.url("app"),
    globals: false,
    jobs: 2,
    ...extra,
  });

  /** Another session holding ACCESS EXCLUSIVE on public.accounts, its last query setting a password. */
  async function holdLock(): Promise<{ client: pg.Client; pid: number }> {
    const client = new pg.Client({ connectionString: cluster.url("app"), application_name: "blocker-app" });
    client.on("error", () => {});
    await client.connect();
    blockers.push(client);
    const result = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    await client.query("BEGIN");
    await client.query("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE");
    await client.query(`ALTER ROLE reporter PASSWORD '${secretInQuery}'`);
    return { client, pid: result.rows[0]!.pid };
  }

  /** Sessions of Lifeboat (its own and its pg_dump's) still on the server, after giving them a moment to go. */
  async function lingeringSessions(): Promise<string> {
    const sql = `SELECT coalesce(string_agg(application_name || ': ' || coalesce(query, ''), '; '), '')
                 FROM pg_stat_activity
                 WHERE (application_name LIKE 'lifeboat%' OR application_name LIKE '%pg_dump%')
                   AND pid <> pg_backend_pid()`;
    let found = await cluster.psql(sql);
    for (let attempt = 0; attempt < 40 && found !== ""; attempt++) {
      await sleep(50);
      found = await cluster.psql(sql);
    }
    return found;
  }

  /** Wait until a session of Lifeboat's is waiting for a lock, so an abort hits the wait itself. */
  async function lifeboatWaitingForLock(): Promise<void> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const waiting = await cluster.psql(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'lifeboat%' AND wait_event_type = 'Lock'",
      );
      if (Number(waiting) > 0) return;
      await sleep(50);
    }
    assert.fail("no session of Lifeboat's ever waited for the lock");
  }

  before(async () => {
    cluster = await startCluster();
    await cluster.psql("CREATE DATABASE app");
    await cluster.psql(
      `CREATE ROLE reporter LOGIN;
       CREATE TABLE accounts (id int PRIMARY KEY, owner text);
       INSERT INTO accounts SELECT g, 'owner ' || g FROM generate_series(1, 500) g;
       CREATE TABLE ledger (id int, amount int);
       INSERT INTO ledger SELECT g, g FROM generate_series(1, 500) g;`,
      "app",
    );
  });

  after(async () => {
    await Promise.all(blockers.map((client) => client.end().catch(() => {})));
    await cluster?.stop();
    await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it("fails after lock_timeout with SOURCE_LOCKED naming the blocking session, never its secrets", async () => {
    const blocker = await holdLock();
    const sink = new MemoryArtifacts();
    const started = Date.now();
    try {
      await assert.rejects(capture(source({ lock_timeout: "2s" }), sink, await makeContext()), (error) => {
        assert.ok(isLifeboatError(error, "SOURCE_LOCKED"), String(error));
        assert.match(
          error.message,
          new RegExp(`pid ${blocker.pid} \\(user postgres, application blocker-app`),
        );
        assert.match(error.message, /idle in transaction/);
        assert.match(error.message, /holds ACCESS EXCLUSIVE on accounts/);
        assert.match(error.message, /waited 2s for a table lock/);
        assert.match(error.message, /query "ALTER ROLE reporter PASSWORD \*\*\*"/);
        assert.ok(
          !JSON.stringify(error.toJSON()).includes(secretInQuery),
          "a password from pg_stat_activity",
        );
        return true;
      });
    } finally {
      await blocker.client.end();
    }
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds >= 1.9 && seconds < 15, `${seconds}s`);
    assert.ok(!sink.artifacts.some((artifact) => artifact.name === "dump/toc.dat"), "no complete dump");
    assert.equal(await lingeringSessions(), "");
  });

  it("bounds the fingerprint's own lock wait too, not only pg_dump's", async () => {
    // pg_dump starts only once the lock is gone, so the fingerprint's count is the only waiter.
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const gatedRunner: ProcessRunner = {
      ...processRunner,
      async run(command, args, options) {
        if (command === "pg_dump" && args[0] !== "--version") await gate;
        return processRunner.run(command, args, options);
      },
    };
    const blocker = await holdLock();
    const context = { ...(await makeContext()), runner: gatedRunner };
    const capturing = capture(source({ lock_timeout: "1s" }), new MemoryArtifacts(), context);
    const outcome = assert.rejects(capturing, (error) => {
      assert.ok(isLifeboatError(error, "SOURCE_LOCKED"), String(error));
      assert.match(error.message, /the fingerprint waited 1s for a table lock/);
      return true;
    });
    await lifeboatWaitingForLock();
    await sleep(1500); // past the fingerprint's lock_timeout
    await blocker.client.end();
    openGate();
    await outcome;
    assert.equal(await lingeringSessions(), "");
  });

  it("an abort ends pg_dump and every server session of the capture within seconds", async () => {
    const blocker = await holdLock();
    const abort = new AbortController();
    const context = await makeContext(abort.signal);
    try {
      const capturing = capture(source(), new MemoryArtifacts(), context); // default lock_timeout: 60s
      const outcome = assert.rejects(capturing, (error) => isLifeboatError(error, "INTERRUPTED"));
      await lifeboatWaitingForLock();
      const aborted = Date.now();
      abort.abort(new LifeboatError("INTERRUPTED", "interrupted by the test"));
      await outcome;
      const seconds = (Date.now() - aborted) / 1000;
      assert.ok(seconds < 5, `${seconds}s to stop`);
      assert.equal(await lingeringSessions(), "");
    } finally {
      await blocker.client.end();
    }
  });

  it("SIGTERM stops a backup waiting for a lock: exit 130, no snapshot, nothing left on the server", async () => {
    const ws = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  app-db: { engine: postgres, url: "${cluster.url("app")}" }
`,
    );
    const blocker = await holdLock();
    try {
      assert.equal((await ws.cli(["init"])).code, 0);
      const child = spawn(process.execPath, [cliPath, "-c", ws.configFile, "backup", "app-db", "--json"], {
        env: { ...process.env, ...ws.env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));

      await lifeboatWaitingForLock();
      const signalled = Date.now();
      child.kill("SIGTERM");
      const code = await Promise.race([exited, sleep(10_000).then(() => "still running")]);
      if (code === "still running") child.kill("SIGKILL");
      assert.equal(code, 130, `${stdout}\n${stderr}`);
      assert.ok(Date.now() - signalled < 10_000);
      assert.match(stdout + stderr, /INTERRUPTED/);
      assert.equal((await ws.cli(["snapshots", "--json"])).json.snapshots.length, 0, "no snapshot recorded");
      assert.equal(await lingeringSessions(), "");
    } finally {
      await blocker.client.end();
      await ws.cleanup();
    }
  });
});
