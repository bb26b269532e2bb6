// The sqlite engine against real SQLite files: WAL contents, concurrent
// writers, restore guards and a corrupt artifact that must not touch the target.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, chown, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Readable } from "node:stream";
import { sqliteEngine } from "../src/engines/sqlite/index.ts";
import { assertIntegrity } from "../src/engines/sqlite/restore.ts";
import { compareFingerprints } from "../src/domain/fingerprint.ts";
import { LifeboatError, isLifeboatError } from "../src/errors.ts";
import { engineWorkdir } from "./support/engine-workdir.ts";
import { MemoryArtifacts } from "./support/memory-artifacts.ts";
import { isSameTarget } from "./support/identity.ts";

const workdir = engineWorkdir("sqlite");

function dump(path: string): string {
  const result = spawnSync("/usr/bin/sqlite3", [path, ".dump"], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

/** A database with blobs, unicode, an index, a view, a trigger; left open in WAL mode with un-checkpointed writes. */
function createRichDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA wal_autocheckpoint = 0;
    CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT);
    CREATE TABLE files (id INTEGER PRIMARY KEY AUTOINCREMENT, person_id INTEGER REFERENCES people(id), data BLOB);
    CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT);
    CREATE INDEX people_by_city ON people(city);
    CREATE UNIQUE INDEX people_by_name ON people(name);
    CREATE VIEW people_with_files AS SELECT p.name, count(f.id) AS n FROM people p LEFT JOIN files f ON f.person_id = p.id GROUP BY p.id;
    CREATE TRIGGER audit_people AFTER INSERT ON people BEGIN INSERT INTO audit(what) VALUES ('added ' || NEW.name); END;
  `);
  const person = db.prepare("INSERT INTO people(name, city) VALUES (?, ?)");
  const file = db.prepare("INSERT INTO files(person_id, data) VALUES (?, ?)");
  db.exec("BEGIN");
  const names = ["Zoë", "日本太郎", "Ångström 🚀", 'O\'Brien "quoted"', "plain"];
  for (let i = 0; i < 200; i++) {
    const id = Number(
      person.run(`${names[i % names.length]} #${i}`, i % 3 ? "Zürich" : null).lastInsertRowid,
    );
    file.run(id, randomBytes(64 + (i % 7) * 100));
  }
  db.exec("COMMIT");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  // These rows live only in the -wal file until a checkpoint: the backup must include them.
  person.run("marker-in-wal ✓", "WAL");
  file.run(1, Buffer.from([0, 1, 2, 255]));
  return db;
}

