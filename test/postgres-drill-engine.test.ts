// The postgres engine's drill support against real servers: throwaway local
// clusters, scratch databases on a configured server, the guard against a
// scratch target on the source's own server, teardown after an interrupted
// restore, SQL checks, restore phases and the source's size.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { access, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { PostgresSourceConfig } from "../src/engines/postgres/config.ts";
import { compareFingerprints } from "../src/domain/fingerprint.ts";
import { drillId } from "../src/drill/run.ts";
import type { EngineContext, RestorePhase, ScratchTarget } from "../src/engines/engine.ts";
import { postgresEngine } from "../src/engines/postgres/index.ts";
import { findServerBinaries } from "../src/engines/postgres/server-binaries.ts";
import { sourceSize as querySourceSize } from "../src/engines/postgres/query.ts";
import { partialPrefix } from "../src/engines/postgres/target.ts";
import { isLifeboatError, LifeboatError, type ErrorCode } from "../src/errors.ts";
import type { Logger } from "../src/runtime/logger.ts";
import { processRunner, type ProcessRunner } from "../src/runtime/process.ts";
import { MemoryArtifacts } from "./support/memory-artifacts.ts";
import { freePort, startCluster, type PgCluster } from "./support/pg-cluster.ts";

const fixtureSql = `
CREATE TABLE items (sku text PRIMARY KEY, qty integer NOT NULL);
INSERT INTO items SELECT 'sku-' || i, i FROM generate_series(1, 50) AS i;
CREATE TABLE events (id bigserial PRIMARY KEY, body text);
INSERT INTO events (body) SELECT md5(i::text) FROM generate_series(1, 2000) AS i;
CREATE VIEW big_items AS SELECT * FROM items WHERE qty > 25;
`;

/** pg_dump ≥ 15.14 brackets its output with \\restrict / \\unrestrict and a random key: the only run-dependent lines. */
function normalizeDump(text: string): string {
  return text.replace(/^\\(un)?restrict \S+$/gm, "\\$1restrict <key>");
}

const provisionScratch = postgresEngine.provisionScratch!;
const queryScalar = postgresEngine.queryScalar!;
const sourceSize = (config: PostgresSourceConfig, _context: EngineContext) => querySourceSize(config);

const tempDirs: string[] = [];
const leftovers: ScratchTarget[] = [];

async function makeContext(
  extra: { runner?: ProcessRunner; signal?: AbortSignal; onPhase?: (phase: RestorePhase) => void } = {},
  logLines: string[] = [],
): Promise<EngineContext> {
  const tempDir = await mkdtemp(join(tmpdir(), "lifeboat-pg-drill-"));
  tempDirs.push(tempDir);
  const push = (level: string) => (message: string) => logLines.push(`${level}: ${message}`);
  const log: Logger = { debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") };
  return { runner: processRunner, log, tempDir, ...extra };
}

function source(cluster: PgCluster, db = "app"): PostgresSourceConfig {
  return { engine: "postgres", url: cluster.url(db), globals: false, jobs: 2 };
}

function label(name = "app"): string {
  return `${name}_${drillId(new Date())}`;
}

async function scratchFor(
  src: PostgresSourceConfig,
  request: { url?: string; allowSourceServer?: boolean; label?: string } = {},
): Promise<ScratchTarget> {
  const scratch = await provisionScratch(
    src,
    {
      ...(request.url ? { target: { url: request.url } } : {}),
      allowSourceServer: request.allowSourceServer ?? false,
      label: request.label ?? label(),
    },
    await makeContext(),
  );
  leftovers.push(scratch);
  return scratch;
}

async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
  message?: RegExp,
): Promise<LifeboatError> {
  const error = await promise.then(
    () => assert.fail(`expected ${code}`),
    (failure: unknown) => failure,
  );
  assert.ok(isLifeboatError(error, code), `expected ${code}, got ${String(error)}`);
  if (message) assert.match(error.message, message);
  return error;
}

