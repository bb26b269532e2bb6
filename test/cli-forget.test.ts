// `lifeboat forget` through the real CLI with SQLite and file-tree sources:
// a dry run lists exactly what the real run then removes (ARCHITECTURE.md
// fault 9), per-source policy versus the default versus flags, a kept
// snapshot still restores, and a live lock of another process refuses the
// real run with LOCKED (exit 11) while a dry run goes ahead beside it.

import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, test } from "node:test";
import { acquireLock } from "../src/repository/locks.ts";
import { FsBackend } from "../src/storage/fs.ts";
import { runCli, workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;
interface Listed {
  id: string;
  source: string;
}
interface Planned {
  source: string;
  policyFrom: string;
  keep: { id: string; reasons: { rule: string }[] }[];
  remove: { id: string }[];
}

let ws: Workspace;
/** Snapshot ids per source, oldest first, as the four backups made them. */
const made: Record<string, string[]> = { "app-sqlite": [], uploads: [] };

const listed = async (): Promise<Listed[]> => (await ws.cli(["snapshots", "--json"])).json.snapshots;
const bySource = (sources: Planned[], name: string) => sources.find((planned) => planned.source === name)!;

/** Another lifeboat.yaml on the same repository. */
async function cliWith(yaml: string, args: readonly string[]) {
  const file = join(ws.dir, `other-${Math.random().toString(16).slice(2)}.yaml`);
  await writeFile(
    file,
    `repository: { url: "file://${ws.dir}/repo", password_env: LIFEBOAT_PASSWORD }\n${yaml}`,
  );
  return runCli(["-c", file, ...args], { env: { LIFEBOAT_PASSWORD: ws.password } });
}

before(async () => {
  ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
retention: { keep_last: 2 }
sources:
  app-sqlite: { engine: sqlite, path: "${dir}/app.db" }
  uploads: { engine: files, path: "${dir}/uploads", retention: { keep_last: 1 } }
`,
  );
  await mkdir(join(ws.dir, "uploads"));
  const db = new DatabaseSync(join(ws.dir, "app.db"));
  db.exec("CREATE TABLE bookings (id INTEGER PRIMARY KEY, note TEXT)");
  assert.equal((await ws.cli(["init"])).code, 0);
  // Backup n holds n bookings and n files: each snapshot is told apart by its content.
  for (let n = 1; n <= 4; n++) {
    db.prepare("INSERT INTO bookings (note) VALUES (?)").run(`booking ${n}`);
    await writeFile(join(ws.dir, "uploads", `f${n}.txt`), `file ${n}\n`);
    const backup = await ws.cli(["backup", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    for (const snapshot of backup.json.snapshots as Listed[]) made[snapshot.source]!.push(snapshot.id);
  }
  db.close();
});
after(() => ws.cleanup());

test("flags replace the default and the source's own policy; a dry run removes nothing", async () => {
  const dry = await ws.cli(["forget", "--dry-run", "--json", "--keep-last", "3"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(dry.json.dryRun, true);
  for (const name of ["app-sqlite", "uploads"]) {
    const planned = bySource(dry.json.sources, name);
    assert.equal(planned.policyFrom, "flags");
    assert.deepEqual(
      planned.remove.map(({ id }) => id),
      made[name]!.slice(0, 1),
    );
  }
  assert.deepEqual(dry.json.removed.sort(), [made["app-sqlite"]![0], made.uploads![0]].sort());
  assert.equal((await listed()).length, 8);
});

test("--grace without --prune, a bad count and a bad duration are refused before anything is touched", async () => {
  for (const args of [
    ["--grace", "0s"],
    ["--prune", "--grace", "soon"],
    ["--keep-last", "0"],
    ["--keep-daily", "two"],
    ["--keep-within", "1y"],
  ]) {
    const refused = await ws.cli(["forget", "--json", ...args]);
    assert.equal(refused.code, 2, `${args.join(" ")}: ${refused.stdout}`);
    assert.equal(refused.json.error.code, "BAD_ARGUMENT");
  }
  assert.equal((await listed()).length, 8);
});

test("no policy anywhere is refused; a named source without one is refused; others are skipped", async () => {
  const none = await cliWith("sources:\n  uploads: { engine: files, path: /nonexistent }\n", [
    "forget",
    "--json",
  ]);
  assert.equal(none.code, 2, none.stderr);
  assert.equal(none.json.error.code, "NO_RETENTION_POLICY");

  const partly = `sources:
  app-sqlite: { engine: sqlite, path: /nonexistent.db, retention: { keep_last: 10 } }
  uploads: { engine: files, path: /nonexistent }
`;
  const named = await cliWith(partly, ["forget", "uploads", "--json"]);
  assert.equal(named.code, 2);
  assert.equal(named.json.error.code, "NO_RETENTION_POLICY");
  assert.match(named.json.error.message, /uploads/);
  const all = await cliWith(partly, ["forget", "--dry-run", "--json"]);
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(all.json.skipped, [{ source: "uploads", snapshots: 4, reason: "no retention policy" }]);
  assert.equal(bySource(all.json.sources, "app-sqlite").policyFrom, "source");
  assert.deepEqual(all.json.removed, []);
});

test("a live shared lock of another process refuses the real run with LOCKED; a dry run goes ahead", async () => {
  const lock = await acquireLock(new FsBackend(join(ws.dir, "repo")), "shared", "restore (test)");
  try {
    const refused = await ws.cli(["forget", "--json"]);
    assert.equal(refused.code, 11, refused.stderr);
    assert.equal(refused.json.error.code, "LOCKED");
    assert.match(refused.json.error.message, /restore \(test\)/);
    const dry = await ws.cli(["forget", "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
  } finally {
    await lock.release();
  }
  assert.equal((await listed()).length, 8, "nothing was removed under the lock");
});

test("the real run removes exactly what the dry run listed, per the default and the source's own policy", async () => {
  const dry = await ws.cli(["forget", "--dry-run", "--json"]);
  assert.equal(dry.code, 0, dry.stderr);
  const sqlite = bySource(dry.json.sources, "app-sqlite");
  const uploads = bySource(dry.json.sources, "uploads");
  assert.equal(sqlite.policyFrom, "default");
  assert.equal(uploads.policyFrom, "source");
  assert.deepEqual(
    sqlite.keep.map(({ id }) => id),
    made["app-sqlite"]!.slice(2),
  );
  assert.deepEqual(
    uploads.keep.map(({ id }) => id),
    made.uploads!.slice(3),
  );
  assert.deepEqual(uploads.keep[0]?.reasons, [{ rule: "last", detail: "1 of 1" }]);
  const expectedRemoved = [...made["app-sqlite"]!.slice(0, 2), ...made.uploads!.slice(0, 3)];
  assert.deepEqual([...dry.json.removed].sort(), [...expectedRemoved].sort());

  const text = await ws.cli(["forget", "--dry-run"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /app-sqlite \(the default retention: --keep-last 2\): keep 2, would remove 2/);
  assert.match(text.stdout, /dry run: a real run removes 5 snapshot\(s\); nothing was removed/);

  const real = await ws.cli(["forget", "--json"]);
  assert.equal(real.code, 0, real.stderr);
  assert.equal(real.json.dryRun, false);
  assert.deepEqual([...real.json.removed].sort(), [...dry.json.removed].sort());

  const left = await listed();
  assert.deepEqual(
    left.map(({ id }) => id).sort(),
    [...made["app-sqlite"]!.slice(2), ...made.uploads!.slice(3)].sort(),
  );
  const again = await ws.cli(["forget", "--json"]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(again.json.removed, [], "forget again removes nothing more");

  // A kept snapshot still restores, with its own content; a forgotten one is gone.
  const target = join(ws.dir, "restored.db");
  const restore = await ws.cli([
    "restore",
    "app-sqlite",
    "--snapshot",
    made["app-sqlite"]![2]!,
    "--to",
    target,
  ]);
  assert.equal(restore.code, 0, restore.stderr);
  const restored = new DatabaseSync(target);
  assert.deepEqual({ ...restored.prepare("SELECT count(*) AS n FROM bookings").get() }, { n: 3 });
  restored.close();
  const gone = await ws.cli([
    "restore",
    "app-sqlite",
    "--snapshot",
    made["app-sqlite"]![0]!,
    "--to",
    target + "2",
    "--json",
  ]);
  assert.equal(gone.json.error.code, "SNAPSHOT_NOT_FOUND");
  const check = await ws.cli(["check", "--json"]);
  assert.equal(check.code, 0, check.stdout);
});
