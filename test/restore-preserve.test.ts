// Issue 16, "keep what a restore replaces": a --clean/--force restore moves
// the old target aside instead of dropping it, `restore --undo` swaps it back
// byte for byte (keeping the undone restore aside in turn), `preserved` and
// `status` list what is kept, `preserved drop` removes one copy and nothing
// else, and --no-preserve needs the target's name confirmed.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DatabaseSync } from "node:sqlite";
import { workspace } from "./support/cli.ts";
import { startCluster, type PgCluster } from "./support/pg-cluster.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;

describe("restore keeps what it replaces", () => {
  let cluster: PgCluster;
  let ws: Workspace;

  before(async () => {
    cluster = await startCluster();
    await cluster.psql("CREATE DATABASE app");
    await cluster.psql(
      `CREATE TABLE orders (id serial PRIMARY KEY, note text);
       INSERT INTO orders (note) SELECT 'order ' || g FROM generate_series(1, 2000) g;`,
      "app",
    );
    ws = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  app-db: { engine: postgres, url: "${cluster.url("app")}" }
  uploads: { engine: files, path: "${dir}/uploads" }
  app-sqlite: { engine: sqlite, path: "${dir}/app.sqlite" }
`,
    );
    assert.equal((await ws.cli(["init"])).code, 0);
    assert.equal((await ws.cli(["backup", "app-db"])).code, 0);
  });
  after(async () => {
    await ws?.cleanup();
    await cluster?.stop();
  });

  /** A dump's digest: equal databases, and a short message when they differ. */
  const dumpOf = async (db: string) =>
    createHash("sha256")
      .update(await cluster.dumpPlain(db))
      .digest("hex");

  const databases = async (like: string) =>
    (await cluster.psql(`SELECT datname FROM pg_database WHERE datname LIKE '${like}' ORDER BY 1`))
      .split("\n")
      .filter(Boolean);

  test("postgres: --clean keeps the old database, --undo brings it back byte for byte, drop removes the copy", async () => {
    // A target someone filled by hand: different data, a table the snapshot lacks.
    await cluster.psql("CREATE DATABASE staging");
    await cluster.psql(
      "CREATE TABLE hand_made (id int PRIMARY KEY, v text); INSERT INTO hand_made SELECT g, md5(g::text) FROM generate_series(1, 500) g;",
      "staging",
    );
    const original = await dumpOf("staging");
    const target = cluster.url("staging");

    const dry = await ws.cli(["restore", "app-db", "--to", target, "--clean", "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.ok(
      dry.json.plan.steps.some((step: string) =>
        /keep the current target aside under a pre_restore_/.test(step),
      ),
      dry.json.plan.steps.join("\n"),
    );

    const restore = await ws.cli(["restore", "app-db", "--to", target, "--clean", "--json"]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(restore.json.preserved.length, 1);
    const kept = restore.json.preserved[0];
    assert.match(kept.location, /^staging_pre_restore_\d{8}_\d{6}$/);
    assert.equal(kept.kind, "database");
    assert.equal(await cluster.psql("SELECT count(*) FROM orders", "staging"), "2000");
    assert.equal(await dumpOf(kept.location), original, "the kept database is the old one, unchanged");

    const listed = await ws.cli(["preserved", "--json"]);
    assert.deepEqual(
      listed.json.preserved.map((copy: { id: string }) => copy.id),
      [kept.id],
    );
    const status = await ws.cli(["status", "--json"]);
    assert.deepEqual(
      status.json.preserved.map((copy: { location: string }) => copy.location),
      [kept.location],
    );
    const textfile = join(ws.dir, "metrics.prom");
    assert.equal((await ws.cli(["check", "--metrics-textfile", textfile])).code, 0);
    assert.match(await readFile(textfile, "utf8"), /^lifeboat_preserved_copies\{source="app-db"\} 1$/m);

    const undoDry = await ws.cli(["restore", "--undo", target, "--dry-run", "--json"]);
    assert.equal(undoDry.code, 0, undoDry.stderr);
    assert.equal(
      await cluster.psql("SELECT count(*) FROM orders", "staging"),
      "2000",
      "a dry run changes nothing",
    );

    const undo = await ws.cli(["restore", "--undo", target, "--json"]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.equal(await dumpOf("staging"), original, "the undo put the old database back exactly");
    assert.deepEqual(await databases(`${kept.location}%`), [], "the kept copy is the target again");
    const aside = undo.json.keptAside;
    assert.match(aside.location, /^staging_pre_undo_\d{8}_\d{6}$/);
    assert.equal(await cluster.psql("SELECT count(*) FROM orders", aside.location), "2000");

    const after = await ws.cli(["preserved", "--json"]);
    assert.deepEqual(
      after.json.preserved.map((copy: { id: string; by: string }) => [copy.id, copy.by]),
      [[aside.id, "undo"]],
    );
    const dropDry = await ws.cli(["preserved", "drop", aside.id, "--dry-run", "--json"]);
    assert.equal(dropDry.code, 0, dropDry.stderr);
    assert.deepEqual(await databases(aside.location), [aside.location]);
    const drop = await ws.cli(["preserved", "drop", aside.id, "--json"]);
    assert.equal(drop.code, 0, drop.stderr);
    assert.deepEqual(await databases(aside.location), []);
    assert.equal(await dumpOf("staging"), original, "dropping the copy left the target alone");
    assert.deepEqual((await ws.cli(["preserved", "--json"])).json.preserved, []);

    const again = await ws.cli(["preserved", "drop", aside.id, "--json"]);
    assert.equal(again.code, 5);
    assert.equal(again.json.error.code, "PRESERVED_MISSING");
    const nothing = await ws.cli(["restore", "--undo", target, "--json"]);
    assert.equal(nothing.json.error.code, "PRESERVED_MISSING");
  });

  test("--no-preserve drops the old data only with the target's name confirmed", async () => {
    await cluster.psql("CREATE DATABASE scratchpad");
    await cluster.psql("CREATE TABLE t (id int); INSERT INTO t VALUES (1);", "scratchpad");
    const target = cluster.url("scratchpad");
    const refused = await ws.cli(["restore", "app-db", "--to", target, "--clean", "--no-preserve", "--json"]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.json.error.code, "BAD_ARGUMENT");
    assert.match(refused.json.error.message, /--confirm scratchpad/);
    assert.equal(await cluster.psql("SELECT count(*) FROM t", "scratchpad"), "1", "nothing was touched");
    const wrong = await ws.cli([
      "restore",
      "app-db",
      "--to",
      target,
      "--clean",
      "--no-preserve",
      "--confirm",
      "app",
    ]);
    assert.equal(wrong.code, 2);

    const done = await ws.cli([
      "restore",
      "app-db",
      "--to",
      target,
      "--clean",
      "--no-preserve",
      "--confirm",
      "scratchpad",
      "--json",
    ]);
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(done.json.preserved, []);
    assert.deepEqual(await databases("scratchpad_pre_%"), []);
  });

  test("files: --force keeps the old tree beside the target; undo and drop", async () => {
    const uploads = join(ws.dir, "uploads");
    await mkdir(join(uploads, "img"), { recursive: true });
    await writeFile(join(uploads, "img", "a.png"), "snapshot content");
    assert.equal((await ws.cli(["backup", "uploads"])).code, 0);
    const target = join(ws.dir, "restored-uploads");
    await mkdir(target);
    await writeFile(join(target, "only-here.txt"), "hand-made");

    const restore = await ws.cli(["restore", "uploads", "--to", target, "--force", "--json"]);
    assert.equal(restore.code, 0, restore.stderr);
    const kept = restore.json.preserved[0];
    assert.equal(kept.location, `${target}.pre_restore_${kept.location.split("pre_restore_")[1]}`);
    assert.equal(await readFile(join(kept.location, "only-here.txt"), "utf8"), "hand-made");
    assert.equal(await readFile(join(target, "img", "a.png"), "utf8"), "snapshot content");

    const undo = await ws.cli(["restore", "--undo", target, "--json"]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.deepEqual(await readdir(target), ["only-here.txt"]);
    const aside = undo.json.keptAside;
    assert.equal(await readFile(join(aside.location, "img", "a.png"), "utf8"), "snapshot content");

    const drop = await ws.cli(["preserved", "drop", aside.id, "--json"]);
    assert.equal(drop.code, 0, drop.stderr);
    const left = (await readdir(ws.dir)).filter((name) => name.startsWith("restored-uploads"));
    assert.deepEqual(left, ["restored-uploads"], "only the target is left");
  });

  test("sqlite: the replaced database is kept with its -wal, so no committed row is lost", async () => {
    const path = join(ws.dir, "app.sqlite");
    const source = new DatabaseSync(path);
    source.exec(
      "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('from the snapshot');",
    );
    source.close();
    assert.equal((await ws.cli(["backup", "app-sqlite"])).code, 0);

    const target = join(ws.dir, "live.sqlite");
    const live = new DatabaseSync(target);
    live.exec("PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);");
    live.exec("PRAGMA wal_autocheckpoint=0; INSERT INTO t (v) VALUES ('only in the wal');");
    // Left open: the row lives only in live.sqlite-wal until a checkpoint.
    const restore = await ws.cli(["restore", "app-sqlite", "--to", target, "--force", "--json"]);
    live.close();
    assert.equal(restore.code, 0, restore.stderr);
    const kept = restore.json.preserved[0].location;
    const old = new DatabaseSync(kept, { readOnly: true });
    assert.deepEqual(
      old
        .prepare("SELECT v FROM t")
        .all()
        .map((row) => row.v),
      ["only in the wal"],
    );
    old.close();
    const restored = new DatabaseSync(target, { readOnly: true });
    assert.deepEqual(
      restored
        .prepare("SELECT v FROM t")
        .all()
        .map((row) => row.v),
      ["from the snapshot"],
    );
    restored.close();
  });

  test("preserved drop refuses a copy that is not a kept copy's name (a record edited to point at the target)", async () => {
    const { dropPreservedPath } = await import("../src/engines/preserved-paths.ts");
    const target = join(ws.dir, "guarded");
    await mkdir(target);
    await assert.rejects(
      dropPreservedPath(target, { kind: "path", location: target }),
      /not a copy a restore kept/,
    );
    await assert.rejects(
      dropPreservedPath(target, { kind: "path", location: join(ws.dir, "uploads") }),
      /not a copy a restore kept/,
    );
    assert.deepEqual(await readdir(target), []);
  });
});
