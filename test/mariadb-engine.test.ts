// The mariadb engine against a real throwaway MariaDB server: a round trip
// compared table by table with CHECKSUM TABLE (views, routines, triggers,
// events, unicode, NULLs, blobs, thousands of rows), concurrent writers, a
// damaged artifact, a failing dump tool, guards, scratch targets and secrets.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import { mariadbEngine } from "../src/engines/mariadb/index.ts";
import type { MariadbSourceConfig } from "../src/engines/mariadb/config.ts";
import { compareFingerprints, isEmptyFingerprint } from "../src/domain/fingerprint.ts";
import { isLifeboatError } from "../src/errors.ts";
import { processRunner, type ProcessRunner } from "../src/runtime/process.ts";
import { freePort } from "../src/runtime/free-port.ts";
import { engineWorkdir } from "./support/engine-workdir.ts";
import { CorruptArtifacts, MemoryArtifacts } from "./support/memory-artifacts.ts";
import { startMariadbServer, type TestMariadb } from "./support/mariadb-server.ts";

const workdir = engineWorkdir("mariadb");
let server: TestMariadb;

before(async () => {
  server = await startMariadbServer();
});
after(async () => {
  await server?.stop();
});

const source = (database: string, extra: Partial<MariadbSourceConfig> = {}): MariadbSourceConfig =>
  ({ engine: "mariadb", url: server.url(database), ...extra }) as MariadbSourceConfig;

async function checksums(database: string): Promise<Record<string, unknown>> {
  const tables = await server.sql<{ name: string }>(
    "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
    [database],
  );
  const result: Record<string, unknown> = {};
  for (const { name } of tables) {
    const [row] = await server.sql<{ Checksum: number }>(`CHECKSUM TABLE \`${database}\`.\`${name}\``);
    result[name] = row!.Checksum;
  }
  return result;
}

async function leftovers(): Promise<string[]> {
  const found = await server.sql<{ name: string }>(
    "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '%lifeboat%' AND SCHEMA_NAME NOT LIKE 'lifeboat_drill%'",
  );
  return found.map((row) => row.name);
}

async function capture(
  config: MariadbSourceConfig,
  artifacts = new MemoryArtifacts(),
  runner?: ProcessRunner,
) {
  const context = runner ? { ...workdir.context, runner } : workdir.context;
  return { artifacts, result: await mariadbEngine.capture(config, artifacts, context) };
}

/** Restore through the same steps as the pipeline: verify the partial against the capture's fingerprint. */
async function restore(
  artifacts: MemoryArtifacts,
  result: Awaited<ReturnType<typeof mariadbEngine.capture>>,
  target: string,
  options: { clean?: boolean } = {},
) {
  const verified: string[] = [];
  await mariadbEngine.restore(
    {
      artifacts,
      engineMeta: result.engineMeta,
      verify: async (partial) => {
        verified.push(partial);
        const contentHashes = Object.keys(result.fingerprint.hashes).some((key) =>
          key.startsWith("content:"),
        );
        const found = await mariadbEngine.fingerprint(partial, workdir.context, { contentHashes });
        assert.deepEqual(
          compareFingerprints(result.fingerprint, found),
          [],
          "the partial matches the capture",
        );
      },
    },
    target,
    options,
    workdir.context,
  );
  return verified;
}

const rich = `
CREATE DATABASE shop CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE shop;
CREATE TABLE people (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(100) NOT NULL, city VARCHAR(50) NULL,
  note TEXT COMMENT 'a comment\nINSERT INTO \`people\` VALUES (1);', created DATETIME(6) DEFAULT '2020-01-01 00:00:00');
CREATE TABLE files (id INT PRIMARY KEY, person_id INT, data LONGBLOB, FOREIGN KEY (person_id) REFERENCES people(id));
CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(64), f DOUBLE, d DECIMAL(20,6), KEY by_v (v), UNIQUE KEY by_f (f, id), KEY by_d (d DESC));
CREATE TABLE audit (id INT PRIMARY KEY AUTO_INCREMENT, what VARCHAR(200));
CREATE TABLE empty_table (a INT);
CREATE VIEW people_in_cities AS SELECT id, name FROM people WHERE city IS NOT NULL;
CREATE VIEW city_count AS SELECT COUNT(*) AS n FROM people_in_cities;
CREATE FUNCTION plus_one(x INT) RETURNS INT DETERMINISTIC RETURN x + 1;
CREATE PROCEDURE add_audit(IN what VARCHAR(200)) BEGIN
INSERT INTO \`audit\` VALUES (NULL, what);
END;
CREATE TRIGGER audit_people AFTER INSERT ON people FOR EACH ROW INSERT INTO audit(what) VALUES (CONCAT('added ', NEW.name));
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM empty_table;
`;