// A throwaway cluster listens on no TCP port to probe: whether it still runs is whether its postmaster does.
async function postmasterPid(dataDir: string): Promise<number> {
  return Number((await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSyncOrEmpty(`/proc/${pid}/stat`);
  return !/^\d+ \(.*\) Z/.test(stat); // a zombie has ended
}

function readFileSyncOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Whether the process ends within a few seconds (an immediate shutdown's last steps follow pg_ctl's return). */
async function processEnds(pid: number): Promise<boolean> {
  for (let polls = 0; polls < 100; polls++) {
    if (!processRuns(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

// Stand-in for a long pg_restore: a session held open in the partial database until the drill is
// interrupted. The server keeps that backend (sleeping) after its client dies.
const slowRestore: ProcessRunner = {
  ...processRunner,
  run(command, args, options) {
    // Only runs into a database sleep; `pg_restore --list` (reading the dump) runs as it is.
    if (command !== "pg_restore" || args.includes("--list")) return processRunner.run(command, args, options);
    const dbname = args.find((arg) => arg.startsWith("--dbname="))!;
    return processRunner.run(
      "psql",
      ["-X", "-q", "--no-password", dbname, "-c", "SELECT pg_sleep(600)"],
      options,
    );
  },
};

/** SQL counting the stand-in's sessions in the partial database of scratch database `name`. */
function sleepingIn(name: string): string {
  const prefix = partialPrefix(name);
  return `SELECT count(*) FROM pg_stat_activity
    WHERE query LIKE 'SELECT pg_sleep%' AND left(datname, length('${prefix}')) = '${prefix}'`;
}

/** Poll until `condition` holds (bounded, so a broken test fails instead of hanging). */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let polls = 0; !(await condition()); polls++) {
    if (polls > 1200) assert.fail("the condition never held");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The persistence of a schema's tables: "u" when all are unlogged, "p" when all are permanent, else "mixed". */
function persistenceOf(schema: string): string {
  return `SELECT CASE WHEN count(DISTINCT relpersistence) = 1 THEN min(relpersistence::text) ELSE 'mixed' END
    FROM pg_class WHERE relkind = 'r' AND relnamespace = '${schema}'::regnamespace`;
}

describe("postgres engine drill support", () => {
  let primary: PgCluster;
  let scratchServer: PgCluster;
  let artifacts: MemoryArtifacts;
  let input: { artifacts: MemoryArtifacts; engineMeta: Record<string, unknown> };
  let captured: Awaited<ReturnType<typeof postgresEngine.capture>>;

  before(async () => {
    [primary, scratchServer] = await Promise.all([startCluster(), startCluster()]);
    await primary.psql("CREATE DATABASE app");
    await primary.psql(fixtureSql, "app");
    artifacts = new MemoryArtifacts();
    captured = await postgresEngine.capture(source(primary), artifacts, await makeContext());
    input = { artifacts, engineMeta: captured.engineMeta };
  });

  after(async () => {
    for (const scratch of leftovers) await scratch.destroy().catch(() => {});
    await Promise.all([primary?.stop(), scratchServer?.stop()]);
    await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it("starts a throwaway cluster, restores into it, and removes it on destroy", async () => {
    const scratch = await scratchFor(source(primary));
    assert.match(
      scratch.description,
      /^throwaway PostgreSQL 15 cluster on unix socket \/\S+\/sock:\d+, database lifeboat_drill_app_\d{8}t\d{6}z_[0-9a-f]{6}$/,
    );
    const port = Number(scratch.env.PGPORT);
    const socketDir = scratch.env.PGHOST!;
    assert.match(socketDir, /\/lifeboat-drill-[^/]+\/sock$/);
    assert.deepEqual(scratch.env, {
      PGHOST: socketDir,
      PGPORT: String(port),
      PGUSER: "postgres",
      PGDATABASE: scratch.env.PGDATABASE,
      DATABASE_URL: scratch.target,
      LIFEBOAT_TARGET: scratch.target,
    });
    assert.equal(
      scratch.target,
      `postgres://postgres@${encodeURIComponent(socketDir)}:${port}/${scratch.env.PGDATABASE}`,
    );

    const phases: RestorePhase[] = [];
    await postgresEngine.restore(
      input,
      scratch.target,
      {},
      await makeContext({ onPhase: (p) => phases.push(p) }),
    );
    assert.deepEqual(phases, ["restore"]);
    const restored = await postgresEngine.fingerprint(scratch.target, await makeContext());
    assert.deepEqual(compareFingerprints(captured.fingerprint, restored), []);
    assert.equal(restored.counts["rows:public.items"], 50);
    // Set up for loading (issue 15): no WAL beyond crash safety, and the tables loaded unlogged.
    assert.equal(await queryScalar(scratch.target, "SHOW wal_level", await makeContext()), "minimal");
    assert.equal(await queryScalar(scratch.target, "SHOW autovacuum", await makeContext()), "off");
    assert.equal(
      await queryScalar(scratch.target, persistenceOf("public"), await makeContext()),
      "u",
      "every table of the throwaway restore is unlogged",
    );

    // The cluster lives under the system temp dir, outside the operation's temp dir.
    const dataDir = String(await queryScalar(scratch.target, "SHOW data_directory", await makeContext()));
    const clusterDir = dirname(dataDir);
    assert.equal(dirname(clusterDir), tmpdir());
    assert.match(clusterDir, /\/lifeboat-drill-[^/]+$/);
    assert.ok(await exists(dataDir));
    // A copy of production data: no TCP, and nobody but the server user may enter its directory.
    assert.equal(await queryScalar(scratch.target, "SHOW listen_addresses", await makeContext()), "");
    assert.equal((await stat(clusterDir)).mode & 0o777, 0o700);
    const pid = await postmasterPid(dataDir);
    assert.ok(processRuns(pid));

    await scratch.destroy();
    await scratch.destroy(); // idempotent
    assert.equal(await exists(clusterDir), false);
    assert.ok(await processEnds(pid), `postmaster ${pid} still runs`);
  });

  it("a dump with partitioned tables loads logged into a throwaway cluster, and restores exactly", async () => {
    await primary.psql("CREATE DATABASE parted");
    await primary.psql(
      `CREATE TABLE accounts (id int PRIMARY KEY);
       INSERT INTO accounts SELECT generate_series(1, 20);
       CREATE TABLE events (id int, at date, account int REFERENCES accounts) PARTITION BY RANGE (at);
       CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
       INSERT INTO events SELECT g, '2026-03-01', 1 + g % 20 FROM generate_series(1, 100) g;`,
      "parted",
    );
    const partedArtifacts = new MemoryArtifacts();
    const partedCapture = await postgresEngine.capture(
      source(primary, "parted"),
      partedArtifacts,
      await makeContext(),
    );
    const scratch = await scratchFor(source(primary, "parted"), { label: label("parted") });
    await postgresEngine.restore(
      { artifacts: partedArtifacts, engineMeta: partedCapture.engineMeta },
      scratch.target,
      {},
      await makeContext(),
    );
    const print = await postgresEngine.fingerprint(scratch.target, await makeContext());
    assert.deepEqual(compareFingerprints(partedCapture.fingerprint, print), []);
    assert.equal(await queryScalar(scratch.target, persistenceOf("public"), await makeContext()), "p");
    await scratch.destroy();
  });

  it("uses a fresh database per drill on a configured scratch server and drops it on destroy", async () => {
    const longName = "a_rather_long_source_name_for_testing_truncation";
    const [first, second] = [
      await scratchFor(source(primary), { url: scratchServer.url("postgres"), label: label(longName) }),
      await scratchFor(source(primary), { url: scratchServer.url("postgres"), label: label(longName) }),
    ];
    const [firstName, secondName] = [first!.env.PGDATABASE!, second!.env.PGDATABASE!];
    assert.notEqual(firstName, secondName);
    for (const name of [firstName, secondName]) {
      assert.ok(Buffer.byteLength(name) <= 63, name);
      assert.match(name, /^lifeboat_drill_a_rather_long_/);
    }
    assert.equal(first!.description, `database ${firstName} on 127.0.0.1:${scratchServer.port}`);
    assert.equal(first!.env.PGPORT, String(scratchServer.port));
    assert.equal(first!.target, scratchServer.url(firstName));
    const listScratch = () =>
      scratchServer.psql(
        "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'lifeboat_drill_%'",
      );
    assert.equal(await listScratch(), "", "provisioning creates nothing yet");

    // Side by side: both restored, neither disturbs the other.
    await postgresEngine.restore(input, first!.target, {}, await makeContext());
    await postgresEngine.restore(input, second!.target, {}, await makeContext());
    for (const scratch of [first!, second!]) {
      const print = await postgresEngine.fingerprint(scratch.target, await makeContext());
      assert.deepEqual(compareFingerprints(captured.fingerprint, print), []);
      // Not Lifeboat's server: its tables stay as durable as the operator made them.
      assert.equal(await queryScalar(scratch.target, persistenceOf("public"), await makeContext()), "p");
    }
    // A partial database left by a killed restore into the first scratch database.
    const leftover = `${partialPrefix(firstName)}0badf00d`;
    await scratchServer.psql(`CREATE DATABASE "${leftover}"`);

    await first!.destroy();
    await first!.destroy();
    assert.equal(await listScratch(), secondName);
    await second!.destroy();
    assert.equal(await listScratch(), "");
  });

  it("refuses a scratch server that is the source's own server", async () => {
    const error = await rejectsWith(
      scratchFor(source(primary), { url: primary.url("postgres") }),
      "SCRATCH_ON_SOURCE",
    );
    assert.match(
      error.message,
      new RegExp(`scratch server 127\\.0\\.0\\.1:${primary.port} is the source's own server`),
    );
    assert.match(error.message, new RegExp(`source 127\\.0\\.0\\.1:${primary.port}/app`));

    // The source cannot be asked (its database is gone): host and port decide, leaning to refuse.
    await rejectsWith(
      scratchFor(source(primary, "no_such_db"), { url: primary.url("postgres") }),
      "SCRATCH_ON_SOURCE",
    );
    assert.equal(
      await primary.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'lifeboat_drill_%'"),
      "0",
    );
  });

  it("with allow_source_server uses another database on the source's server and never touches the source", async () => {
    const before = await primary.dumpPlain("app");
    const logLines: string[] = [];
    const scratch = await provisionScratch(
      source(primary),
      { target: { url: primary.url("app") }, allowSourceServer: true, label: label() },
      await makeContext({}, logLines),
    );
    leftovers.push(scratch);
    assert.notEqual(scratch.env.PGDATABASE, "app");
    assert.match(scratch.env.PGDATABASE!, /^lifeboat_drill_app_/);
    assert.ok(logLines.some((line) => /warn: .*source's own server/.test(line)));

    await postgresEngine.restore(input, scratch.target, {}, await makeContext());
    const print = await postgresEngine.fingerprint(scratch.target, await makeContext());
    assert.deepEqual(compareFingerprints(captured.fingerprint, print), []);
    await scratch.destroy();

    assert.ok(
      normalizeDump(await primary.dumpPlain("app")) === normalizeDump(before),
      "the source database changed",
    );
    assert.equal(await primary.psql("SELECT count(*) FROM items", "app"), "50");
    assert.equal(
      await primary.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'lifeboat_drill_%'"),
      "0",
    );
  });

  it("reports an unreachable scratch server as TARGET_UNREACHABLE", async () => {
    const port = await freePort();
    await rejectsWith(
      scratchFor(source(primary), { url: `postgres://postgres@127.0.0.1:${port}/postgres` }),
      "TARGET_UNREACHABLE",
      new RegExp(`127\\.0\\.0\\.1:${port}`),
    );
  });

  it("destroys a scratch database while an interrupted restore still holds a session in it", async () => {
    const scratch = await scratchFor(source(primary), { url: scratchServer.url("postgres") });
    const name = scratch.env.PGDATABASE!;
    const controller = new AbortController();
    const phases: RestorePhase[] = [];
    const restoring = postgresEngine.restore(
      input,
      scratch.target,
      {},
      await makeContext({ runner: slowRestore, signal: controller.signal, onPhase: (p) => phases.push(p) }),
    );
    restoring.catch(() => {}); // observed below
    await waitFor(async () => (await scratchServer.psql(sleepingIn(name))) === "1");

    controller.abort(new LifeboatError("INTERNAL", "interrupted by SIGTERM"));
    await scratch.destroy(); // at once, while the restore is still unwinding
    await rejectsWith(restoring, "INTERNAL", /interrupted by SIGTERM/);
    assert.deepEqual(phases, ["restore"]);
    await scratch.destroy();
    assert.equal(
      await scratchServer.psql(
        `SELECT count(*) FROM pg_database WHERE datname = '${name}' OR left(datname, length('${partialPrefix(name)}')) = '${partialPrefix(name)}'`,
      ),
      "0",
    );
  });

  it("tears down a throwaway cluster while an interrupted restore is still running in it", async () => {
    const scratch = await scratchFor(source(primary));
    const admin = scratch.target.replace(/[^/]+$/, "postgres");
    const dataDir = String(await queryScalar(admin, "SHOW data_directory", await makeContext()));
    const clusterDir = dirname(dataDir);
    const pid = await postmasterPid(dataDir);
    const controller = new AbortController();
    const restoring = postgresEngine.restore(
      input,
      scratch.target,
      {},
      await makeContext({ runner: slowRestore, signal: controller.signal }),
    );
    restoring.catch(() => {}); // observed below
    await waitFor(
      async () =>
        String(await queryScalar(admin, sleepingIn(scratch.env.PGDATABASE!), await makeContext())) === "1",
    );

    controller.abort(new LifeboatError("INTERNAL", "interrupted by SIGINT"));
    await scratch.destroy();
    await rejectsWith(restoring, "INTERNAL", /interrupted by SIGINT/);
    assert.equal(await exists(clusterDir), false);
    assert.ok(await processEnds(pid), `postmaster ${pid} still runs`);
  });

  it("stops a throwaway cluster when the process exits without destroying it", async () => {
    const engineUrl = new URL("../src/engines/postgres/index.ts", import.meta.url).href;
    const script = `
      import { readFile } from "node:fs/promises";
      import { join } from "node:path";
      const { postgresEngine } = await import(${JSON.stringify(engineUrl)});
      const { processRunner } = await import(${JSON.stringify(new URL("../src/runtime/process.ts", import.meta.url).href)});
      const { silentLogger } = await import(${JSON.stringify(new URL("../src/runtime/logger.ts", import.meta.url).href)});
      const context = { runner: processRunner, log: silentLogger, tempDir: process.env.TEMP_DIR };
      const source = { engine: "postgres", url: process.env.SOURCE_URL, globals: false, jobs: 1 };
      const scratch = await postgresEngine.provisionScratch(source, { allowSourceServer: false, label: "exit_hook" }, context);
      const dataDir = await postgresEngine.queryScalar(scratch.target.replace(/[^/]+$/, "postgres"), "SHOW data_directory", context);
      const pid = Number((await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\\n")[0]);
      process.stdout.write(JSON.stringify({ pid, dataDir }));
      process.exit(130); // what a second Ctrl-C does
    `;
    const child = await processRunner.run(process.execPath, ["--input-type=module", "-e", script], {
      env: { SOURCE_URL: primary.url("app"), TEMP_DIR: (await makeContext()).tempDir },
    });
    assert.equal(child.exitCode, 130, child.stderr);
    const { pid, dataDir } = JSON.parse(child.stdout) as { pid: number; dataDir: string };
    assert.ok(pid > 0);
    assert.equal(await exists(dirname(dataDir)), false);
    assert.ok(await processEnds(pid), `postmaster ${pid} still runs`);
  });

  it("does not announce the restore phase when fetching the artifacts fails", async () => {
    const damaged = new MemoryArtifacts();
    for (const ref of artifacts.artifacts) {
      if (ref.name === "dump/toc.dat") continue;
      damaged.artifacts.push(ref);
      damaged.stored.set(ref.name, artifacts.stored.get(ref.name)!);
    }
    damaged.artifacts.push(artifacts.artifacts.find((ref) => ref.name === "dump/toc.dat")!); // listed, not stored
    const phases: RestorePhase[] = [];
    await rejectsWith(
      postgresEngine.restore(
        { artifacts: damaged, engineMeta: captured.engineMeta },
        scratchServer.url("never_created"),
        {},
        await makeContext({ onPhase: (p) => phases.push(p) }),
      ),
      "OBJECT_MISSING",
    );
    assert.deepEqual(phases, []);
  });

  it("runs SQL checks read-only and returns the first column of the first row", async () => {
    const context = await makeContext();
    const target = primary.url("app");
    assert.equal(await queryScalar(target, "SELECT count(*) FROM items", context), "50");
    assert.equal(await queryScalar(target, "SELECT count(*) = 50 FROM items", context), true);
    assert.equal(
      await queryScalar(target, "SELECT sku, qty FROM items ORDER BY qty DESC", context),
      "sku-50",
    );
    assert.equal(await queryScalar(target, "SELECT 1 WHERE false", context), null);
    await rejectsWith(
      queryScalar(target, "SELECT * FROM missing_table", context),
      "VERIFICATION_FAILED",
      /relation "missing_table" does not exist/,
    );
    await rejectsWith(
      queryScalar(target, "DELETE FROM items", context),
      "VERIFICATION_FAILED",
      /read-only transaction/,
    );
    await rejectsWith(
      queryScalar(target, "COMMIT; DELETE FROM items", context),
      "VERIFICATION_FAILED",
      /multiple commands/,
    );
    assert.equal(await primary.psql("SELECT count(*) FROM items", "app"), "50");
  });

  it("measures the source's data in the snapshot's terms, and reports none when it is unreachable", async () => {
    const size = await sourceSize(source(primary), await makeContext());
    assert.ok(typeof size === "number" && size > 0, String(size));
    // Comparable with the dump (the drill divides one by the other), unlike pg_database_size with its catalogs.
    const dumpBytes = artifacts.artifacts.reduce((sum, ref) => sum + ref.size, 0);
    assert.ok(size / dumpBytes > 0.5 && size / dumpBytes < 10, `${size} bytes of data, ${dumpBytes} dumped`);
    assert.ok(size < Number(await primary.psql("SELECT pg_database_size('app')")));
    assert.equal(await sourceSize(source(primary, "no_such_db"), await makeContext()), undefined);
  });

  it("names the package to install when no suitable server binaries exist", async () => {
    const error = await rejectsWith(
      findServerBinaries(99, await makeContext()),
      "TOOL_NOT_FOUND",
      /PostgreSQL 99 or newer/,
    );
    assert.match(error.hint, /postgresql-99/);
    assert.match(error.message, /found PostgreSQL 15 in /);
    assert.equal((await findServerBinaries(undefined, await makeContext())).major >= 15, true);
  });
});
