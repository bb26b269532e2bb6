// `lifeboat copy` end to end through the real CLI: a files and a sqlite
// source backed up into repository A, copied into repository B (its own
// config and password). B must restore on its own, a copy is never made
// twice, damage in A fails the copy naming the object with nothing committed
// in B, and --dry-run plans exactly what a real run copies.

import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, test } from "node:test";
import { acquireLock } from "../src/repository/locks.ts";
import { FsBackend } from "../src/storage/fs.ts";
import { workspace } from "./support/cli.ts";
import { s3Environment, startS3Server } from "./support/s3-server.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;

const configA = (dir: string) => `repository:
  url: file://${dir}/repo-a
  password_env: LIFEBOAT_PASSWORD
sources:
  app-sqlite: { engine: sqlite, path: ${dir}/app.db }
  uploads: { engine: files, path: ${dir}/uploads }
`;

// The offsite config: another repository, another password variable, the same sources.
const configB = (dir: string) =>
  configA(dir).replace("repo-a", "repo-b").replace("LIFEBOAT_PASSWORD", "LIFEBOAT_PASSWORD_B");

const passwordB = "a different offsite password";

async function filesUnder(dir: string): Promise<Map<string, Buffer>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = new Map<string, Buffer>();
  for (const entry of entries.filter((entry) => entry.isFile()).map((e) => join(e.parentPath, e.name))) {
    files.set(relative(dir, entry), await readFile(entry));
  }
  return files;
}

function rowsOf(path: string): unknown[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare("SELECT id, note FROM bookings ORDER BY id").all();
  } finally {
    db.close();
  }
}

const captureOf = (snapshot: { source: string; consistentAt: string; fingerprint: unknown }) =>
  JSON.stringify([snapshot.source, snapshot.consistentAt, snapshot.fingerprint]);

