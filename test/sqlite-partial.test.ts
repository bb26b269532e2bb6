// SQLite table restores against real SQLite files, through the same
// restore-and-verify pipeline `restore` uses: two related tables (a foreign
// key, AUTOINCREMENT, an index, triggers) and unrelated ones; refusals that
// leave nothing behind; a damaged artifact; the listing from the manifest.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Readable } from "node:stream";
import type { CaptureResult, RestoreOptions } from "../src/engines/engine.ts";
import { sqliteEngine } from "../src/engines/sqlite/index.ts";
import { assertIntegrity } from "../src/engines/sqlite/restore.ts";
import type { Fingerprint } from "../src/domain/fingerprint.ts";
import type { Snapshot } from "../src/domain/snapshot.ts";
import { restoreAndVerify, type VerifiedRestore } from "../src/operations/restore-and-verify.ts";
import { isLifeboatError } from "../src/errors.ts";
import { engineWorkdir } from "./support/engine-workdir.ts";
import { CorruptArtifacts, MemoryArtifacts } from "./support/memory-artifacts.ts";

const workdir = engineWorkdir("sqlite-partial");

/**
 * parent ← child (foreign key), both AUTOINCREMENT with the newest rows deleted (so
 * sqlite_sequence is ahead of max(id)); notes, a rowid table without INTEGER PRIMARY KEY
 * with gaps in its rowids; audit and kv unrelated. Left open in WAL mode.
 */
