// `ls`, `diff` and partial restores through the real CLI: the JSON documents
// of docs/cli-json.md, the exit codes, and the refusals a user meets first
// (flags for a kind of part the engine does not restore, `latest` without a
// source, two snapshots of different sources).

import assert from "node:assert/strict";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, test } from "node:test";
import { workspace } from "./support/cli.ts";

let ws: Awaited<ReturnType<typeof workspace>>;
let first: string;
let second: string;
let sqliteSnapshot: string;

before(async () => {
  ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  uploads: { engine: files, path: "${dir}/uploads" }
  app-sqlite: { engine: sqlite, path: "${dir}/app.db" }
`,
  );
  await mkdir(join(ws.dir, "uploads", "img", "2024"), { recursive: true });
  await writeFile(join(ws.dir, "uploads", "img", "2024", "a.png"), "png-a");
  await writeFile(join(ws.dir, "uploads", "img", "2024", "b.png"), "png-b");
  await writeFile(join(ws.dir, "uploads", "readme.txt"), "hello\n");
  const db = new DatabaseSync(join(ws.dir, "app.db"));
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('x'), ('y');");
  db.close();
  assert.equal((await ws.cli(["init"])).code, 0);
  const backup = await ws.cli(["backup", "--json"]);
  assert.equal(backup.code, 0, backup.stderr);
  first = backup.json.snapshots.find((s: { source: string }) => s.source === "uploads").id;
  sqliteSnapshot = backup.json.snapshots.find((s: { source: string }) => s.source === "app-sqlite").id;
  await writeFile(join(ws.dir, "uploads", "img", "2024", "a.png"), "png-a, edited");
  await rm(join(ws.dir, "uploads", "readme.txt"));
  const again = await ws.cli(["backup", "uploads", "--json"]);
  assert.equal(again.code, 0, again.stderr);
  second = again.json.snapshots[0].id;
});
after(() => ws.cleanup());

test("ls lists a tree under a path, --long in text, everything in JSON", async () => {
  const listed = await ws.cli(["ls", first.slice(0, 8), "img", "--json"]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(listed.json.kind, "tree");
  assert.deepEqual(
    listed.json.entries.map((e: { path: string; type: string; size: number }) => [e.path, e.type, e.size]),
    [
      ["img", "dir", 0],
      ["img/2024", "dir", 0],
      ["img/2024/a.png", "file", 5],
      ["img/2024/b.png", "file", 5],
    ],
  );
  const long = await ws.cli(["ls", "latest", "--source", "uploads", "--long"]);
  assert.equal(long.code, 0, long.stderr);
  assert.match(long.stdout, /^-rw-r--r--\s+\d+\s+\d+\s+13\s+\S+\s+img\/2024\/a\.png$/m);
  assert.doesNotMatch(long.stdout, /readme\.txt/);
});

test("ls of a database snapshot lists its tables with their row counts", async () => {
  const listed = await ws.cli(["ls", sqliteSnapshot, "--json"]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(listed.json.kind, "objects");
  const table = listed.json.objects.find((o: { name: string }) => o.name === "t");
  assert.equal(table.type, "table");
  assert.equal(table.rows, 2);
});

test("latest needs --source; an unknown snapshot is SNAPSHOT_NOT_FOUND", async () => {
  const latest = await ws.cli(["ls", "latest", "--json"]);
  assert.equal(latest.code, 2, latest.stderr);
  assert.equal(latest.json.error.code, "BAD_ARGUMENT");
  const missing = await ws.cli(["ls", "deadbeef", "--json"]);
  assert.notEqual(missing.code, 0);
  assert.equal(missing.json.error.code, "SNAPSHOT_NOT_FOUND");
});

test("diff names exactly what changed, from the first snapshot to the second", async () => {
  const diff = await ws.cli(["diff", first, second, "--json"]);
  assert.equal(diff.code, 0, diff.stderr);
  const files = diff.json.tree.filter((c: { type: string }) => c.type === "file");
  assert.deepEqual(
    files.map((c: { change: string; path: string }) => [c.change, c.path]),
    [
      ["changed", "img/2024/a.png"],
      ["removed", "readme.txt"],
    ],
  );
  assert.deepEqual(diff.json.summary.bytesAdded, 8);
  const text = await ws.cli(["diff", first, second]);
  assert.match(text.stdout, /^M img\/2024\/a\.png \(content, size/m);
  assert.match(text.stdout, /^- readme\.txt/m);
  const mixed = await ws.cli(["diff", first, sqliteSnapshot, "--json"]);
  assert.equal(mixed.code, 2);
  assert.match(mixed.json.error.message, /one source/);
});

test("restore --include takes back one file and says so", async () => {
  const target = join(ws.dir, "one");
  const restored = await ws.cli([
    "restore",
    "uploads",
    "--snapshot",
    first,
    "--to",
    target,
    "--include",
    "img/*/b.png",
    "--json",
  ]);
  assert.equal(restored.code, 0, restored.stderr);
  assert.equal(restored.json.verified, true);
  assert.deepEqual(restored.json.partial, { entries: 3, bytes: 5 });
  assert.deepEqual(await readdir(join(target, "img", "2024")), ["b.png"]);
  assert.equal(await readFile(join(target, "img", "2024", "b.png"), "utf8"), "png-b");
});

test("flags for a part the engine cannot restore are refused before anything runs", async () => {
  const table = await ws.cli(["restore", "uploads", "--to", join(ws.dir, "x"), "--table", "t", "--json"]);
  assert.equal(table.code, 2);
  assert.match(table.json.error.message, /--table\/--schema.*files engine cannot restore tables.*--include/);
  const include = await ws.cli([
    "restore",
    "app-sqlite",
    "--to",
    join(ws.dir, "x.db"),
    "--include",
    "a",
    "--json",
  ]);
  assert.equal(include.code, 2);
  assert.match(include.json.error.message, /--include\/--exclude.*sqlite engine cannot restore paths/);
  const alone = await ws.cli([
    "restore",
    "uploads",
    "--to",
    join(ws.dir, "x"),
    "--no-foreign-keys",
    "--json",
  ]);
  assert.equal(alone.code, 2);
  assert.match(alone.json.error.message, /--no-foreign-keys goes with --table/);
  await assert.rejects(readdir(join(ws.dir, "x")), /ENOENT/);
});

test("restore --table takes back one SQLite table, verified, and --dry-run only says what it would do", async () => {
  const target = join(ws.dir, "only-t.db");
  const dry = await ws.cli(["restore", "app-sqlite", "--to", target, "--table", "t", "--dry-run", "--json"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.ok(
    dry.json.plan.steps.some((step: string) => step.startsWith("restore only tables t, with what they need")),
    dry.json.plan.steps.join("\n"),
  );
  await assert.rejects(readFile(target), /ENOENT/);

  const restored = await ws.cli(["restore", "app-sqlite", "--to", target, "--table", "t", "--json"]);
  assert.equal(restored.code, 0, restored.stderr);
  assert.equal(restored.json.verified, true);
  assert.deepEqual(restored.json.partial.tables, ["t"]);
  const db = new DatabaseSync(target, { readOnly: true });
  try {
    assert.deepEqual(
      db
        .prepare("SELECT id, v FROM t ORDER BY id")
        .all()
        .map((row) => ({ ...row })),
      [
        { id: 1, v: "x" },
        { id: 2, v: "y" },
      ],
    );
  } finally {
    db.close();
  }
  const unknown = await ws.cli([
    "restore",
    "app-sqlite",
    "--to",
    join(ws.dir, "u.db"),
    "--table",
    "nope",
    "--json",
  ]);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.json.error.code, "BAD_ARGUMENT");
  assert.match(unknown.json.error.message, /no table nope; its tables: t/);
});
