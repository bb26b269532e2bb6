// `lifeboat migrate` and `lifeboat repair index` through the real CLI: a
// format 1 repository with two backups becomes format 2 with the same
// snapshot ids, restores byte-identical and checks clean; a second migrate
// has nothing to do; with its index objects deleted, restore and prune fail
// naming the cause, and `repair index` brings it back.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { initRepository } from "../src/repository/repository.ts";
import { FsBackend } from "../src/storage/fs.ts";
import { workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;
let ws: Workspace;
const files = new Map<string, Buffer>();

const yaml = (dir: string) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  uploads: { engine: files, path: "${dir}/uploads" }
`;

async function ids(): Promise<string[]> {
  const list = await ws.cli(["snapshots", "--json"]);
  assert.equal(list.code, 0, list.stderr);
  return (list.json.snapshots as { id: string }[]).map((snapshot) => snapshot.id);
}

async function restoresIdentically(): Promise<void> {
  const target = join(ws.dir, `restored-${randomBytes(4).toString("hex")}`);
  const result = await ws.cli(["restore", "uploads", "--to", target, "--json"]);
  assert.equal(result.code, 0, result.stderr);
  for (const [name, bytes] of files) assert.deepEqual(await readFile(join(target, name)), bytes, name);
  await rm(target, { recursive: true, force: true });
}

before(async () => {
  ws = await workspace(yaml);
  await mkdir(join(ws.dir, "uploads"));
  const repository = await initRepository(new FsBackend(join(ws.dir, "repo")), {
    password: ws.password,
    format: 1,
  });
  await repository.close();
  for (const round of [1, 2]) {
    const name = `file-${round}.bin`;
    files.set(name, randomBytes(3 * 1024 * 1024));
    await writeFile(join(ws.dir, "uploads", name), files.get(name)!);
    const backup = await ws.cli(["backup", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
  }
});

after(async () => {
  await ws?.cleanup();
});

test("migrate: --dry-run changes nothing; the real run keeps every snapshot id, restores and checks clean", async () => {
  const before = await ids();
  const objects = await readdir(join(ws.dir, "repo", "data"), { recursive: true });
  const dry = await ws.cli(["migrate", "--dry-run", "--json"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(dry.json.from, 1);
  assert.ok(dry.json.chunks >= 5, JSON.stringify(dry.json));
  assert.deepEqual(await readdir(join(ws.dir, "repo", "data"), { recursive: true }), objects);

  const real = await ws.cli(["migrate", "--json"]);
  assert.equal(real.code, 0, real.stderr);
  assert.deepEqual(
    [real.json.from, real.json.to, real.json.chunks, real.json.deleted],
    [1, 2, dry.json.chunks, dry.json.chunks],
  );
  const config = JSON.parse(await readFile(join(ws.dir, "repo", "config"), "utf8"));
  assert.equal(config.version, 2);
  assert.deepEqual(await ids(), before);
  await restoresIdentically();
  const check = await ws.cli(["check", "--read-data", "--json"]);
  assert.equal(check.code, 0, check.stderr);
  assert.deepEqual(check.json.problems, []);
  assert.ok(!check.stderr.includes("differs"), check.stderr);

  const again = await ws.cli(["migrate", "--json"]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual([again.json.from, again.json.chunks], [2, 0]);
  assert.match((await ws.cli(["migrate"])).stdout, /already format 2/);
});

test("repair index: a lost index makes restore and prune fail naming the cause; repair brings it back", async () => {
  const indexDir = join(ws.dir, "repo", "index");
  for (const name of await readdir(indexDir)) await rm(join(indexDir, name));
  // The cache would still serve the index this host read: another host (or a new machine) has none.
  await rm(join(ws.dir, "cache"), { recursive: true, force: true });

  const target = join(ws.dir, "restore-without-index");
  const restore = await ws.cli(["restore", "uploads", "--to", target, "--json"]);
  assert.equal(restore.code, 4, restore.stderr);
  assert.equal(restore.json.error.code, "OBJECT_MISSING");
  assert.match(restore.stderr, /repair index/);
  const prune = await ws.cli(["prune", "--grace", "0s", "--json"]);
  assert.equal(prune.code, 4, prune.stderr);
  assert.equal(prune.json.error.code, "PRUNE_INDEX_DAMAGED");

  const repair = await ws.cli(["repair", "index", "--json"]);
  assert.equal(repair.code, 0, repair.stderr);
  assert.ok(repair.json.packs >= 1);
  assert.deepEqual(repair.json.unreadable, []);
  await restoresIdentically();
  const check = await ws.cli(["check", "--read-data", "--json"]);
  assert.equal(check.code, 0, check.stderr);
});
