// `lifeboat prune` (and `forget --prune`) through the real CLI with a files
// source: a dry run lists exactly the objects the real run then deletes,
// every kept snapshot restores byte-identical afterwards and check passes;
// a damaged manifest refuses the prune; the grace period keeps young
// objects; a live shared lock (a backup) refuses it with LOCKED (faults 9/10);
// kill -9 midway leaves a sound repository and a second prune finishes (fault 3).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { access, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { acquireLock } from "../src/repository/locks.ts";
import { initRepository, openRepository } from "../src/repository/repository.ts";
import { FsBackend } from "../src/storage/fs.ts";
import { cliPath, workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;
let ws: Workspace;
/** Snapshot id -> the tree it holds (file name -> bytes). */
const trees = new Map<string, Map<string, Buffer>>();

const uploadsYaml = (
  dir: string,
) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  uploads: { engine: files, path: "${dir}/uploads" }
`;

/** Every object under data/ as key -> size. */
async function dataObjects(w: Workspace): Promise<Map<string, number>> {
  const objects = new Map<string, number>();
  const root = join(w.dir, "repo", "data");
  for (const sub of await readdir(root)) {
    for (const name of await readdir(join(root, sub))) {
      if (name.startsWith(".")) continue;
      objects.set(`data/${sub}/${name}`, (await stat(join(root, sub, name))).size);
    }
  }
  return objects;
}
const totalSize = (objects: Map<string, number>) => [...objects.values()].reduce((a, b) => a + b, 0);

async function backup(w: Workspace): Promise<string> {
  const result = await w.cli(["backup", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  return result.json.snapshots[0].id as string;
}

async function backupRecorded(): Promise<string> {
  const id = await backup(ws);
  const tree = new Map<string, Buffer>();
  for (const name of await readdir(join(ws.dir, "uploads")))
    tree.set(name, await readFile(join(ws.dir, "uploads", name)));
  trees.set(id, tree);
  return id;
}

async function listedIds(w: Workspace): Promise<string[]> {
  const list = await w.cli(["snapshots", "--json"]);
  assert.equal(list.code, 0, list.stderr);
  return list.json.snapshots.map((snapshot: { id: string }) => snapshot.id);
}

async function assertSoundAndRestorable(w: Workspace): Promise<void> {
  const check = await w.cli(["check", "--read-data", "--json"]);
  assert.equal(check.code, 0, `${check.stdout}${check.stderr}`);
  assert.deepEqual(check.json.problems, []);
  for (const id of await listedIds(w)) {
    const target = join(w.dir, `restored-${id.slice(0, 12)}-${Date.now()}`);
    const restore = await w.cli(["restore", "uploads", "--snapshot", id, "--to", target, "--json"]);
    assert.equal(restore.code, 0, restore.stderr);
    const tree = trees.get(id);
    if (tree) {
      assert.deepEqual((await readdir(target)).sort(), [...tree.keys()].sort());
      for (const [name, bytes] of tree) assert.ok((await readFile(join(target, name))).equals(bytes), name);
    }
    await rm(target, { recursive: true, force: true });
  }
}

before(async () => {
  ws = await workspace(uploadsYaml);
  await mkdir(join(ws.dir, "uploads"));
  assert.equal((await ws.cli(["init"])).code, 0);
  // Four backups of a changing tree: a file replaced each time, a file only
  // the first two hold, and from the third on a file added each time. Nothing
  // new in backup 2 survives into backups 3 and 4, so once `forget --keep-last
  // 2` drops the first two, backup 2's pack is wholly unreferenced whatever
  // the chunk boundaries and the directory order (which vary from run to run).
  await writeFile(join(ws.dir, "uploads", "stable.bin"), randomBytes(600_000));
  for (let n = 1; n <= 4; n++) {
    await writeFile(join(ws.dir, "uploads", "changing.bin"), randomBytes(700_000));
    if (n <= 2) await writeFile(join(ws.dir, "uploads", "transient.bin"), randomBytes(400_000));
    else {
      await rm(join(ws.dir, "uploads", "transient.bin"), { force: true });
      await writeFile(join(ws.dir, "uploads", `added-${n}.bin`), randomBytes(400_000));
    }
    await backupRecorded();
  }
});
after(() => ws.cleanup());