async function createRich(): Promise<void> {
  await server.sql(rich);
  const names = ["Zoë", "日本太郎", "Ångström 🚀", 'O\'Brien "quoted" \\ back;slash', "(paren), comma"];
  const connection = await server.connect("shop");
  try {
    await connection.beginTransaction();
    for (let i = 1; i <= 200; i++) {
      await connection.query("INSERT INTO people (name, city, note) VALUES (?, ?, ?)", [
        `${names[i % names.length]} #${i}`,
        i % 3 ? "Zürich" : null,
        i % 4 ? `line one\nline two ' ${i}` : null,
      ]);
      await connection.query("INSERT INTO files VALUES (?, ?, ?)", [
        i,
        i,
        i % 5 ? randomBytes(50 + i * 7) : null,
      ]);
    }
    await connection.query("INSERT INTO files VALUES (1000, NULL, ?)", [
      Buffer.from([0, 0x27, 0x5c, 0x22, 0x0a, 0xff]),
    ]);
    const batch: unknown[][] = [];
    for (let i = 1; i <= 5000; i++) batch.push([i, `row ${i} 'x'`, i / 7, `${i}.123456`]);
    await connection.batch("INSERT INTO big VALUES (?, ?, ?, ?)", batch);
    await connection.commit();
  } finally {
    await connection.end();
  }
}