describe("sqlite engine", () => {
  test("round trip keeps rows, WAL contents, schema objects and .dump output", async () => {
    const sourcePath = join(workdir.base, "rich.db");
    const writer = createRichDatabase(sourcePath);
    try {
      assert.ok((await stat(sourcePath + "-wal")).size > 0, "the -wal file holds un-checkpointed frames");
      const artifacts = new MemoryArtifacts();
      const result = await sqliteEngine.capture(
        { engine: "sqlite", path: sourcePath },
        artifacts,
        workdir.context,
      );
      assert.equal(result.fingerprint.counts["rows:people"], 201);
      assert.equal(result.fingerprint.counts["rows:files"], 201);
      assert.equal(result.fingerprint.counts["rows:audit"], 201);
      assert.equal(result.fingerprint.counts["objects:tables"], 3);
      assert.equal(result.fingerprint.counts["objects:indexes"], 2);
      assert.equal(result.fingerprint.counts["objects:views"], 1);
      assert.equal(result.fingerprint.counts["objects:triggers"], 1);
      assert.equal(
        result.fingerprint.counts["rows:sqlite_sequence"],
        undefined,
        "internal tables are skipped",
      );
      assert.equal(result.engineMeta.journal_mode, "wal");
      assert.equal(result.engineMeta.path, sourcePath);
      assert.equal(typeof result.engineMeta.sqlite_version, "string");
      assert.equal(typeof result.engineMeta.page_size, "number");
      assert.ok(!Number.isNaN(Date.parse(result.consistentAt)));
      assert.deepEqual(
        artifacts.artifacts.map((artifact) => artifact.name),
        ["database.sqlite"],
      );
      assert.deepEqual(await readdir(workdir.context.tempDir), [], "the spooled copy is removed");

      const targetPath = join(workdir.base, "restored.db");
      const phases: string[] = [];
      const restoreContext = { ...workdir.context, onPhase: (phase: string) => phases.push(phase) };
      await sqliteEngine.restore(
        { artifacts, engineMeta: result.engineMeta },
        targetPath,
        {},
        restoreContext,
      );
      assert.deepEqual(phases, ["restore"]);
      const restored = await sqliteEngine.fingerprint(targetPath, workdir.context);
      assert.deepEqual(compareFingerprints(result.fingerprint, restored), []);
      assert.equal(dump(targetPath), dump(sourcePath));
      assert.match(dump(targetPath), /marker-in-wal ✓/);
      assertIntegrity(targetPath);
      assert.deepEqual(
        (await readdir(workdir.base)).filter((name) => name.includes("lifeboat-partial")),
        [],
      );
    } finally {
      writer.close();
    }
  });

  test("a capture while another process writes gives a consistent copy", async () => {
    const sourcePath = join(workdir.base, "busy.db");
    const setup = new DatabaseSync(sourcePath);
    setup.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE a (id INTEGER PRIMARY KEY, v BLOB); CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB);`);
    setup.exec("BEGIN");
    const big = setup.prepare("INSERT INTO a(v) VALUES (?)");
    const bigB = setup.prepare("INSERT INTO b(v) VALUES (?)");
    for (let i = 0; i < 1500; i++) {
      big.run(randomBytes(4096));
      bigB.run(randomBytes(4096));
    }
    setup.exec("COMMIT");
    setup.close();

    // Each transaction inserts one row into a and one into b: a consistent copy has equal counts.
    const stopFile = join(workdir.base, "busy.stop");
    const writerScript = `
      import { DatabaseSync } from "node:sqlite";
import { Readable } from "node:stream";
      import { existsSync } from "node:fs";
      const db = new DatabaseSync(process.argv[1], { timeout: 10000 });
      const a = db.prepare("INSERT INTO a(v) VALUES (randomblob(3000))");
      const b = db.prepare("INSERT INTO b(v) VALUES (randomblob(3000))");
      let n = 0;
      while (!existsSync(process.argv[2])) { db.exec("BEGIN"); a.run(); b.run(); db.exec("COMMIT"); n++; if (n === 50) console.log("started"); }
      console.log("wrote " + n);
      db.close();`;
    const writer = spawn(
      process.execPath,
      ["--input-type=module", "-e", writerScript, sourcePath, stopFile],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let output = "";
    const started = new Promise<void>((resolve) => {
      writer.stdout.setEncoding("utf8");
      writer.stdout.on("data", (text: string) => {
        output += text;
        if (output.includes("started")) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => writer.on("close", resolve));
    try {
      await started;
      const artifacts = new MemoryArtifacts();
      const result = await sqliteEngine.capture(
        { engine: "sqlite", path: sourcePath },
        artifacts,
        workdir.context,
      );
      await writeFile(stopFile, "");
      assert.equal(await exited, 0);
      const counts = result.fingerprint.counts;
      assert.equal(counts["rows:a"], counts["rows:b"], "both halves of every transaction, or neither");
      assert.ok((counts["rows:a"] ?? 0) >= 1550, "the writer's committed rows before the capture are in it");
      const written = Number(/wrote (\d+)/.exec(output)?.[1]);
      assert.ok(
        1500 + written > (counts["rows:a"] ?? 0),
        "the writer kept committing after the consistent point",
      );

      const targetPath = join(workdir.base, "busy-restored.db");
      await sqliteEngine.restore(
        { artifacts, engineMeta: result.engineMeta },
        targetPath,
        {},
        workdir.context,
      );
      assert.deepEqual(
        compareFingerprints(result.fingerprint, await sqliteEngine.fingerprint(targetPath, workdir.context)),
        [],
      );
      assertIntegrity(targetPath);
    } finally {
      await writeFile(stopFile, "");
      await exited;
    }
  });

  test("a non-empty target is refused; force or clean replaces it and drops its stale -wal", async () => {
    const sourcePath = join(workdir.base, "small.db");
    const db = new DatabaseSync(sourcePath);
    db.exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('new');");
    db.close();
    const artifacts = new MemoryArtifacts();
    const result = await sqliteEngine.capture(
      { engine: "sqlite", path: sourcePath },
      artifacts,
      workdir.context,
    );

    const targetPath = join(workdir.base, "occupied.db");
    const old = new DatabaseSync(targetPath);
    old.exec(
      "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE old (y); INSERT INTO old VALUES (1);",
    );
    const oldBytes = await readFile(targetPath);
    assert.deepEqual(await sqliteEngine.inspectTarget(targetPath, workdir.context), {
      exists: true,
      empty: false,
      description: `SQLite file ${targetPath} (${oldBytes.length} bytes)`,
    });
    await assert.rejects(
      sqliteEngine.restore({ artifacts, engineMeta: result.engineMeta }, targetPath, {}, workdir.context),
      (error) => isLifeboatError(error, "TARGET_NOT_EMPTY") && error.message.includes(targetPath),
    );
    assert.deepEqual(await readFile(targetPath), oldBytes);

    old.close(); // checkpoints; recreate a stale -wal by hand to prove it is removed
    await writeFile(targetPath + "-wal", randomBytes(4096));
    await sqliteEngine.restore(
      { artifacts, engineMeta: result.engineMeta },
      targetPath,
      { force: true },
      workdir.context,
    );
    await assert.rejects(stat(targetPath + "-wal"), { code: "ENOENT" });
    assert.deepEqual(
      compareFingerprints(result.fingerprint, await sqliteEngine.fingerprint(targetPath, workdir.context)),
      [],
    );
    await sqliteEngine.restore(
      { artifacts, engineMeta: result.engineMeta },
      targetPath,
      { clean: true },
      workdir.context,
    );
    assert.match(dump(targetPath), /INSERT INTO t VALUES\('new'\);/);
  });

  test("a missing source is SOURCE_UNREACHABLE naming the path, and no file is created", async () => {
    const missing = join(workdir.base, "no-such.db");
    await assert.rejects(
      sqliteEngine.capture({ engine: "sqlite", path: missing }, new MemoryArtifacts(), workdir.context),
      (error) => isLifeboatError(error, "SOURCE_UNREACHABLE") && error.message.includes(missing),
    );
    await assert.rejects(stat(missing), { code: "ENOENT" });
    const garbage = join(workdir.base, "garbage.db");
    await writeFile(garbage, "this is not a database ".repeat(100));
    await assert.rejects(
      sqliteEngine.capture({ engine: "sqlite", path: garbage }, new MemoryArtifacts(), workdir.context),
      (error) => isLifeboatError(error, "SOURCE_UNREACHABLE") && error.message.includes(garbage),
    );
  });

  test("a target whose directory does not exist is TARGET_UNREACHABLE", async () => {
    const artifacts = new MemoryArtifacts();
    await artifacts.write("database.sqlite", Readable.from([Buffer.from("unused")]));
    await assert.rejects(
      sqliteEngine.restore(
        { artifacts, engineMeta: {} },
        join(workdir.base, "nope", "x.db"),
        {},
        workdir.context,
      ),
      (error) => isLifeboatError(error, "TARGET_UNREACHABLE"),
    );
  });

  describe("damaged artifacts leave the existing target byte-identical and no temp file behind", () => {
    let artifacts: MemoryArtifacts;
    let targetPath: string;
    let original: Buffer;

    before(async () => {
      const sourcePath = join(workdir.base, "for-damage.db");
      const db = new DatabaseSync(sourcePath);
      db.exec("CREATE TABLE t (x BLOB); CREATE INDEX t_x ON t(x);");
      db.exec("BEGIN");
      for (let i = 0; i < 300; i++) db.prepare("INSERT INTO t VALUES (?)").run(randomBytes(500));
      db.exec("COMMIT");
      db.close();
      artifacts = new MemoryArtifacts();
      await sqliteEngine.capture({ engine: "sqlite", path: sourcePath }, artifacts, workdir.context);
      targetPath = join(workdir.base, "precious.db");
      const precious = new DatabaseSync(targetPath);
      precious.exec("CREATE TABLE precious (x); INSERT INTO precious VALUES ('keep me');");
      precious.close();
      original = await readFile(targetPath);
    });

    async function assertUntouched(): Promise<void> {
      assert.deepEqual(await readFile(targetPath), original);
      assert.deepEqual(
        (await readdir(workdir.base)).filter((name) => name.includes("lifeboat-partial")),
        [],
      );
    }

    test("a checksum mismatch while saving", async () => {
      class CorruptArtifacts extends MemoryArtifacts {
        override async saveTo(name: string, path: string): Promise<void> {
          const bytes = this.stored.get(name) ?? Buffer.alloc(0);
          await writeFile(path, bytes.subarray(0, bytes.length / 2)); // the half written before the bad chunk
          throw new LifeboatError(
            "CHECKSUM_MISMATCH",
            `chunk 3f2a of artifact ${name} failed authentication`,
          );
        }
      }
      const corrupt = new CorruptArtifacts();
      for (const [name, bytes] of artifacts.stored) await corrupt.write(name, Readable.from([bytes]));
      await assert.rejects(
        sqliteEngine.restore(
          { artifacts: corrupt, engineMeta: {} },
          targetPath,
          { force: true },
          workdir.context,
        ),
        (error) => isLifeboatError(error, "CHECKSUM_MISMATCH"),
      );
      await assertUntouched();
    });

    test("a file that verifies but fails integrity_check", async () => {
      const damaged = new MemoryArtifacts();
      const bytes = Buffer.from(artifacts.stored.get("database.sqlite") ?? Buffer.alloc(0));
      const pageSize = bytes.readUInt16BE(16);
      bytes.fill(0x5a, pageSize * 2, pageSize * 2 + 64); // scribble over a b-tree page header
      await damaged.write("database.sqlite", Readable.from([bytes]));
      await assert.rejects(
        sqliteEngine.restore(
          { artifacts: damaged, engineMeta: {} },
          targetPath,
          { force: true },
          workdir.context,
        ),
        (error) => isLifeboatError(error, "VERIFICATION_FAILED") && error.message.includes(targetPath),
      );
      await assertUntouched();
    });
  });

  test("isSameAsSource sees through symlinks and hard links; inspectTarget of a missing file", async () => {
    const sourcePath = join(workdir.base, "same.db");
    await writeFile(sourcePath, "");
    const source = { engine: "sqlite" as const, path: sourcePath };
    assert.equal(
      await isSameTarget(sqliteEngine, source, join(workdir.base, ".", "same.db"), workdir.context),
      true,
    );
    const { symlink, link } = await import("node:fs/promises");
    await symlink(sourcePath, join(workdir.base, "same-symlink.db"));
    await link(sourcePath, join(workdir.base, "same-hardlink.db"));
    assert.equal(
      await isSameTarget(sqliteEngine, source, join(workdir.base, "same-symlink.db"), workdir.context),
      true,
    );
    assert.equal(
      await isSameTarget(sqliteEngine, source, join(workdir.base, "same-hardlink.db"), workdir.context),
      true,
    );
    assert.equal(
      await isSameTarget(sqliteEngine, source, join(workdir.base, "other.db"), workdir.context),
      false,
    );
    const missing = await sqliteEngine.inspectTarget(join(workdir.base, "other.db"), workdir.context);
    assert.equal(missing.exists, false);
    assert.equal(missing.empty, true);
  });

  test("the restored file keeps the source's mode (and owner, as root), not the download's 0600", async () => {
    const sourcePath = join(workdir.base, "shared.db");
    const db = new DatabaseSync(sourcePath);
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    db.close();
    await chmod(sourcePath, 0o640);
    const isRoot = process.getuid?.() === 0;
    if (isRoot) await chown(sourcePath, 1234, 4321); // an app user: the restored file must stay theirs
    const artifacts = new MemoryArtifacts();
    const captured = await sqliteEngine.capture(
      { engine: "sqlite", path: sourcePath },
      artifacts,
      workdir.context,
    );
    assert.equal(captured.engineMeta.mode, "0640");

    const target = join(workdir.base, "shared-restored.db");
    await sqliteEngine.restore({ artifacts, engineMeta: captured.engineMeta }, target, {}, workdir.context);
    const restored = await stat(target);
    assert.equal(restored.mode & 0o7777, 0o640);
    if (isRoot) assert.deepEqual([restored.uid, restored.gid], [1234, 4321]);

    // A snapshot from before modes were recorded: what SQLite itself would create, 0644 less the umask.
    const { mode: _mode, uid: _uid, gid: _gid, ...oldMeta } = captured.engineMeta;
    const fromOld = join(workdir.base, "old-snapshot-restored.db");
    await sqliteEngine.restore({ artifacts, engineMeta: oldMeta }, fromOld, {}, workdir.context);
    assert.equal((await stat(fromOld)).mode & 0o7777, 0o644 & ~process.umask());
  });
});
