// Concurrency (ARCHITECTURE.md fault 10): two backups at once both land and
// the repository stays consistent; a live exclusive lock refuses a backup and
// names its holder; once released, the backup goes through.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { acquireLock } from "../src/repository/locks.ts";
import { FsBackend } from "../src/storage/fs.ts";
import { workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;
let ws: Workspace;

before(async () => {
  ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  uploads: { engine: files, path: "${dir}/uploads" }
  more: { engine: files, path: "${dir}/more" }
`,
  );
  for (const name of ["uploads", "more"]) {
    await mkdir(join(ws.dir, name));
    for (let i = 0; i < 4; i++)
      await writeFile(join(ws.dir, name, `f${i}.bin`), randomBytes(2 * 1024 * 1024));
  }
  assert.equal((await ws.cli(["init"])).code, 0);
});
after(() => ws.cleanup());

test("two backups at the same time both succeed and check passes", async () => {
  const [first, second] = await Promise.all([
    ws.cli(["backup", "uploads", "--json"]),
    ws.cli(["backup", "more", "--json"]),
  ]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(second.code, 0, second.stderr);
  const list = await ws.cli(["snapshots", "--json"]);
  assert.deepEqual(list.json.snapshots.map((s: { source: string }) => s.source).sort(), ["more", "uploads"]);
  const check = await ws.cli(["check", "--read-data", "--json"]);
  assert.equal(check.code, 0, check.stdout);
});

test("a live exclusive lock refuses a backup and names its holder", async () => {
  const lock = await acquireLock(new FsBackend(join(ws.dir, "repo")), "exclusive", "prune (test)");
  try {
    const refused = await ws.cli(["backup", "uploads", "--json"]);
    assert.equal(refused.code, 11, refused.stderr);
    assert.equal(refused.json.error.code, "LOCKED");
    assert.match(refused.json.error.message, new RegExp(`pid ${process.pid}`));
    assert.match(refused.json.error.message, /prune \(test\)/);
  } finally {
    await lock.release();
  }
  const after = await ws.cli(["backup", "uploads", "--json"]);
  assert.equal(after.code, 0, after.stderr);
});
