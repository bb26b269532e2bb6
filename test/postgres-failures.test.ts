// How the postgres engine fails: pg_dump exiting non-zero (before and after it
// wrote output) records nothing, an unreachable source names the server but
// never the password, and a corrupt artifact stops a restore before the
// target exists.

import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { EngineContext } from "../src/engines/engine.ts";
import { postgresEngine } from "../src/engines/postgres/index.ts";
import { isLifeboatError } from "../src/errors.ts";
import { silentLogger } from "../src/runtime/logger.ts";
import { processRunner, type ProcessRunner, type RunOptions } from "../src/runtime/process.ts";
import { freePort, startCluster, type PgCluster } from "./support/pg-cluster.ts";
import { CorruptArtifacts, MemoryArtifacts } from "./support/memory-artifacts.ts";

const tempDirs: string[] = [];
async function makeContext(runner: ProcessRunner = processRunner): Promise<EngineContext> {
  const tempDir = await mkdtemp(join(tmpdir(), "lifeboat-pg-failure-"));
  tempDirs.push(tempDir);
  return { runner, log: silentLogger, tempDir };
}

/** The real runner, recording every command line and environment it is given. */
function recordingRunner(calls: { command: string; args: readonly string[]; options?: RunOptions }[]) {
  return {
    ...processRunner,
    run(command: string, args: readonly string[], options?: RunOptions) {
      calls.push({ command, args, options });
      return processRunner.run(command, args, options);
    },
  } satisfies ProcessRunner;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

describe("postgres engine failures", () => {
  let cluster: PgCluster;

  before(async () => {
    cluster = await startCluster();
    await cluster.psql("CREATE DATABASE app");
    await cluster.psql(
      `CREATE TABLE a_public (id int, body text);
       INSERT INTO a_public SELECT i, repeat('p', 100) FROM generate_series(1, 5000) AS i;
       CREATE TABLE z_guarded (id int, owner_name text);
       INSERT INTO z_guarded SELECT i, 'someone' FROM generate_series(1, 100) AS i;
       CREATE TABLE z_secret (id int);
       CREATE ROLE auditor LOGIN;
       CREATE ROLE outsider LOGIN;
       GRANT SELECT ON a_public, z_guarded TO auditor, outsider;
       GRANT SELECT ON z_secret TO auditor;`,
      "app",
    );
    // Row-level security: pg_dump refuses to dump a table whose rows a policy
    // would hide, but only when it reaches that table's data, after others.
    await cluster.psql(
      `ALTER TABLE z_guarded ENABLE ROW LEVEL SECURITY;
       CREATE POLICY own_rows ON z_guarded FOR SELECT USING (owner_name = current_user);`,
      "app",
    );
  });

  after(async () => {
    await cluster?.stop();
    await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it("records nothing when pg_dump fails after it has written output", async () => {
    const sink = new MemoryArtifacts();
    const context = await makeContext();
    const auditor = {
      engine: "postgres" as const,
      url: cluster.url("app", "auditor"),
      globals: false,
      jobs: 1,
    };
    await assert.rejects(
      postgresEngine.capture(auditor, sink, context),
      (error) =>
        isLifeboatError(error, "SOURCE_TOOL_FAILED") &&
        /pg_dump failed \(exit code 1\)/.test(error.message) &&
        /row-level security/.test(error.message),
    );
    // Data files pg_dump finished before it failed may have been stored already: they stay
    // unreferenced, since the caller commits a snapshot only after capture returns. The
    // dump itself never is: toc.dat is stored only after pg_dump exited 0.
    assert.ok(!sink.artifacts.some((artifact) => artifact.name === "dump/toc.dat"));
    // Nothing of the spool is left behind.
    assert.deepEqual(await filesUnder(context.tempDir), []);
  });

  it("records nothing when pg_dump cannot read a table", async () => {
    const sink = new MemoryArtifacts();
    const outsider = {
      engine: "postgres" as const,
      url: cluster.url("app", "outsider"),
      globals: false,
      jobs: 2,
    };
    await assert.rejects(
      postgresEngine.capture(outsider, sink, await makeContext()),
      (error) => isLifeboatError(error, "SOURCE_TOOL_FAILED") && /permission denied/.test(error.message),
    );
    assert.equal(sink.artifacts.length, 0);
  });

  it("explains that globals need a superuser", async () => {
    const sink = new MemoryArtifacts();
    const auditor = {
      engine: "postgres" as const,
      url: cluster.url("app", "auditor"),
      globals: true,
      jobs: 1,
    };
    await assert.rejects(
      postgresEngine.capture(auditor, sink, await makeContext()),
      (error) => isLifeboatError(error, "SOURCE_TOOL_FAILED") && /superuser/.test(error.hint),
    );
    assert.equal(sink.artifacts.length, 0);
  });

  it("reports an unreachable source by host:port/db and never shows the password", async () => {
    const password = "pa55-Wörd:secret";
    const closedPort = await freePort();
    const encoded = encodeURIComponent(password);
    const unreachable = `postgres://postgres:${encoded}@127.0.0.1:${closedPort}/app`;
    const config = { engine: "postgres" as const, url: unreachable, globals: false, jobs: 2 };
    await assert.rejects(
      postgresEngine.capture(config, new MemoryArtifacts(), await makeContext()),
      (error) => {
        assert.ok(isLifeboatError(error, "SOURCE_UNREACHABLE"));
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${closedPort}/app`));
        const shown = JSON.stringify(error.toJSON()) + String(error.stack);
        assert.ok(!shown.includes(password) && !shown.includes(encoded), shown);
        return true;
      },
    );

    const missingDb = `postgres://postgres:${encoded}@127.0.0.1:${cluster.port}/no_such_db`;
    await assert.rejects(
      postgresEngine.capture({ ...config, url: missingDb }, new MemoryArtifacts(), await makeContext()),
      (error) =>
        isLifeboatError(error, "SOURCE_UNREACHABLE") &&
        error.message.includes(`127.0.0.1:${cluster.port}/no_such_db`) &&
        !error.message.includes(password),
    );

    // A successful capture with a password in the URL: tools get it from PGPASSWORD only.
    const calls: { command: string; args: readonly string[]; options?: RunOptions }[] = [];
    const withPassword = `postgres://postgres:${encoded}@127.0.0.1:${cluster.port}/app?application_name=lb`;
    const captured = await postgresEngine.capture(
      { ...config, url: withPassword, globals: true },
      new MemoryArtifacts(),
      await makeContext(recordingRunner(calls)),
    );
    assert.ok(captured.fingerprint.counts["rows:public.a_public"] === 5000);
    const tools = calls.filter((call) => call.command !== "pg_dump" || call.args[0] !== "--version");
    assert.deepEqual(tools.map((call) => call.command).sort(), ["pg_dump", "pg_dumpall"]);
    for (const call of tools) {
      assert.ok(!call.args.join(" ").includes(password) && !call.args.join(" ").includes(encoded));
      assert.equal(call.options?.env?.PGPASSWORD, password);
    }
    assert.ok(!JSON.stringify(captured.engineMeta).includes(password));
  });

  it("stops at a corrupt artifact before the target database exists", async () => {
    const artifacts = new CorruptArtifacts();
    const context = await makeContext();
    const captured = await postgresEngine.capture(
      { engine: "postgres", url: cluster.url("app"), globals: false, jobs: 2 },
      artifacts,
      context,
    );
    const dataFiles = artifacts.artifacts.filter((artifact) => /^dump\/\d+\.dat$/.test(artifact.name));
    artifacts.corrupt = dataFiles.at(-1)!.name;
    await assert.rejects(
      postgresEngine.restore(
        { artifacts, engineMeta: captured.engineMeta },
        cluster.url("app_restored"),
        {},
        await makeContext(),
      ),
      (error) => isLifeboatError(error, "CHECKSUM_MISMATCH") && error.message.includes(artifacts.corrupt),
    );
    assert.equal(
      await cluster.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'app_restored%'"),
      "0",
    );
  });

  it("reports an unreachable target and drops the partial database when pg_restore fails", async () => {
    const artifacts = new MemoryArtifacts();
    const captured = await postgresEngine.capture(
      { engine: "postgres", url: cluster.url("app"), globals: false, jobs: 2 },
      artifacts,
      await makeContext(),
    );
    const input = { artifacts, engineMeta: captured.engineMeta };
    const closedPort = await freePort();
    await assert.rejects(
      postgresEngine.restore(
        input,
        `postgres://postgres@127.0.0.1:${closedPort}/copy`,
        {},
        await makeContext(),
      ),
      (error) =>
        isLifeboatError(error, "TARGET_UNREACHABLE") && error.message.includes(`:${closedPort}/copy`),
    );

    // A restoring role that may create databases but not the roles' objects it
    // must own fails inside pg_restore; the partial database goes away.
    await cluster.psql("CREATE ROLE restorer LOGIN CREATEDB");
    await assert.rejects(
      postgresEngine.restore(input, cluster.url("copy", "restorer"), { jobs: 1 }, await makeContext()),
      (error) => isLifeboatError(error, "SOURCE_TOOL_FAILED") && /pg_restore failed/.test(error.message),
    );
    assert.equal(await cluster.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'copy%'"), "0");
  });
});
