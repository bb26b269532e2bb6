// The optional deep check (`content_hashes: true`): a hash per table of its
// contents, taken with the row counts at backup and recomputed on the target.
// Against a real PostgreSQL server and real SQLite files: a restore matches;
// one changed value with the row count unchanged is found and named; the same
// rows in another physical order (or columns in another order) hash the same;
// without the option nothing changes. Then end to end through the CLI.

import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, test } from "node:test";
import { fingerprintChecks } from "../src/drill/checks.ts";
import { compareFingerprints, type Fingerprint } from "../src/domain/fingerprint.ts";
import type { EngineContext } from "../src/engines/engine.ts";
import { postgresEngine } from "../src/engines/postgres/index.ts";
import { sqliteEngine } from "../src/engines/sqlite/index.ts";
import { silentLogger } from "../src/runtime/logger.ts";
import { processRunner } from "../src/runtime/process.ts";
import { workspace } from "./support/cli.ts";
import { MemoryArtifacts } from "./support/memory-artifacts.ts";
import { startCluster, type PgCluster } from "./support/pg-cluster.ts";

let base: string;
let spool = 0;
before(async () => {
  base = await mkdtemp(join(tmpdir(), "lifeboat-content-"));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

async function makeContext(): Promise<EngineContext> {
  const tempDir = join(base, `spool-${spool++}`);
  await mkdir(tempDir);
  return { runner: processRunner, log: silentLogger, tempDir };
}

function keysWith(prefix: string, record: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(record)
    .filter((key) => key.startsWith(prefix))
    .map((key) => key.slice(prefix.length))
    .sort();
}

/** Every table whose rows are counted has a content hash, and no other. */
function assertHashedEveryCountedTable(fingerprint: Fingerprint): void {
  assert.deepEqual(keysWith("content:", fingerprint.hashes), keysWith("rows:", fingerprint.counts));
  for (const key of keysWith("content:", fingerprint.hashes)) {
    assert.match(fingerprint.hashes[`content:${key}`] ?? "", /^[0-9a-f]{32}$/);
  }
}

const postgresFixture = `
CREATE TABLE public.bookings (
  id int PRIMARY KEY, obsolete text, guest text, starts timestamptz, nights interval, day date,
  price numeric(10, 2), rate float8, paid bool, tags text[], doc jsonb, raw bytea, cost money
);
INSERT INTO public.bookings
SELECT i, 'gone', 'guest ' || i || ' 寿司 Ünïcödé', timestamptz '2025-01-01 12:00+02' + i * interval '7 hours',
       (i % 9) * interval '1 day 3 hours', date '2025-03-01' + i, i * 1.25, i / 3.0, i % 2 = 0,
       ARRAY['a', 'b,c', NULL], jsonb_build_object('i', i, 'q', 'x"y'), decode(md5(i::text), 'hex'), i * 0.5
FROM generate_series(1, 2000) AS i;
ALTER TABLE public.bookings DROP COLUMN obsolete;
CREATE TABLE public.rows_forward (a int, b text);
INSERT INTO public.rows_forward SELECT i, 'row ' || i FROM generate_series(1, 500) AS i ORDER BY i;
CREATE TABLE public.rows_backward (a int, b text);
INSERT INTO public.rows_backward SELECT i, 'row ' || i FROM generate_series(1, 500) AS i ORDER BY i DESC;
CREATE TABLE public.columns_swapped (b text, a int);
INSERT INTO public.columns_swapped SELECT 'row ' || i, i FROM generate_series(1, 500) AS i;
CREATE TABLE public.parent (id int, note text);
CREATE TABLE public.child (extra text) INHERITS (public.parent);
ALTER TABLE public.parent ADD COLUMN added int;
INSERT INTO public.parent VALUES (1, 'in the parent', 10);
INSERT INTO public.child (id, note, extra, added) SELECT i, 'child ' || i, 'x' || i, i FROM generate_series(1, 50) AS i;
CREATE TABLE public.events (id int, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE public.events_2025 PARTITION OF public.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO public.events SELECT i, date '2025-01-01' + (i % 300) FROM generate_series(1, 300) AS i;
CREATE TABLE public.no_columns ();
INSERT INTO public.no_columns DEFAULT VALUES;
INSERT INTO public.no_columns DEFAULT VALUES;
CREATE TABLE public.empty_table (id int);
`;

describe("deep check: postgres", () => {
  let cluster: PgCluster;
  const source = (contentHashes?: boolean) => ({
    engine: "postgres" as const,
    url: cluster.url("app"),
    globals: false,
    jobs: 2,
    ...(contentHashes === undefined ? {} : { content_hashes: contentHashes }),
  });
  let captured: Fingerprint;

  before(async () => {
    cluster = await startCluster();
    await cluster.psql("CREATE DATABASE app");
    await cluster.psql(postgresFixture, "app");
  });
  after(async () => {
    await cluster?.stop();
  });

  test("capture hashes every counted table; row and column order do not matter", async () => {
    const artifacts = new MemoryArtifacts();
    const result = await postgresEngine.capture(source(true), artifacts, await makeContext());
    captured = result.fingerprint;
    assertHashedEveryCountedTable(captured);
    assert.equal(captured.counts["rows:public.bookings"], 2000);
    assert.equal(captured.counts["rows:public.no_columns"], 2);
    const forward = captured.hashes["content:public.rows_forward"];
    assert.equal(captured.hashes["content:public.rows_backward"], forward);
    assert.equal(captured.hashes["content:public.columns_swapped"], forward);
    assert.notEqual(
      captured.hashes["content:public.no_columns"],
      captured.hashes["content:public.empty_table"],
    );

    // The counts are the same facts the count-only fingerprint reads.
    const plain = await postgresEngine.capture(source(), new MemoryArtifacts(), await makeContext());
    assert.deepEqual(plain.fingerprint.counts, captured.counts);
    assert.deepEqual(keysWith("content:", plain.fingerprint.hashes), []);

    // Restore into another database on the same server, whose sessions print values differently.
    await postgresEngine.restore(
      { artifacts, engineMeta: result.engineMeta },
      cluster.url("restored"),
      {},
      await makeContext(),
    );
    await cluster.psql(`
      ALTER DATABASE restored SET timezone = 'Asia/Tokyo';
      ALTER DATABASE restored SET datestyle = 'SQL, DMY';
      ALTER DATABASE restored SET intervalstyle = 'sql_standard';
      ALTER DATABASE restored SET bytea_output = 'escape';
      ALTER DATABASE restored SET extra_float_digits = 0;`);
    const restored = await postgresEngine.fingerprint(cluster.url("restored"), await makeContext(), {
      contentHashes: true,
    });
    assert.deepEqual(compareFingerprints(captured, restored), []);

    // Why columns are hashed by name: pg_dump puts a child's inherited columns first.
    const columnOrder =
      "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute " +
      "WHERE attrelid = 'public.child'::regclass AND attnum > 0";
    assert.equal(await cluster.psql(columnOrder, "app"), "id,note,extra,added");
    assert.equal(await cluster.psql(columnOrder, "restored"), "id,note,added,extra");
  });

  test("the target is hashed only when asked (an old snapshot compares as before)", async () => {
    const restored = await postgresEngine.fingerprint(cluster.url("restored"), await makeContext());
    assert.deepEqual(restored.hashes, {});
    assert.deepEqual(restored.counts, captured.counts);
  });

  test("rows moved on disk hash the same; one changed value is found and named", async () => {
    // Delete and re-insert a row (it moves to the end of the heap), rewrite tables, new row versions.
    await cluster.psql(
      `CREATE TEMP TABLE keep AS SELECT * FROM public.bookings WHERE id = 7;
       DELETE FROM public.bookings WHERE id = 7;
       INSERT INTO public.bookings SELECT * FROM keep;
       VACUUM FULL public.bookings;
       UPDATE public.rows_forward SET a = a WHERE a % 2 = 0;`,
      "restored",
    );
    const moved = await postgresEngine.fingerprint(cluster.url("restored"), await makeContext(), {
      contentHashes: true,
    });
    assert.deepEqual(compareFingerprints(captured, moved), []);

    await cluster.psql("UPDATE public.bookings SET guest = 'someone else' WHERE id = 1234", "restored");
    const changed = await postgresEngine.fingerprint(cluster.url("restored"), await makeContext(), {
      contentHashes: true,
    });
    assert.equal(changed.counts["rows:public.bookings"], 2000);
    const differences = compareFingerprints(captured, changed);
    assert.deepEqual(
      differences.map((difference) => difference.key),
      ["content:public.bookings"],
    );
    assert.equal(differences[0]?.expected, captured.hashes["content:public.bookings"]);

    // A row of a child table changed: the child is named, not its parent.
    await cluster.psql("UPDATE public.child SET extra = 'y' WHERE id = 3", "restored");
    const child = await postgresEngine.fingerprint(cluster.url("restored"), await makeContext(), {
      contentHashes: true,
    });
    assert.deepEqual(
      compareFingerprints(captured, child).map((difference) => difference.key),
      ["content:public.bookings", "content:public.child"],
    );
  });
});

function makeSqliteSource(path: string): void {
  const db = new DatabaseSync(path);
  db.exec(`
    CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, photo BLOB, score REAL, big INTEGER,
                         label TEXT GENERATED ALWAYS AS (name || '!') VIRTUAL);
    CREATE TABLE rows_forward (a INTEGER, b TEXT);
    CREATE TABLE rows_backward (a INTEGER, b TEXT);
    CREATE TABLE columns_swapped (b TEXT, a INTEGER);
    CREATE TABLE pairs (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
    CREATE TABLE empty_table (x);
  `);
  const person = db.prepare("INSERT INTO people (name, photo, score, big) VALUES (?, ?, ?, ?)");
  db.exec("BEGIN");
  for (let i = 0; i < 300; i++) {
    person.run(`person ${i} Zoë 日本`, Buffer.from([i % 256, 0, 255]), i / 7, 2n ** 62n + BigInt(i));
  }
  for (let i = 1; i <= 200; i++) db.prepare("INSERT INTO rows_forward VALUES (?, ?)").run(i, `row ${i}`);
  for (let i = 200; i >= 1; i--) db.prepare("INSERT INTO rows_backward VALUES (?, ?)").run(i, `row ${i}`);
  for (let i = 1; i <= 200; i++) db.prepare("INSERT INTO columns_swapped VALUES (?, ?)").run(`row ${i}`, i);
  db.exec(
    "INSERT INTO pairs VALUES ('one', 1), ('real', 1.0), ('text', '1'), ('blob', x'01'), ('null', NULL)",
  );
  db.exec("COMMIT");
  db.close();
}

describe("deep check: sqlite", () => {
  let sourcePath: string;
  let captured: Fingerprint;

  before(async () => {
    sourcePath = join(base, "source.db");
    makeSqliteSource(sourcePath);
  });

  test("capture hashes every table; restore matches; rowids and row order do not matter", async () => {
    const artifacts = new MemoryArtifacts();
    const source = { engine: "sqlite" as const, path: sourcePath, content_hashes: true };
    const result = await sqliteEngine.capture(source, artifacts, await makeContext());
    captured = result.fingerprint;
    assertHashedEveryCountedTable(captured);
    assert.ok(captured.hashes.schema, "the schema hash is still there");
    const forward = captured.hashes["content:rows_forward"];
    assert.equal(captured.hashes["content:rows_backward"], forward);
    assert.equal(captured.hashes["content:columns_swapped"], forward);

    const plain = await sqliteEngine.capture(
      { engine: "sqlite", path: sourcePath },
      new MemoryArtifacts(),
      await makeContext(),
    );
    assert.deepEqual(plain.fingerprint.counts, captured.counts);
    assert.deepEqual(Object.keys(plain.fingerprint.hashes), ["schema"]);

    const target = join(base, "restored.db");
    await sqliteEngine.restore({ artifacts, engineMeta: result.engineMeta }, target, {}, await makeContext());
    const restored = await sqliteEngine.fingerprint(target, await makeContext(), { contentHashes: true });
    assert.deepEqual(compareFingerprints(captured, restored), []);
    const unasked = await sqliteEngine.fingerprint(target, await makeContext());
    assert.deepEqual(Object.keys(unasked.hashes), ["schema"]);

    // Delete and re-insert a row (new rowid), then VACUUM (which may renumber rowids).
    const db = new DatabaseSync(target);
    db.exec(`DELETE FROM rows_forward WHERE a = 5; INSERT INTO rows_forward VALUES (5, 'row 5'); VACUUM;`);
    db.close();
    const moved = await sqliteEngine.fingerprint(target, await makeContext(), { contentHashes: true });
    assert.deepEqual(compareFingerprints(captured, moved), []);
  });

  test("one changed value, or one changed storage class, is found and named", async () => {
    const target = join(base, "restored.db");
    const db = new DatabaseSync(target);
    db.exec("UPDATE people SET name = 'someone else' WHERE id = 17");
    db.close();
    const changed = await sqliteEngine.fingerprint(target, await makeContext(), { contentHashes: true });
    assert.equal(changed.counts["rows:people"], 300);
    assert.deepEqual(
      compareFingerprints(captured, changed).map((difference) => difference.key),
      ["content:people"],
    );

    // 1 (integer) becomes '1' (text): the same text, another value.
    const again = new DatabaseSync(target);
    again.exec("UPDATE pairs SET v = CAST(v AS TEXT) WHERE k = 'one'");
    again.close();
    const retyped = await sqliteEngine.fingerprint(target, await makeContext(), { contentHashes: true });
    assert.deepEqual(
      compareFingerprints(captured, retyped).map((difference) => difference.key),
      ["content:pairs", "content:people"],
    );
  });
});

test("a drill's fingerprint check says when content hashes were compared", () => {
  const fingerprint: Fingerprint = {
    counts: { "rows:a": 1, "rows:b": 2 },
    hashes: { schema: "s", "content:a": "1", "content:b": "2" },
  };
  const [passed] = fingerprintChecks(fingerprint, fingerprint);
  assert.equal(passed?.result, "passed");
  assert.match(passed?.detail ?? "", /including content hashes of 2 tables/);
  const plain: Fingerprint = { counts: { "rows:a": 1 }, hashes: {} };
  assert.doesNotMatch(fingerprintChecks(plain, plain)[0]?.detail ?? "", /content/);
  const [failed] = fingerprintChecks(fingerprint, {
    ...fingerprint,
    hashes: { ...fingerprint.hashes, "content:b": "3" },
  });
  assert.equal(failed?.result, "failed");
  assert.match(failed?.detail ?? "", /content:b: expected 2, found 3/);
});

describe("deep check through the CLI (sqlite)", () => {
  let ws: Awaited<ReturnType<typeof workspace>>;

  before(async () => {
    ws = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
reports: { dir: "${dir}/reports" }
sources:
  app:
    engine: sqlite
    path: "${dir}/app.db"
    content_hashes: true
    drill: { target: { path: "${dir}/scratch" } }
`,
    );
    const db = new DatabaseSync(join(ws.dir, "app.db"));
    db.exec("CREATE TABLE bookings (id INTEGER PRIMARY KEY, note TEXT)");
    const insert = db.prepare("INSERT INTO bookings (note) VALUES (?)");
    for (let i = 0; i < 100; i++) insert.run(`booking ${i}`);
    db.close();
  });
  after(async () => {
    await ws?.cleanup();
  });

  test("backup records content hashes; restore and drill verify them", async () => {
    assert.equal((await ws.cli(["init"])).code, 0);
    const backup = await ws.cli(["backup", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    const snapshot = backup.json.snapshots[0];
    assert.match(snapshot.fingerprint.hashes["content:bookings"], /^[0-9a-f]{32}$/);

    const restore = await ws.cli(["restore", "app", "--to", join(ws.dir, "restored.db"), "--json"]);
    assert.equal(restore.code, 0, restore.stderr + restore.stdout);

    const drill = await ws.cli(["drill", "app", "--json"]);
    assert.equal(drill.code, 0, drill.stderr + drill.stdout);
    const check = drill.json.checks.find((entry: { name: string }) => entry.name === "fingerprint");
    assert.equal(check.result, "passed");
    assert.match(check.detail, /including content hashes of 1 table\)/);
  });
});