function createSource(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA user_version = 7;
    CREATE TABLE parent (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE);
    CREATE TABLE child (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      parent_id INTEGER NOT NULL REFERENCES parent(id),
      amount REAL,
      doubled AS (amount * 2),
      note TEXT
    );
    CREATE TABLE audit (what TEXT);
    CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
    CREATE TABLE "odd ""name""" (x);
    CREATE INDEX child_by_parent ON child(parent_id) WHERE amount > 0;
    CREATE TRIGGER child_touch AFTER UPDATE OF amount ON child BEGIN
      UPDATE child SET note = coalesce(note, '') || '!' WHERE id = NEW.id; -- mentions audit only in a comment
    END;
    CREATE TRIGGER parent_log AFTER INSERT ON parent BEGIN INSERT INTO audit(what) VALUES ('parent ' || NEW.name); END;
    CREATE VIEW totals AS SELECT p.name, sum(c.amount) AS total FROM parent p JOIN child c ON c.parent_id = p.id GROUP BY p.id;
  `);
  const parent = db.prepare("INSERT INTO parent(name) VALUES (?)");
  const child = db.prepare("INSERT INTO child(parent_id, amount, note) VALUES (?, ?, ?)");
  db.exec("BEGIN");
  for (let i = 0; i < 30; i++) parent.run(`parent ${i} 'quoted' ✓`);
  for (let i = 0; i < 300; i++) child.run(1 + (i % 29), i % 5 === 0 ? null : i / 4, i % 7 ? `n${i}` : null);
  db.exec("DELETE FROM child WHERE id > 290 OR id % 11 = 0");
  db.exec("DELETE FROM parent WHERE id = 30");
  db.exec("DELETE FROM audit WHERE rowid % 3 = 0");
  db.exec("INSERT INTO kv VALUES ('a', x'00ff'), ('b', NULL)");
  db.exec(`INSERT INTO "odd ""name""" VALUES (1)`);
  db.exec("COMMIT");
  return db;
}

let source = "";
let writer: DatabaseSync | undefined;
let captured: CaptureResult;
let artifacts: MemoryArtifacts;

function snapshotOf(result: CaptureResult, stored: MemoryArtifacts, fingerprint?: Fingerprint): Snapshot {
  return {
    id: "5a1e".repeat(16),
    source: "app-sqlite",
    engine: "sqlite",
    startedAt: result.consistentAt,
    finishedAt: result.consistentAt,
    consistentAt: result.consistentAt,
    hostname: "test",
    lifeboatVersion: "test",
    artifacts: stored.artifacts,
    engineMeta: result.engineMeta,
    fingerprint: fingerprint ?? result.fingerprint,
    tags: [],
  };
}

function restoreTables(
  target: string,
  options: RestoreOptions,
  from: { artifacts?: MemoryArtifacts; fingerprint?: Fingerprint } = {},
): Promise<VerifiedRestore> {
  const stored = from.artifacts ?? artifacts;
  return restoreAndVerify({
    engine: sqliteEngine,
    snapshot: snapshotOf(captured, stored, from.fingerprint),
    artifacts: stored,
    target,
    options,
    context: workdir.context,
    now: Date.now,
  });
}

function rowsWithRowid(path: string, table: string): unknown[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db
      .prepare(`SELECT rowid AS _rowid, * FROM "${table}" ORDER BY rowid`)
      .all()
      .map((row) => ({ ...row }));
  } finally {
    db.close();
  }
}

function schemaOf(path: string): Map<string, string> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare("SELECT type, name, sql FROM sqlite_schema").all() as {
      type: string;
      name: string;
      sql: string | null;
    }[];
    return new Map(rows.map((row) => [`${row.type} ${row.name}`, String(row.sql)]));
  } finally {
    db.close();
  }
}

function sequenceOf(path: string): unknown[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db
      .prepare("SELECT name, seq FROM sqlite_sequence ORDER BY name")
      .all()
      .map((row) => ({ ...row }));
  } finally {
    db.close();
  }
}

async function leftovers(): Promise<string[]> {
  const names = [...(await readdir(workdir.base)), ...(await readdir(workdir.context.tempDir))];
  return names.filter((name) => name.includes("lifeboat-partial") || name.startsWith("sqlite-"));
}

describe("sqlite table restore", () => {
  before(async () => {
    source = join(workdir.base, "app.db");
    writer = createSource(source);
    artifacts = new MemoryArtifacts();
    captured = await sqliteEngine.capture(
      { engine: "sqlite", path: source, content_hashes: true },
      artifacts,
      workdir.context,
    );
    writer.close();
    writer = undefined;
  });

  test("two related tables come back exactly; the unrelated ones do not", async () => {
    const target = join(workdir.base, "both.db");
    const result = await restoreTables(target, { selection: { tables: ["child", "parent"] } });
    const partial = result.partial;
    assert.ok(partial);
    assert.deepEqual([...(partial.tables ?? [])].sort(), ["child", "parent"]);
    assert.deepEqual([...(partial.dependencies ?? [])].sort(), [
      "index child_by_parent",
      "sqlite_sequence entry of child",
      "sqlite_sequence entry of parent",
      "trigger child_touch",
    ]);
    assert.ok(
      partial.leftOut?.some((item) => item.startsWith("trigger parent_log") && item.includes("audit")),
    );
    assert.ok(partial.leftOut?.some((item) => item.startsWith("view totals")));
    // Verified on the chosen tables' content hashes, not only their counts.
    assert.ok(result.fingerprint.hashes["content:child"]);
    assert.equal(result.fingerprint.hashes["content:child"], captured.fingerprint.hashes["content:child"]);

    for (const table of ["parent", "child"]) {
      assert.deepEqual(rowsWithRowid(target, table), rowsWithRowid(source, table), table);
    }
    const sourceSchema = schemaOf(source);
    const restoredSchema = schemaOf(target);
    for (const key of ["table parent", "table child", "index child_by_parent", "trigger child_touch"]) {
      assert.equal(restoredSchema.get(key), sourceSchema.get(key), key);
    }
    for (const key of ["table audit", "table kv", "trigger parent_log", "view totals"]) {
      assert.equal(restoredSchema.has(key), false, `${key} is not restored`);
    }
    assert.deepEqual(sequenceOf(target), sequenceOf(source));
    assert.deepEqual(sequenceOf(target), [
      { name: "child", seq: 300 },
      { name: "parent", seq: 30 },
    ]);
    const db = new DatabaseSync(target, { readOnly: true });
    try {
      assert.equal((db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode, "wal");
      assert.equal((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version, 7);
      assert.equal((db.prepare("PRAGMA foreign_key_check").all() as unknown[]).length, 0);
    } finally {
      db.close();
    }
    assertIntegrity(target);
    assert.deepEqual(await leftovers(), []);
  });

  test("a table with a quoted name and a WITHOUT ROWID table", async () => {
    const target = join(workdir.base, "odd.db");
    const result = await restoreTables(target, { selection: { tables: ['odd "name"', "KV"] } });
    assert.deepEqual(result.partial?.tables, ['odd "name"', "kv"]);
    assert.deepEqual(rowsWithRowid(target, 'odd ""name""'), rowsWithRowid(source, 'odd ""name""'));
    const db = new DatabaseSync(target, { readOnly: true });
    try {
      assert.deepEqual(
        db
          .prepare("SELECT k, hex(v) AS v FROM kv ORDER BY k")
          .all()
          .map((row) => ({ ...row })),
        [
          { k: "a", v: "00FF" },
          { k: "b", v: "" },
        ],
      );
    } finally {
      db.close();
    }
  });

  test("the referencing table alone is refused, naming the table it needs; nothing is left", async () => {
    const target = join(workdir.base, "child-only.db");
    await assert.rejects(
      restoreTables(target, { selection: { tables: ["child"] } }),
      (error) =>
        isLifeboatError(error, "BAD_ARGUMENT") &&
        error.message.includes("table child has a foreign key to table parent") &&
        error.message.includes("--table parent") &&
        error.message.includes("--no-foreign-keys"),
    );
    await assert.rejects(stat(target), { code: "ENOENT" });
    assert.deepEqual(await leftovers(), []);
  });

  test("--no-foreign-keys restores it alone, keeps its schema text and says what is missing", async () => {
    const target = join(workdir.base, "child-nofk.db");
    const result = await restoreTables(target, { selection: { tables: ["child"], noForeignKeys: true } });
    assert.deepEqual(result.partial?.tables, ["child"]);
    const leftOut = result.partial?.leftOut ?? [];
    assert.ok(
      leftOut.some((item) => item.startsWith("table parent") && item.includes("child(parent_id)")),
      leftOut.join("\n"),
    );
    assert.deepEqual(rowsWithRowid(target, "child"), rowsWithRowid(source, "child"));
    assert.equal(schemaOf(target).get("table child"), schemaOf(source).get("table child"));
    assert.equal(schemaOf(target).has("table parent"), false);
    // What leftOut warns about: with foreign keys enforced, writes to child fail until parent exists.
    const db = new DatabaseSync(target);
    try {
      assert.throws(() => db.exec("INSERT INTO child(parent_id, amount) VALUES (1, 1)"), /no such table/);
    } finally {
      db.close();
    }
    assert.deepEqual(await leftovers(), []);
  });

  test("an unknown table, --schema and --include are refused before anything is written", async () => {
    const target = join(workdir.base, "unknown.db");
    await assert.rejects(
      restoreTables(target, { selection: { tables: ["parent", "invoices"] } }),
      (error) =>
        isLifeboatError(error, "BAD_ARGUMENT") &&
        error.message.includes("no table invoices") &&
        error.message.includes('audit, child, kv, odd "name", parent'),
    );
    await assert.rejects(restoreTables(target, { selection: { tables: ["sqlite_sequence"] } }), (error) =>
      isLifeboatError(error, "BAD_ARGUMENT"),
    );
    await assert.rejects(
      restoreTables(target, { selection: { schemas: ["main"] } }),
      (error) => isLifeboatError(error, "BAD_ARGUMENT") && error.message.includes("no schemas"),
    );
    await assert.rejects(
      restoreTables(target, { selection: { include: ["*"] } }),
      (error) => isLifeboatError(error, "BAD_ARGUMENT") && error.message.includes("--table"),
    );
    await assert.rejects(stat(target), { code: "ENOENT" });
    assert.deepEqual(await leftovers(), []);
  });

  describe("an existing target", () => {
    let target = "";
    let original: Buffer;
    before(async () => {
      target = join(workdir.base, "existing.db");
      const db = new DatabaseSync(target);
      db.exec("CREATE TABLE mine (x); INSERT INTO mine VALUES (42);");
      db.close();
      original = await readFile(target);
    });

    async function assertUntouched(): Promise<void> {
      assert.deepEqual(await readFile(target), original);
      assert.deepEqual(await leftovers(), []);
    }

    test("is refused without --force", async () => {
      await assert.rejects(
        restoreTables(target, { selection: { tables: ["parent"] } }),
        (error) => isLifeboatError(error, "TARGET_NOT_EMPTY") && error.message.includes(target),
      );
      await assertUntouched();
    });

    test("stays as it was when the artifact fails verification", async () => {
      const corrupt = new CorruptArtifacts();
      for (const [name, bytes] of artifacts.stored) await corrupt.write(name, Readable.from([bytes]));
      corrupt.corrupt = "database.sqlite";
      await assert.rejects(
        restoreTables(target, { force: true, selection: { tables: ["parent"] } }, { artifacts: corrupt }),
        (error) => isLifeboatError(error, "CHECKSUM_MISMATCH"),
      );
      await assertUntouched();
    });

    test("stays as it was when a chosen table's pages are damaged", async () => {
      const bytes = Buffer.from(artifacts.stored.get("database.sqlite")!);
      const pageSize = bytes.readUInt16BE(16);
      const db = new DatabaseSync(source, { readOnly: true });
      const { rootpage } = db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'child'").get() as {
        rootpage: number;
      };
      db.close();
      bytes.fill(0x5a, pageSize * (rootpage - 1), pageSize * (rootpage - 1) + 64);
      const damaged = new MemoryArtifacts();
      await damaged.write("database.sqlite", Readable.from([bytes]));
      await assert.rejects(
        restoreTables(
          target,
          { force: true, selection: { tables: ["child", "parent"] } },
          { artifacts: damaged },
        ),
        (error) =>
          isLifeboatError(error, "VERIFICATION_FAILED") &&
          error.message.includes("integrity_check") &&
          error.message.includes("child"),
      );
      await assertUntouched();
    });

    test("stays as it was when the restored tables do not match the fingerprint", async () => {
      const counts = {
        ...captured.fingerprint.counts,
        "rows:parent": 1 + (captured.fingerprint.counts["rows:parent"] ?? 0),
      };
      await assert.rejects(
        restoreTables(
          target,
          { force: true, selection: { tables: ["parent"] } },
          { fingerprint: { ...captured.fingerprint, counts } },
        ),
        (error) => isLifeboatError(error, "VERIFICATION_FAILED") && error.message.includes("rows:parent"),
      );
      await assertUntouched();
    });

    test("is replaced with --force by a file holding only the chosen tables", async () => {
      await writeFile(target + "-wal", "stale");
      await restoreTables(target, { force: true, selection: { tables: ["parent"] } });
      assert.deepEqual(rowsWithRowid(target, "parent"), rowsWithRowid(source, "parent"));
      assert.equal(schemaOf(target).has("table mine"), false);
      assert.deepEqual(sequenceOf(target), [{ name: "parent", seq: 30 }]);
      assertIntegrity(target);
      assert.deepEqual(await leftovers(), []);
    });
  });

  test("describeSnapshot lists tables with row counts, the other objects and the file's size", async () => {
    const snapshot = snapshotOf(captured, artifacts);
    const contents = await sqliteEngine.describeSnapshot!(snapshot, artifacts, workdir.context);
    assert.equal(contents.kind, "objects");
    assert.ok(contents.kind === "objects");
    const byKey = new Map(contents.objects.map((object) => [`${object.type} ${object.name}`, object]));
    assert.equal(byKey.get("table parent")?.rows, 29);
    assert.equal(byKey.get("table child")?.rows, captured.fingerprint.counts["rows:child"]);
    assert.equal(byKey.get("table audit")?.rows, captured.fingerprint.counts["rows:audit"]);
    assert.equal(byKey.get('table odd "name"')?.rows, 1);
    assert.ok(byKey.has("index child_by_parent"));
    assert.ok(byKey.has("view totals"));
    assert.ok(byKey.has("trigger child_touch") && byKey.has("trigger parent_log"));
    assert.ok(
      ![...byKey.keys()].some((key) => key.includes("sqlite_")),
      "SQLite's own objects are not listed",
    );
    assert.equal(
      byKey.get("database database.sqlite")?.bytes,
      artifacts.stored.get("database.sqlite")?.length,
    );

    // A snapshot from before engineMeta.objects: the fingerprint's tables.
    const { objects: _objects, ...olderMeta } = captured.engineMeta;
    const older = await sqliteEngine.describeSnapshot!(
      { ...snapshot, engineMeta: olderMeta },
      artifacts,
      workdir.context,
    );
    assert.ok(older.kind === "objects");
    assert.deepEqual(
      older.objects.filter((object) => object.type === "table").map((object) => [object.name, object.rows]),
      [
        ["audit", captured.fingerprint.counts["rows:audit"]],
        ["child", captured.fingerprint.counts["rows:child"]],
        ["kv", 2],
        ['odd "name"', 1],
        ["parent", 29],
      ],
    );
  });
});