describe("lifeboat copy", () => {
  let ws: Workspace;
  let bConfig: string;
  const a = (args: readonly string[]) => ws.cli(args, { LIFEBOAT_PASSWORD_B: passwordB });
  const b = (args: readonly string[], env: Record<string, string> = {}) =>
    ws.cli(["-c", bConfig, ...args], { LIFEBOAT_PASSWORD: "", LIFEBOAT_PASSWORD_B: passwordB, ...env });
  const copy = (args: readonly string[] = [], env: Record<string, string> = {}) =>
    ws.cli(["copy", "--to-config", bConfig, "--json", ...args], { LIFEBOAT_PASSWORD_B: passwordB, ...env });
  const listB = async () => {
    const list = await b(["snapshots", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    return list.json.snapshots as {
      id: string;
      source: string;
      consistentAt: string;
      fingerprint: unknown;
    }[];
  };

  before(async () => {
    ws = await workspace(configA);
    bConfig = join(ws.dir, "offsite.yaml");
    await writeFile(bConfig, configB(ws.dir));
    const db = new DatabaseSync(join(ws.dir, "app.db"));
    db.exec("CREATE TABLE bookings (id INTEGER PRIMARY KEY, note TEXT)");
    const insert = db.prepare("INSERT INTO bookings (note) VALUES (?)");
    for (let i = 0; i < 500; i++) insert.run(`booking ${i} ✓`);
    db.close();
    await mkdir(join(ws.dir, "uploads", "nested"), { recursive: true });
    const random = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
    await writeFile(join(ws.dir, "uploads", "big.bin"), random);
    await writeFile(join(ws.dir, "uploads", "nested", "note.txt"), "hello\n");
    for (const args of [["init"], ["backup"], ["backup"]]) {
      const result = await a([...args, "--json"]);
      assert.equal(result.code, 0, result.stderr);
    }
    const init = await b(["init", "--json"]);
    assert.equal(init.code, 0, init.stderr);
  });
  after(async () => {
    await ws.cleanup();
  });

  test("--dry-run plans exactly what the real copy copies; B then lists the same snapshots", async () => {
    const dry = await copy(["--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.json.dryRun, true);
    assert.equal(dry.json.copy.length, 4);
    assert.deepEqual(dry.json.copied, []);
    assert.deepEqual(await listB(), [], "a dry run copies nothing");

    const real = await copy();
    assert.equal(real.code, 0, real.stderr);
    assert.deepEqual(
      real.json.copied.map((copied: { from: string }) => copied.from),
      dry.json.copy.map((planned: { id: string }) => planned.id),
    );
    const listA = await a(["snapshots", "--json"]);
    const inB = await listB();
    assert.deepEqual(inB.map(captureOf), listA.json.snapshots.map(captureOf));
    // Another repository's MAC key names the chunks: the copy's manifest id differs.
    assert.ok(
      inB.every((snapshot) => !listA.json.snapshots.some((s: { id: string }) => s.id === snapshot.id)),
    );
    assert.deepEqual(await readdir(join(ws.dir, "repo-b", "locks")), [], "the destination lock is released");
  });

  test("B restores on its own: byte-identical files, the same rows", async () => {
    // Repository A out of reach: the restore can only use B.
    await rename(join(ws.dir, "repo-a"), join(ws.dir, "repo-a-away"));
    try {
      const files = join(ws.dir, "restored-uploads");
      const restoreFiles = await b(["restore", "uploads", "--to", files, "--json"]);
      assert.equal(restoreFiles.code, 0, restoreFiles.stderr);
      assert.deepEqual(await filesUnder(files), await filesUnder(join(ws.dir, "uploads")));
      const db = join(ws.dir, "restored.db");
      const restoreDb = await b(["restore", "app-sqlite", "--to", db, "--json"]);
      assert.equal(restoreDb.code, 0, restoreDb.stderr);
      assert.deepEqual(rowsOf(db), rowsOf(join(ws.dir, "app.db")));
      assert.equal(rowsOf(db).length, 500);
    } finally {
      await rename(join(ws.dir, "repo-a-away"), join(ws.dir, "repo-a"));
    }
  });

  test("a second copy copies nothing; after one new backup it copies exactly that one", async () => {
    const again = await copy();
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(again.json.copied, []);
    assert.equal(again.json.present.length, 4);
    const text = await ws.cli(["copy", "--to-config", bConfig], { LIFEBOAT_PASSWORD_B: passwordB });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /copied 0 snapshot\(s\); 4 already in the destination/);

    const backup = await a(["backup", "app-sqlite", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    const one = await copy();
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(
      one.json.copied.map((copied: { from: string }) => copied.from),
      [backup.json.snapshots[0].id],
    );
    assert.equal((await listB()).length, 5);
  });

  test("a damaged chunk in A fails the copy naming the object; B gets nothing for that snapshot", async () => {
    const dataDir = join(ws.dir, "repo-a", "data");
    const before = new Set((await filesUnder(dataDir)).keys());
    await writeFile(join(ws.dir, "uploads", "fresh.bin"), Buffer.alloc(300_000, 7));
    const backup = await a(["backup", "uploads", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    const fresh = [...(await filesUnder(dataDir)).keys()].filter((key) => !before.has(key));
    assert.ok(fresh.length > 0, "the new backup wrote new chunks");
    const file = join(dataDir, fresh[0]!);
    const original = await readFile(file);
    const damaged = Buffer.from(original);
    damaged[Math.floor(damaged.length / 2)]! ^= 0x01;
    await writeFile(file, damaged);
    try {
      const failed = await copy();
      assert.equal(failed.code, 4, failed.stderr);
      assert.equal(failed.json.failures.length, 1);
      assert.equal(failed.json.failures[0].from, backup.json.snapshots[0].id);
      assert.equal(failed.json.failures[0].error.code, "CHECKSUM_MISMATCH");
      assert.ok(failed.json.failures[0].error.message.includes(`data/${fresh[0]}`), failed.stdout);
      assert.equal((await listB()).length, 5, "nothing committed in B");
    } finally {
      await writeFile(file, original);
    }
    const repaired = await copy();
    assert.equal(repaired.code, 0, repaired.stderr);
    assert.equal(repaired.json.copied.length, 1);
  });

  test("a locked destination is waited for with --retry-lock, then named", async () => {
    const lock = await acquireLock(new FsBackend(join(ws.dir, "repo-b")), "exclusive", "prune (test)");
    try {
      const result = await copy(["--retry-lock", "1s"]);
      assert.equal(result.code, 11, result.stderr);
      assert.equal(result.json.error.code, "LOCKED");
      assert.match(result.json.error.message, /prune \(test\)/);
      assert.match(result.stderr, /waiting up to/);
    } finally {
      await lock.release();
    }
  });

  test("a wrong password for B is WRONG_PASSWORD (exit 12); an unknown source is refused", async () => {
    const wrong = await copy([], { LIFEBOAT_PASSWORD_B: "not the offsite password" });
    assert.equal(wrong.code, 12, wrong.stderr);
    assert.equal(wrong.json.error.code, "WRONG_PASSWORD");
    assert.ok(!wrong.stdout.includes(passwordB) && !wrong.stderr.includes(passwordB));
    const unknown = await copy(["no-such-source"]);
    assert.equal(unknown.json.error.code, "UNKNOWN_SOURCE");
    assert.notEqual(unknown.code, 0);
  });
  test("a damaged manifest in A is skipped and named, never copied", async () => {
    const snapshotsDir = join(ws.dir, "repo-a", "snapshots");
    const [name] = [...(await filesUnder(snapshotsDir)).keys()];
    const file = join(snapshotsDir, name!);
    const original = await readFile(file);
    const damaged = Buffer.from(original);
    damaged[damaged.length - 5]! ^= 0x80;
    await writeFile(file, damaged);
    try {
      // --no-cache: a verified local copy would serve this host; another host reads the damaged one.
      const dry = await copy(["--dry-run", "--no-cache"]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual(
        dry.json.damaged.map((damage: { object: string }) => damage.object),
        [`snapshots/${name}`],
      );
      assert.deepEqual(dry.json.copy, [], "the damaged one is not planned, the others are present");
      assert.ok(dry.stderr.includes(`snapshots/${name}`), dry.stderr);
    } finally {
      await writeFile(file, original);
    }
  });

  test("copies into an S3 repository, which restores on its own", async () => {
    const server = await startS3Server();
    try {
      const bucket = await server.createBucket("copy");
      const s3Config = join(ws.dir, "s3.yaml");
      await writeFile(
        s3Config,
        configB(ws.dir).replace(
          `url: file://${ws.dir}/repo-b`,
          `url: s3://${bucket}/offsite\n  endpoint: ${server.endpoint}\n  region: us-east-1\n  path_style: true`,
        ),
      );
      const env = { ...s3Environment, LIFEBOAT_PASSWORD_B: passwordB };
      const init = await ws.cli(["-c", s3Config, "init", "--json"], { ...env, LIFEBOAT_PASSWORD: "" });
      assert.equal(init.code, 0, init.stderr);
      const first = await ws.cli(["copy", "--to-config", s3Config, "app-sqlite", "--json"], env);
      assert.equal(first.code, 0, first.stderr);
      const sqliteInA = (await a(["snapshots", "app-sqlite", "--json"])).json.snapshots;
      assert.equal(first.json.copied.length, sqliteInA.length);
      const again = await ws.cli(["copy", "--to-config", s3Config, "app-sqlite", "--json"], env);
      assert.deepEqual(again.json.copied, []);
      const db = join(ws.dir, "restored-from-s3.db");
      const restore = await ws.cli(["-c", s3Config, "restore", "app-sqlite", "--to", db, "--json"], {
        ...env,
        LIFEBOAT_PASSWORD: "",
      });
      assert.equal(restore.code, 0, restore.stderr);
      assert.deepEqual(rowsOf(db), rowsOf(join(ws.dir, "app.db")));
    } finally {
      await server.stop();
    }
  });
});