describe("mariadb engine", () => {
  let shop: Awaited<ReturnType<typeof capture>>;

  before(async () => {
    await createRich();
    shop = await capture(source("shop"));
  });

  test("round trip: every table's CHECKSUM, views, routines, triggers and events", async () => {
    const { result, artifacts } = shop;
    const counts = result.fingerprint.counts;
    assert.equal(counts["rows:people"], 200);
    assert.equal(counts["rows:files"], 201);
    assert.equal(counts["rows:big"], 5000);
    assert.equal(counts["rows:audit"], 200, "the trigger's rows");
    assert.equal(counts["rows:empty_table"], 0);
    assert.equal(counts["objects:tables"], 5);
    assert.equal(counts["objects:views"], 2);
    assert.equal(counts["objects:routines"], 2);
    assert.equal(counts["objects:triggers"], 1);
    assert.equal(counts["objects:events"], 1);
    assert.equal(result.engineMeta.flavour, "MariaDB");
    assert.deepEqual(result.engineMeta.databases, ["shop"]);
    assert.equal(result.engineMeta.port, server.port);
    assert.ok(!Number.isNaN(Date.parse(result.consistentAt)));
    const dump = artifacts.stored.get("dump.sql")!.toString("utf8");
    assert.doesNotMatch(dump, /^(CREATE DATABASE|USE )/m, "a one-database dump loads into any name");

    const verified = await restore(artifacts, result, server.url("shop_restored"));
    assert.equal(verified.length, 1);
    assert.match(verified[0]!, /shop_restored_lifeboat_partial_[0-9a-f]{8}/);
    assert.deepEqual(await checksums("shop_restored"), await checksums("shop"));
    // Secondary keys are built after the rows (deferred-keys.ts), yet every table ends exactly as dumped.
    for (const table of ["big", "files", "people"]) {
      const [original] = await server.sql<Record<string, string>>(`SHOW CREATE TABLE shop.${table}`);
      const [copy] = await server.sql<Record<string, string>>(`SHOW CREATE TABLE shop_restored.${table}`);
      assert.equal(copy!["Create Table"], original!["Create Table"], table);
    }
    assert.deepEqual(
      compareFingerprints(
        result.fingerprint,
        await mariadbEngine.fingerprint(server.url("shop_restored"), workdir.context),
      ),
      [],
    );
    const [fn] = await server.sql<{ v: number }>("SELECT shop_restored.plus_one(41) AS v");
    assert.equal(fn!.v, 42);
    const view = await server.sql("SELECT * FROM shop_restored.people_in_cities ORDER BY id");
    assert.deepEqual(view, await server.sql("SELECT * FROM shop.people_in_cities ORDER BY id"));
    const [viewDef] = await server.sql<{ d: string }>(
      "SELECT VIEW_DEFINITION AS d FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'shop_restored' AND TABLE_NAME = 'city_count'",
    );
    assert.doesNotMatch(viewDef!.d, /partial/, "view definitions name the target, not the partial");
    await server.sql("CALL shop_restored.add_audit('by procedure')");
    await server.sql("INSERT INTO shop_restored.people (name) VALUES ('new person')");
    const [audit] = await server.sql<{ n: number }>("SELECT COUNT(*) AS n FROM shop_restored.audit");
    assert.equal(audit!.n, 202, "the procedure and the trigger work in the target");
    const events = await server.sql(
      "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'shop_restored'",
    );
    assert.equal(events.length, 1);
    const unicode = await server.sql<{ name: string }>("SELECT name FROM shop_restored.people WHERE id = 2");
    assert.equal(unicode[0]!.name, "Ångström 🚀 #2");
    assert.deepEqual(await leftovers(), [], "no partial database is left");
  });

  test("concurrent writers during capture: the fingerprint matches the restore exactly", async () => {
    await server.sql(
      "CREATE DATABASE busy; CREATE TABLE busy.a (id INT PRIMARY KEY AUTO_INCREMENT, v BLOB); CREATE TABLE busy.b (id INT PRIMARY KEY AUTO_INCREMENT, v BLOB);",
    );
    const seed = await server.connect("busy");
    const rowsOf = Array.from({ length: 4000 }, () => [randomBytes(2000)]);
    await seed.batch("INSERT INTO a (v) VALUES (?)", rowsOf);
    await seed.batch("INSERT INTO b (v) VALUES (?)", rowsOf);
    await seed.end();
    const writer = await server.connect("busy");
    let stop = false;
    let written = 0;
    const writing = (async () => {
      while (!stop) {
        await writer.beginTransaction();
        await writer.query("INSERT INTO a (v) VALUES (RANDOM_BYTES(500))");
        await writer.query("INSERT INTO b (v) VALUES (RANDOM_BYTES(500))");
        await writer.commit();
        written++;
      }
    })();
    try {
      while (written < 20) await new Promise((resolve) => setTimeout(resolve, 10));
      const { artifacts, result } = await capture(source("busy"));
      const atCapture = written;
      while (written < atCapture + 20) await new Promise((resolve) => setTimeout(resolve, 10));
      stop = true;
      await writing;
      const counts = result.fingerprint.counts;
      assert.equal(counts["rows:a"], counts["rows:b"], "both halves of every transaction, or neither");
      assert.ok(counts["rows:a"]! > 4000, "rows committed before the capture are in it");
      const [now] = await server.sql<{ n: number }>("SELECT COUNT(*) AS n FROM busy.a");
      assert.ok(now!.n > counts["rows:a"]!, "the writer kept committing after the consistent point");
      await restore(artifacts, result, server.url("busy_restored"));
      assert.deepEqual(
        compareFingerprints(
          result.fingerprint,
          await mariadbEngine.fingerprint(server.url("busy_restored"), workdir.context),
        ),
        [],
      );
    } finally {
      stop = true;
      await writing.catch(() => {});
      await writer.end();
    }
  });

  test("a damaged artifact fails naming CHECKSUM_MISMATCH: target untouched, no partial left", async () => {
    const corrupt = new CorruptArtifacts();
    for (const [name, bytes] of shop.artifacts.stored)
      await corrupt.write(name, [bytes] as unknown as AsyncIterable<Uint8Array>);
    corrupt.corrupt = "dump.sql";
    await assert.rejects(
      mariadbEngine.restore(
        { artifacts: corrupt, engineMeta: shop.result.engineMeta, verify: async () => {} },
        server.url("shop_damaged"),
        {},
        workdir.context,
      ),
      (error) => isLifeboatError(error, "CHECKSUM_MISMATCH"),
    );
    const [exists] = await server.sql<{ n: number }>(
      "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'shop_damaged'",
    );
    assert.equal(exists!.n, 0, "the target was never created");
    const before = await checksums("shop_restored");
    await assert.rejects(
      mariadbEngine.restore(
        { artifacts: corrupt, engineMeta: shop.result.engineMeta, verify: async () => {} },
        server.url("shop_restored"),
        { clean: true },
        workdir.context,
      ),
      (error) => isLifeboatError(error, "CHECKSUM_MISMATCH"),
    );
    assert.deepEqual(await checksums("shop_restored"), before, "--clean never dropped the old tables");
    assert.deepEqual(await leftovers(), []);
  });

  test("a non-empty target is refused without --clean; --clean replaces it after verification", async () => {
    await server.sql(
      "CREATE DATABASE occupied; CREATE TABLE occupied.old_stuff (a INT); INSERT INTO occupied.old_stuff VALUES (1);",
    );
    await assert.rejects(restore(shop.artifacts, shop.result, server.url("occupied")), (error) =>
      isLifeboatError(error, "TARGET_NOT_EMPTY"),
    );
    const state = await mariadbEngine.inspectTarget(server.url("occupied"), workdir.context);
    assert.equal(state.empty, false);
    await restore(shop.artifacts, shop.result, server.url("occupied"), { clean: true });
    assert.deepEqual(await checksums("occupied"), await checksums("shop"));
    const old = await server.sql(
      "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'occupied' AND TABLE_NAME = 'old_stuff'",
    );
    assert.equal(old.length, 0, "the old target's tables are gone");
    assert.deepEqual(await leftovers(), []);
  });

  test("a verification failure drops the partial and leaves the target alone", async () => {
    await assert.rejects(
      mariadbEngine.restore(
        {
          artifacts: shop.artifacts,
          engineMeta: shop.result.engineMeta,
          verify: async () => {
            throw new Error("fingerprint mismatch");
          },
        },
        server.url("never_made"),
        {},
        workdir.context,
      ),
      /fingerprint mismatch/,
    );
    const [exists] = await server.sql<{ n: number }>(
      "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'never_made'",
    );
    assert.equal(exists!.n, 0);
    assert.deepEqual(await leftovers(), []);
  });

  test("a killed restore's partial is recognised by name and dropped by the next restore; a live one is kept", async () => {
    await server.sql(
      "CREATE DATABASE again_lifeboat_partial_deadbeef; CREATE TABLE again_lifeboat_partial_deadbeef.t (a INT);",
    );
    await server.sql("CREATE DATABASE again_lifeboat_partial_0badf00d");
    const live = await server.connect();
    await live.query("SELECT GET_LOCK('lifeboat_restore_0badf00d', 0)");
    try {
      const state = await mariadbEngine.inspectTarget(server.url("again"), workdir.context);
      assert.equal(state.exists, false, "a partial is never taken for the target");
      await restore(shop.artifacts, shop.result, server.url("again"));
      assert.deepEqual(await leftovers(), ["again_lifeboat_partial_0badf00d"]);
    } finally {
      await live.end();
      await server.sql("DROP DATABASE again_lifeboat_partial_0badf00d");
    }
  });

  test("an empty database fingerprints as empty (rows 0), so an empty restore is caught", async () => {
    await server.sql("CREATE DATABASE hollow; CREATE TABLE hollow.orders (id INT);");
    const { result } = await capture(source("hollow"));
    assert.equal(result.fingerprint.counts["rows:orders"], 0);
    assert.ok(isEmptyFingerprint(result.fingerprint));
    const restored = await mariadbEngine.fingerprint(server.url("hollow"), workdir.context);
    assert.ok(isEmptyFingerprint(restored));
    assert.notDeepEqual(compareFingerprints(shop.result.fingerprint, restored), []);
  });

  test("the dump tool killed midway fails the capture", async () => {
    let killed = false;
    const killing: ProcessRunner = {
      ...processRunner,
      start(command, args, options) {
        const started = processRunner.start(command, args, options);
        started.stdout.once("data", () => {
          killed = true;
          started.child.kill("SIGKILL");
        });
        return started;
      },
    };
    await assert.rejects(capture(source("shop"), new MemoryArtifacts(), killing), (error) =>
      isLifeboatError(error, "SOURCE_TOOL_FAILED"),
    );
    assert.ok(killed);
  });

  test("the dump tool exiting non-zero after output fails the capture with its stderr", async () => {
    await server.sql(
      "CREATE DATABASE broken; CREATE TABLE broken.t (a INT); INSERT INTO broken.t VALUES (1); CREATE VIEW broken.v AS SELECT a FROM broken.t; DROP TABLE broken.t; CREATE TABLE broken.z (a INT);",
    );
    await assert.rejects(capture(source("broken")), (error) => {
      assert.ok(isLifeboatError(error, "SOURCE_TOOL_FAILED"));
      assert.match(error.message, /exit code [1-9]/);
      assert.match(error.message, /v|references invalid/i);
      return true;
    });
  });

  test("an unreachable source is SOURCE_UNREACHABLE", async () => {
    const port = await freePort();
    await assert.rejects(
      capture({ engine: "mariadb", url: `mariadb://root@127.0.0.1:${port}/shop` } as MariadbSourceConfig),
      (error) => isLifeboatError(error, "SOURCE_UNREACHABLE"),
    );
  });

  test("a password in the URL is refused with a hint", () => {
    assert.throws(
      () => mariadbEngine.checkTarget("mariadb://root:hunter22@127.0.0.1/x"),
      (error) => {
        assert.ok(isLifeboatError(error, "BAD_ARGUMENT"));
        assert.doesNotMatch(error.message, /hunter22/);
        assert.match(error.hint, /password_env/);
        return true;
      },
    );
    assert.equal(
      mariadbEngine.configSchema.safeParse({ engine: "mariadb", url: "mysql://u:pw@h/db" }).success,
      false,
    );
    assert.equal(
      mariadbEngine.configSchema.safeParse({ engine: "mariadb", url: "mysql://u@h/db" }).success,
      true,
    );
    assert.throws(
      () => mariadbEngine.checkTarget("mariadb://root@127.0.0.1:3306/"),
      (error) => isLifeboatError(error, "BAD_ARGUMENT"),
    );
    assert.throws(
      () => mariadbEngine.checkTarget("/var/lib/mysql"),
      (error) => isLifeboatError(error, "BAD_ARGUMENT"),
    );
  });

  test("wrong credentials: a clear error without the password; the password never reaches argv, env or metadata", async () => {
    const password = "S3cret-" + randomBytes(6).toString("hex");
    await server.sql(
      `CREATE USER 'app'@'localhost' IDENTIFIED BY '${password}'; GRANT ALL ON *.* TO 'app'@'localhost';`,
    );
    const url = `mariadb://app@127.0.0.1:${server.port}/shop`;
    process.env.LB_TEST_MARIADB_WRONG = "not-the-" + password;
    await assert.rejects(
      capture({ engine: "mariadb", url, password_env: "LB_TEST_MARIADB_WRONG" } as MariadbSourceConfig),
      (error) => {
        assert.ok(isLifeboatError(error, "SOURCE_UNREACHABLE"));
        assert.match(error.message, /refused|denied/i);
        assert.match(error.hint, /LB_TEST_MARIADB_WRONG/);
        assert.ok(!JSON.stringify({ m: error.message, h: error.hint, d: error.details }).includes(password));
        return true;
      },
    );

    process.env.LB_TEST_MARIADB_PW = password;
    const seen: { cmdline: string; environ: string; args: readonly string[] }[] = [];
    const watching: ProcessRunner = {
      ...processRunner,
      start(command, args, options) {
        const started = processRunner.start(command, args, options);
        const pid = (started.child as ChildProcess).pid!;
        // Read while the dump runs.
        void Promise.all([
          readFile(`/proc/${pid}/cmdline`, "utf8"),
          readFile(`/proc/${pid}/environ`, "utf8"),
        ]).then(
          ([cmdline, environ]) => seen.push({ cmdline, environ, args }),
          () => {},
        );
        return started;
      },
    };
    const { result } = await capture(
      { engine: "mariadb", url, password_env: "LB_TEST_MARIADB_PW" } as MariadbSourceConfig,
      new MemoryArtifacts(),
      watching,
    );
    assert.equal(result.fingerprint.counts["rows:big"], 5000, "the password from the variable worked");
    assert.equal(seen.length, 1);
    assert.match(seen[0]!.cmdline, /mariadb-dump/);
    assert.match(seen[0]!.args[0]!, /^--defaults-file=/, "the defaults file is the first argument");
    for (const text of [
      seen[0]!.cmdline,
      seen[0]!.environ,
      JSON.stringify(result.engineMeta),
      JSON.stringify(result.fingerprint),
    ]) {
      assert.ok(
        !text.includes(password),
        "no password in process arguments, environment, engineMeta or fingerprint",
      );
    }
    const spool = await import("node:fs/promises").then((fs) => fs.readdir(workdir.context.tempDir));
    assert.deepEqual(spool, [], "the defaults file is removed");
  });

  test("identifyTarget: the source itself is same (even by another address), another database different, unreachable unknown", async () => {
    const config = source("shop");
    assert.equal(
      (await mariadbEngine.identifyTarget(config, server.url("shop"), workdir.context)).verdict,
      "same",
    );
    const alias = `mariadb://root@localhost:${server.port}/shop`;
    assert.equal((await mariadbEngine.identifyTarget(config, alias, workdir.context)).verdict, "same");
    const other = await mariadbEngine.identifyTarget(config, server.url("shop_restored"), workdir.context);
    assert.equal(other.verdict, "different");
    assert.match(other.reason, /another database/);
    const port = await freePort();
    const unknown = await mariadbEngine.identifyTarget(
      config,
      `mariadb://root@127.0.0.1:${port}/shop`,
      workdir.context,
    );
    assert.equal(unknown.verdict, "unknown");
    const offline = {
      engine: "mariadb",
      url: `mariadb://root@127.0.0.1:${port}/shop`,
    } as MariadbSourceConfig;
    const recorded = await mariadbEngine.identifyTarget(
      offline,
      server.url("shop"),
      workdir.context,
      shop.result.engineMeta,
    );
    assert.equal(recorded.verdict, "same", "recorded identity facts stand in for an unreachable source");
  });

  test("scratch: refused on the source server without allowSourceServer; a database there with it; a throwaway server otherwise", async () => {
    const config = source("shop");
    await assert.rejects(
      mariadbEngine.provisionScratch!(
        config,
        { target: { url: server.url() }, allowSourceServer: false, label: "d1" },
        workdir.context,
      ),
      (error) => isLifeboatError(error, "SCRATCH_ON_SOURCE"),
    );
    const onSource = await mariadbEngine.provisionScratch!(
      config,
      { target: { url: server.url() }, allowSourceServer: true, label: "d2" },
      workdir.context,
    );
    assert.match(onSource.target, /lifeboat_drill_d2$/);
    await restore(shop.artifacts, shop.result, onSource.target);
    assert.equal(
      await mariadbEngine.queryScalar!(onSource.target, "SELECT COUNT(*) FROM big", workdir.context),
      5000,
    );
    await onSource.destroy();
    assert.equal((await mariadbEngine.inspectTarget(onSource.target, workdir.context)).exists, false);

    const throwaway = await mariadbEngine.provisionScratch!(
      config,
      { allowSourceServer: false, label: "d3" },
      workdir.context,
    );
    try {
      assert.doesNotMatch(throwaway.target, new RegExp(`:${server.port}/`));
      await restore(shop.artifacts, shop.result, throwaway.target);
      assert.equal(
        await mariadbEngine.queryScalar!(throwaway.target, "SELECT plus_one(1)", workdir.context),
        2,
      );
    } finally {
      await throwaway.destroy();
    }
    await assert.rejects(mariadbEngine.inspectTarget(throwaway.target, workdir.context), (error) =>
      isLifeboatError(error, "TARGET_UNREACHABLE"),
    );
  });

  test("content hashes: a restore matches; a changed value with the same row count does not", async () => {
    const { artifacts, result } = await capture(source("shop", { content_hashes: true }));
    assert.match(result.fingerprint.hashes["content:big"]!, /^[0-9a-f]{32}$/);
    await restore(artifacts, result, server.url("shop_hashed"));
    const same = await mariadbEngine.fingerprint(server.url("shop_hashed"), workdir.context, {
      contentHashes: true,
    });
    assert.deepEqual(compareFingerprints(result.fingerprint, same), []);
    await server.sql("UPDATE shop_hashed.big SET v = 'changed' WHERE id = 77");
    const changed = await mariadbEngine.fingerprint(server.url("shop_hashed"), workdir.context, {
      contentHashes: true,
    });
    assert.deepEqual(
      compareFingerprints(result.fingerprint, changed).map((difference) => difference.key),
      ["content:big"],
    );
  });

  test("several databases are captured in one consistent dump with <db>.<table> keys", async () => {
    const { result, artifacts } = await capture(source("", { databases: ["shop", "busy"] }));
    assert.equal(result.fingerprint.counts["rows:shop.big"], 5000);
    assert.equal(result.fingerprint.counts["rows:busy.a"], result.fingerprint.counts["rows:busy.b"]);
    assert.match(artifacts.stored.get("dump.sql")!.toString("utf8"), /^USE `busy`;/m);
    await assert.rejects(restore(artifacts, result, server.url("multi_restored")), (error) =>
      isLifeboatError(error, "BAD_ARGUMENT"),
    );
  });
});
