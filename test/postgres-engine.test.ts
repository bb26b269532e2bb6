// The postgres engine against real servers: capture into memory, restore onto
// the same and onto another cluster, and prove the restored database equals
// the source (plain pg_dump output and fingerprint), that the fingerprint
// agrees with the dump under concurrent writes, and that targets are guarded.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { compareFingerprints } from "../src/domain/fingerprint.ts";
import type { EngineContext } from "../src/engines/engine.ts";
import { postgresEngine } from "../src/engines/postgres/index.ts";
import { isLifeboatError } from "../src/errors.ts";
import type { Logger } from "../src/runtime/logger.ts";
import { processRunner, type ProcessRunner } from "../src/runtime/process.ts";
import { MemoryArtifacts } from "./support/memory-artifacts.ts";
import { startCluster, type PgCluster } from "./support/pg-cluster.ts";
import { sourceGrowth, sourceSize } from "../src/engines/postgres/query.ts";
import { isSameTarget } from "./support/identity.ts";

const fixtureSql = `
CREATE ROLE app_owner LOGIN;
CREATE SCHEMA sales;
CREATE SCHEMA inventory AUTHORIZATION app_owner;
CREATE TYPE sales.status AS ENUM ('new', 'paid', 'shipped');
CREATE DOMAIN inventory.positive AS integer CHECK (VALUE > 0);
CREATE TABLE sales.orders (
  id bigserial, status sales.status NOT NULL, placed_on date NOT NULL,
  note text, payload jsonb, raw bytea, PRIMARY KEY (id, placed_on)
) PARTITION BY RANGE (placed_on);
CREATE TABLE sales.orders_2024 PARTITION OF sales.orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE sales.orders_2025 PARTITION OF sales.orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO sales.orders (status, placed_on, note, payload, raw)
SELECT (ARRAY['new', 'paid', 'shipped']::sales.status[])[1 + i % 3],
       date '2024-06-01' + (i % 400),
       'order ' || i || ' 寿司 🍣 Ünïcödé ' || repeat('x', i % 17),
       jsonb_build_object('i', i, 'tags', jsonb_build_array('a', 'ß', '😀'), 'nested', jsonb_build_object('k', null)),
       decode(md5(i::text), 'hex') || '\\x00ff'::bytea
FROM generate_series(1, 900) AS i;
CREATE INDEX orders_note ON sales.orders (note);
CREATE VIEW sales.paid AS SELECT * FROM sales.orders WHERE status = 'paid';
CREATE MATERIALIZED VIEW sales.daily AS SELECT placed_on, count(*) AS n FROM sales.orders GROUP BY placed_on;
CREATE TABLE inventory.items (sku text PRIMARY KEY, qty inventory.positive, label text);
ALTER TABLE inventory.items OWNER TO app_owner;
INSERT INTO inventory.items SELECT 'sku-' || i, i, '商品 ' || i FROM generate_series(1, 50) AS i;
CREATE SEQUENCE inventory.ticket_seq START 100;
SELECT setval('inventory.ticket_seq', 4242);
CREATE FUNCTION inventory.twice(integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
GRANT SELECT ON sales.orders TO app_owner;
CREATE TABLE public.empty_table (id int);
SELECT lo_from_bytea(424242, '\\x0102030405ff'::bytea);
`;

/** pg_dump ≥ 15.14 brackets its output with \\restrict / \\unrestrict and a random key: the only run-dependent lines. */
function normalizeDump(text: string): string {
  return text.replace(/^\\(un)?restrict \S+$/gm, "\\$1restrict <key>");
}