test("the grace period keeps young objects; a dry run lists exactly what the real prune deletes", async () => {
  const forget = await ws.cli(["forget", "--keep-last", "2", "--json"]);
  assert.equal(forget.code, 0, forget.stderr);
  assert.equal(forget.json.removed.length, 2);
  const before = await dataObjects(ws);

  // Default grace (1h): everything was written seconds ago, so nothing goes.
  const young = await ws.cli(["prune", "--json"]);
  assert.equal(young.code, 0, young.stderr);
  assert.equal(young.json.deletedObjects, 0);
  assert.ok(young.json.kept.young > 0, JSON.stringify(young.json));
  assert.deepEqual(await dataObjects(ws), before);

  const dry = await ws.cli(["prune", "--dry-run", "--grace", "0s", "--json"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(dry.json.dryRun, true);
  assert.ok(dry.json.removeObjects > 0);
  assert.deepEqual(await dataObjects(ws), before, "a dry run deletes nothing");

  const real = await ws.cli(["prune", "--grace", "0s", "--json"]);
  assert.equal(real.code, 0, real.stderr);
  assert.deepEqual(real.json.remove, dry.json.remove);
  assert.deepEqual(real.json.repack, dry.json.repack);
  // Deleted: the removed objects and the repacked packs, whose kept chunks went into new packs.
  const repacked = dry.json.repack as { key: string; size: number }[];
  assert.equal(real.json.deletedObjects, dry.json.removeObjects + repacked.length);
  const repackedBytes = repacked.reduce((sum, pack) => sum + pack.size, 0);
  assert.equal(real.json.deletedBytes, dry.json.removeBytes + repackedBytes);
  const after = await dataObjects(ws);
  const gone = new Set([...(dry.json.remove as { key: string }[]), ...repacked].map(({ key }) => key));
  for (const key of gone) assert.ok(!after.has(key), `${key} was deleted`);
  const added = [...after.keys()].filter((key) => !before.has(key));
  assert.equal(added.length, real.json.packsWritten, "the only new objects are the repacked packs");
  for (const key of before.keys()) if (!gone.has(key)) assert.equal(after.get(key), before.get(key), key);
  assert.ok(totalSize(after) < totalSize(before));

  await assertSoundAndRestorable(ws);
  const check = await ws.cli(["check", "--json"]);
  assert.equal(check.json.unreferenced, 0);
});

test("a damaged manifest refuses the prune and deletes nothing", async () => {
  await writeFile(join(ws.dir, "uploads", "changing.bin"), randomBytes(500_000));
  await backupRecorded();
  assert.equal((await ws.cli(["forget", "--keep-last", "2"])).code, 0); // leaves unreferenced data
  const manifest = join(ws.dir, "repo", "snapshots", (await listedIds(ws))[0]!);
  const original = await readFile(manifest);
  const damaged = Buffer.from(original);
  damaged[damaged.length - 5]! ^= 0xff;
  await writeFile(manifest, damaged);
  await ws.dropCache(); // a host with a cached copy prunes safely from it; one without must refuse
  try {
    const before = await dataObjects(ws);
    const refused = await ws.cli(["prune", "--grace", "0s", "--json"]);
    assert.equal(refused.code, 4, refused.stdout);
    assert.equal(refused.json.error.code, "PRUNE_DAMAGED_MANIFEST");
    assert.match(refused.json.error.hint, /lifeboat check/);
    assert.match(refused.json.error.hint, /lifeboat forget/);
    assert.deepEqual(await dataObjects(ws), before);
  } finally {
    await writeFile(manifest, original);
  }
});

test("a live shared lock (a backup in progress) refuses the prune with LOCKED and deletes nothing", async () => {
  const before = await dataObjects(ws);
  const lock = await acquireLock(new FsBackend(join(ws.dir, "repo")), "shared", "backup (test)");
  try {
    const refused = await ws.cli(["prune", "--grace", "0s", "--json"]);
    assert.equal(refused.code, 11, refused.stderr);
    assert.equal(refused.json.error.code, "LOCKED");
    const forgetPrune = await ws.cli(["forget", "--keep-last", "1", "--prune", "--grace", "0s", "--json"]);
    assert.equal(forgetPrune.code, 11, forgetPrune.stderr);
    assert.deepEqual(await dataObjects(ws), before);
  } finally {
    await lock.release();
  }
});

test("the repository deletes nothing for prune but a chunk key under data/", async () => {
  const repository = await openRepository(new FsBackend(join(ws.dir, "repo")), ws.password);
  try {
    const snapshot = `snapshots/${(await listedIds(ws))[0]}`;
    const hex = "ab".repeat(32);
    for (const key of [
      snapshot,
      "config",
      `keys/${hex}`,
      `data/ab/../../config`,
      `data/cd/${hex}`,
      "data/ab",
    ]) {
      await assert.rejects(
        repository.applyPrune({ remove: [{ key, size: 1 }], repack: [] }),
        { code: "BAD_ARGUMENT" },
        key,
      );
      await assert.rejects(
        repository.applyPrune({ remove: [], repack: [{ key, size: 1, keep: [] }] }),
        { code: "BAD_ARGUMENT" },
        key,
      );
    }
    await access(join(ws.dir, "repo", snapshot));
    await access(join(ws.dir, "repo", "config"));
  } finally {
    await repository.close();
  }
});

test("forget --prune removes the manifests and the chunks only they referenced", async () => {
  const ids = await listedIds(ws);
  assert.equal(ids.length, 2);
  const dry = await ws.cli(["forget", "--keep-last", "1", "--dry-run", "--prune", "--grace", "0s", "--json"]);
  assert.equal(dry.code, 0, dry.stderr);
  // The forgotten snapshot's new chunks sit in a pack that may also hold chunks the kept one
  // shares (chunk boundaries and directory order vary): it is removed or repacked.
  const pruned = dry.json.prune.removeObjects + dry.json.prune.repack.length;
  assert.ok(pruned > 0, "the dry run shows the prune after its forget");
  const real = await ws.cli(["forget", "--keep-last", "1", "--prune", "--grace", "0s", "--json"]);
  assert.equal(real.code, 0, real.stderr);
  assert.deepEqual(real.json.removed, [ids[0]]);
  assert.deepEqual(real.json.prune.remove, dry.json.prune.remove);
  assert.deepEqual(real.json.prune.repack, dry.json.prune.repack);
  assert.deepEqual(await listedIds(ws), [ids[1]]);
  const check = await ws.cli(["check", "--json"]);
  assert.equal(check.json.unreferenced, 0);
  await assertSoundAndRestorable(ws);
});

// Format 1 here: thousands of chunk objects give the kill a wide window. Format 2's
// crash points are covered one by one in src/repository/prune-crash.test.ts.
test("kill -9 of a prune midway leaves a sound repository; a second prune finishes the job", async () => {
  const big = await workspace(uploadsYaml);
  try {
    await mkdir(join(big.dir, "uploads"));
    // Small chunks: thousands of objects, so the kill lands while prune is deleting.
    const sizes = { min: 2048, avg: 4096, max: 16384 };
    const repository = await initRepository(new FsBackend(join(big.dir, "repo")), {
      password: big.password,
      chunker: sizes,
      format: 1,
    });
    await repository.close();
    await writeFile(join(big.dir, "uploads", "a.bin"), randomBytes(12 * 1024 * 1024));
    await backup(big);
    await writeFile(join(big.dir, "uploads", "a.bin"), randomBytes(12 * 1024 * 1024));
    await backup(big);
    assert.equal((await big.cli(["forget", "--keep-last", "1"])).code, 0);
    const dry = await big.cli(["prune", "--dry-run", "--grace", "0s", "--json"]);
    const planned = dry.json.remove.map(({ key }: { key: string }) => key) as string[];
    assert.ok(planned.length > 1000, `${planned.length} objects to delete`);

    const child = spawn(process.execPath, [cliPath, "-c", big.configFile, "prune", "--grace", "0s"], {
      env: { ...process.env, ...big.env },
      stdio: "ignore",
    });
    const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
    // Deletion goes in key order: kill as soon as the first planned object is gone.
    const first = join(big.dir, "repo", planned[0]!);
    for (;;) {
      const gone = await access(first).then(
        () => false,
        () => true,
      );
      if (gone || child.exitCode !== null) break;
    }
    child.kill("SIGKILL");
    await exited;
    const left = await dataObjects(big);
    const remaining = planned.filter((key) => left.has(key)).length;
    assert.ok(
      remaining > 0 && remaining < planned.length,
      `killed midway: ${remaining} of ${planned.length} left`,
    );

    await assertSoundAndRestorable(big);
    const second = await big.cli(["prune", "--grace", "0s", "--json"]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.json.deletedObjects, remaining);
    const check = await big.cli(["check", "--json"]);
    assert.equal(check.json.unreferenced, 0);
  } finally {
    await big.cleanup();
  }
});