function collectingLogger(lines: string[]): Logger {
  const push = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
  return { debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") };
}

const tempDirs: string[] = [];
async function makeContext(
  runner: ProcessRunner = processRunner,
  logLines: string[] = [],
): Promise<EngineContext> {
  const tempDir = await mkdtemp(join(tmpdir(), "lifeboat-pg-engine-"));
  tempDirs.push(tempDir);
  return { runner, log: collectingLogger(logLines), tempDir };
}

function source(cluster: PgCluster, db: string, globals = false) {
  return { engine: "postgres" as const, url: cluster.url(db), globals, jobs: 2 };
}

describe("postgres engine", () => {
  let primary: PgCluster;
  let other: PgCluster;

  before(async () => {
    [primary, other] = await Promise.all([startCluster(), startCluster()]);
    await primary.psql("CREATE DATABASE app");
    await primary.psql(fixtureSql, "app");
  });

  after(async () => {
    await Promise.all([primary?.stop(), other?.stop()]);
    await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it("round-trips a database onto another cluster (with globals) and onto the same cluster", async () => {
    const artifacts = new MemoryArtifacts();
    const captured = await postgresEngine.capture(
      source(primary, "app", true),
      artifacts,
      await makeContext(),
    );

    const names = artifacts.artifacts.map((artifact) => artifact.name);
    assert.ok(names.includes("dump/toc.dat"));
    assert.ok(names.includes("globals.sql"));
    assert.ok(names.every((name) => name === "globals.sql" || name.startsWith("dump/")));
    assert.match(artifacts.stored.get("globals.sql")!.toString(), /CREATE ROLE app_owner/);

    assert.deepEqual(
      {
        orders2024: captured.fingerprint.counts["rows:sales.orders_2024"],
        orders2025: captured.fingerprint.counts["rows:sales.orders_2025"],
        parent: captured.fingerprint.counts["rows:sales.orders"],
        items: captured.fingerprint.counts["rows:inventory.items"],
        empty: captured.fingerprint.counts["rows:public.empty_table"],
        tables: captured.fingerprint.counts["objects:tables"],
        views: captured.fingerprint.counts["objects:views"],
        matviews: captured.fingerprint.counts["objects:matviews"],
        sequences: captured.fingerprint.counts["objects:sequences"],
        functions: captured.fingerprint.counts["objects:functions"],
        types: captured.fingerprint.counts["objects:types"],
        schemas: captured.fingerprint.counts["objects:schemas"],
        largeObjects: captured.fingerprint.counts["objects:large_objects"],
      },
      {
        orders2024: Number(await primary.psql("SELECT count(*) FROM sales.orders_2024", "app")),
        orders2025: Number(await primary.psql("SELECT count(*) FROM sales.orders_2025", "app")),
        parent: undefined, // a partitioned parent has no rows of its own: not double-counted
        items: 50,
        empty: 0,
        tables: 5, // orders, orders_2024, orders_2025, items, empty_table
        views: 1,
        matviews: 1,
        sequences: 2, // orders_id_seq, ticket_seq
        functions: 1,
        types: 2, // enum status, domain positive
        schemas: 3, // public, sales, inventory
        largeObjects: 1,
      },
    );
    assert.ok(captured.fingerprint.counts["objects:indexes"]! >= 6);
    assert.equal(captured.engineMeta.database, "app");
    assert.equal(
      captured.engineMeta.server_version_num,
      Number(await primary.psql("SHOW server_version_num")),
    );
    assert.match(String(captured.engineMeta.system_identifier), /^\d+$/);
    assert.ok(Math.abs(Date.parse(captured.consistentAt) - Date.now()) < 10 * 60 * 1000);

    const sourceDump = normalizeDump(await primary.dumpPlain("app"));
    assert.match(sourceDump, /OWNER TO app_owner/);

    // Another cluster, roles restored from globals: owners and grants come back too.
    const input = { artifacts, engineMeta: captured.engineMeta };
    await postgresEngine.restore(input, other.url("app_copy"), { globals: true }, await makeContext());
    assert.equal(normalizeDump(await other.dumpPlain("app_copy")), sourceDump);
    const otherPrint = await postgresEngine.fingerprint(other.url("app_copy"), await makeContext());
    assert.deepEqual(compareFingerprints(captured.fingerprint, otherPrint), []);

    // The same cluster under another name: the roles exist, owners are kept.
    await postgresEngine.restore(input, primary.url("app_restored"), {}, await makeContext());
    assert.equal(normalizeDump(await primary.dumpPlain("app_restored")), sourceDump);
    const samePrint = await postgresEngine.fingerprint(primary.url("app_restored"), await makeContext());
    assert.deepEqual(compareFingerprints(captured.fingerprint, samePrint), []);
    assert.equal(await primary.psql("SELECT nextval('inventory.ticket_seq')", "app_restored"), "4243");
    assert.equal(await primary.psql("SELECT encode(lo_get(424242), 'hex')", "app_restored"), "0102030405ff");

    // No partial databases are left behind by a successful restore.
    assert.equal(
      await primary.psql("SELECT count(*) FROM pg_database WHERE datname LIKE '%lifeboat_partial%'"),
      "0",
    );
  });

  it("fingerprints exactly what the dump holds while writers keep inserting", async () => {
    await primary.psql("CREATE DATABASE busy");
    await primary.psql(
      "CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), body text)",
      "busy",
    );
    await primary.psql(
      "INSERT INTO events (body) SELECT md5(i::text) FROM generate_series(1, 20000) AS i",
      "busy",
    );

    // Writers run from another connection between the snapshot export and
    // pg_dump's start (deterministically after the snapshot) and during the dump.
    let writes = 0;
    const writer: ProcessRunner = {
      ...processRunner,
      async run(command, args, options) {
        if (command !== "pg_dump" || !args.some((arg) => arg.startsWith("--snapshot="))) {
          return processRunner.run(command, args, options);
        }
        await primary.psql(
          "INSERT INTO events (body) SELECT 'after snapshot' FROM generate_series(1, 500)",
          "busy",
        );
        writes += 500;
        let dumping = true;
        const during = (async () => {
          while (dumping) {
            await primary.psql("INSERT INTO events (body) VALUES ('during dump')", "busy");
            writes += 1;
          }
        })();
        try {
          return await processRunner.run(command, args, options);
        } finally {
          dumping = false;
          await during;
        }
      },
    };

    const artifacts = new MemoryArtifacts();
    const captured = await postgresEngine.capture(
      source(primary, "busy"),
      artifacts,
      await makeContext(writer),
    );
    assert.equal(captured.fingerprint.counts["rows:public.events"], 20000);
    assert.ok(writes >= 501);
    assert.equal(Number(await primary.psql("SELECT count(*) FROM events", "busy")), 20000 + writes);

    await postgresEngine.restore(
      { artifacts, engineMeta: captured.engineMeta },
      primary.url("busy_restored"),
      {},
      await makeContext(),
    );
    const restored = await postgresEngine.fingerprint(primary.url("busy_restored"), await makeContext());
    assert.deepEqual(compareFingerprints(captured.fingerprint, restored), []);
  });

  it("refuses a non-empty target, replaces it with clean, and uses an existing empty one", async () => {
    await primary.psql("CREATE DATABASE small");
    await primary.psql("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 10)", "small");
    const artifacts = new MemoryArtifacts();
    const captured = await postgresEngine.capture(source(primary, "small"), artifacts, await makeContext());
    const input = { artifacts, engineMeta: captured.engineMeta };

    await primary.psql("CREATE DATABASE occupied");
    await primary.psql("CREATE TABLE precious (id int); INSERT INTO precious VALUES (7)", "occupied");
    const state = await postgresEngine.inspectTarget(primary.url("occupied"), await makeContext());
    assert.equal(state.exists, true);
    assert.equal(state.empty, false);
    assert.match(state.description, /occupied.*1 table/);

    await assert.rejects(
      postgresEngine.restore(input, primary.url("occupied"), {}, await makeContext()),
      (error) => isLifeboatError(error, "TARGET_NOT_EMPTY") && /occupied/.test(error.message),
    );
    assert.equal(await primary.psql("SELECT id FROM precious", "occupied"), "7");

    await postgresEngine.restore(input, primary.url("occupied"), { clean: true }, await makeContext());
    assert.equal(await primary.psql("SELECT to_regclass('public.precious') IS NULL", "occupied"), "t");
    assert.equal(await primary.psql("SELECT count(*) FROM t", "occupied"), "10");

    await primary.psql("CREATE DATABASE vacant");
    const vacant = await postgresEngine.inspectTarget(primary.url("vacant"), await makeContext());
    assert.deepEqual([vacant.exists, vacant.empty], [true, true]);
    assert.equal(vacant.description, `database vacant on 127.0.0.1:${primary.port} (empty)`);
    await postgresEngine.restore(input, primary.url("vacant"), {}, await makeContext());
    assert.equal(await primary.psql("SELECT count(*) FROM t", "vacant"), "10");

    const absent = await postgresEngine.inspectTarget(primary.url("absent"), await makeContext());
    assert.deepEqual([absent.exists, absent.empty], [false, true]);
    // A noun phrase: the plan says "create database absent on 127.0.0.1:5432", not "create ... does not exist".
    assert.equal(absent.description, `database absent on 127.0.0.1:${primary.port}`);
    assert.equal(await primary.psql("SELECT count(*) FROM pg_database WHERE datname = 'absent'"), "0");
  });

  it("drops the partial database a killed restore left behind, and never names it like the target", async () => {
    const artifacts = new MemoryArtifacts();
    const captured = await postgresEngine.capture(source(primary, "app"), artifacts, await makeContext());
    // What a kill -9 during pg_restore leaves: a database with the partial marker.
    await primary.psql("CREATE DATABASE rescued_lifeboat_partial_0badf00d");
    await postgresEngine.restore(
      { artifacts, engineMeta: captured.engineMeta },
      primary.url("rescued"),
      {},
      await makeContext(),
    );
    assert.equal(
      await primary.psql("SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'rescued%'"),
      "rescued",
    );
  });

  it("records the source's relation bytes at capture, so a drill scales like by like", async () => {
    await primary.psql("CREATE DATABASE growing");
    await primary.psql(
      "CREATE TABLE events (id int, body text); INSERT INTO events SELECT g, repeat('e', 200) FROM generate_series(1, 2000) g",
      "growing",
    );
    const growing = source(primary, "growing");
    const captured = await postgresEngine.capture(growing, new MemoryArtifacts(), await makeContext());
    const recorded = captured.engineMeta.relation_bytes;
    assert.equal(typeof recorded, "number");
    assert.equal(recorded, await sourceSize(growing));
    // Heap bytes on both sides of the ratio, not heap bytes over dump bytes.
    assert.equal(recorded, Number(await primary.psql("SELECT pg_relation_size('events')", "growing")));

    await primary.psql(
      "INSERT INTO events SELECT g, repeat('e', 200) FROM generate_series(1, 2000) g",
      "growing",
    );
    const growth = await sourceGrowth(growing, captured.engineMeta);
    assert.ok(growth, "a growth measure");
    assert.equal(growth.snapshotBytes, recorded);
    assert.ok(
      growth.currentBytes / growth.snapshotBytes > 1.8,
      `${growth.currentBytes} / ${growth.snapshotBytes}`,
    );
    assert.match(growth.measure, /pg_relation_size/);
    // A snapshot that recorded no relation bytes gives no basis: no prediction rather than a wrong one.
    assert.equal(
      await sourceGrowth(growing, { ...captured.engineMeta, relation_bytes: undefined }),
      undefined,
    );
  });

  it("tells the source apart from other targets", async () => {
    const app = source(primary, "app");
    const context = await makeContext();
    assert.equal(await isSameTarget(postgresEngine, app, primary.url("app"), context), true);
    assert.equal(
      await isSameTarget(postgresEngine, app, `postgres://postgres@localhost:${primary.port}/app`, context),
      true,
    );
    assert.equal(await isSameTarget(postgresEngine, app, primary.url("app_restored"), context), false);
    assert.equal(await isSameTarget(postgresEngine, app, other.url("app"), context), false);
  });
});
