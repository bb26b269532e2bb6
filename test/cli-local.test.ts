// End to end through the real CLI with SQLite and file-tree sources: the
// happy path, the guards, keys and the repository-level faults from
// ARCHITECTURE.md (flipped byte, truncated/zero-byte/missing object, wrong
// password, bad config, secrets never printed or stored in plaintext).

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, stat, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, test } from "node:test";
import { workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

async function makeSources(dir: string): Promise<void> {
  const db = new DatabaseSync(join(dir, "app.db"));
  db.exec(
    "CREATE TABLE bookings (id INTEGER PRIMARY KEY, note TEXT); CREATE TABLE leads (id INTEGER PRIMARY KEY, email TEXT)",
  );
  const insert = db.prepare("INSERT INTO bookings (note) VALUES (?)");
  for (let i = 0; i < 2000; i++) insert.run(`booking ${i} — ünïcode ✓`);
  db.exec("INSERT INTO leads (email) VALUES ('a@example.test'), ('b@example.test')");
  db.close();
  await mkdir(join(dir, "uploads", "nested", "empty"), { recursive: true });
  const random = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
  await writeFile(join(dir, "uploads", "big.bin"), random);
  await writeFile(join(dir, "uploads", "nested", "日本語.txt"), "こんにちは\n", { mode: 0o600 });
  await symlink("big.bin", join(dir, "uploads", "link-to-big"));
}

const config = (dir: string) => `repository:
  url: file://${dir}/repo
  password_env: LIFEBOAT_PASSWORD
sources:
  app-sqlite: { engine: sqlite, path: ${dir}/app.db }
  uploads: { engine: files, path: ${dir}/uploads }
`;

describe("lifeboat CLI with local sources", () => {
  let ws: Workspace;
  const outputs: string[] = [];
  const run = async (args: readonly string[], env: Record<string, string> = {}) => {
    const result = await ws.cli(args, env);
    outputs.push(result.stdout, result.stderr);
    return result;
  };

  before(async () => {
    ws = await workspace(config);
    await makeSources(ws.dir);
  });
  after(async () => {
    await ws.cleanup();
  });

  test("init, backup and list snapshots", async () => {
    const init = await run(["init", "--json"]);
    assert.equal(init.code, 0, init.stderr);
    assert.equal(init.json.encryption, "aes-256-gcm");
    const again = await run(["init", "--json"]);
    assert.equal(again.code, 3);
    assert.equal(again.json.error.code, "REPOSITORY_EXISTS");

    const backup = await run(["backup", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.deepEqual(backup.json.snapshots.map((s: { source: string }) => s.source).sort(), [
      "app-sqlite",
      "uploads",
    ]);
    const sqlite = backup.json.snapshots.find((s: { source: string }) => s.source === "app-sqlite");
    assert.equal(sqlite.fingerprint.counts["rows:bookings"], 2000);

    const list = await run(["snapshots", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.json.snapshots.length, 2);
  });

  test("an unchanged tree costs nothing on the next backup", async () => {
    const backup = await run(["backup", "uploads", "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal(backup.json.snapshots[0].chunksNew, 0);
    assert.equal(backup.json.snapshots[0].bytesStored, 0);
  });

  test("restore both sources and verify them; dry run changes nothing", async () => {
    const dryTarget = join(ws.dir, "dry.db");
    const dry = await run(["restore", "app-sqlite", "--to", dryTarget, "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.json.dryRun, true);
    assert.equal(existsSync(dryTarget), false);

    const db = await run(["restore", "app-sqlite", "--to", join(ws.dir, "restored.db"), "--json"]);
    assert.equal(db.code, 0, db.stderr);
    assert.equal(db.json.verified, true);
    const restored = new DatabaseSync(join(ws.dir, "restored.db"), { readOnly: true });
    assert.equal(restored.prepare("SELECT count(*) AS n FROM bookings").get()?.n, 2000);
    restored.close();

    const files = await run(["restore", "uploads", "--to", join(ws.dir, "restored-uploads"), "--json"]);
    assert.equal(files.code, 0, files.stderr);
    assert.deepEqual(
      await readFile(join(ws.dir, "restored-uploads", "big.bin")),
      await readFile(join(ws.dir, "uploads", "big.bin")),
    );
    assert.equal((await stat(join(ws.dir, "restored-uploads", "nested", "日本語.txt"))).mode & 0o777, 0o600);
    assert.ok(existsSync(join(ws.dir, "restored-uploads", "nested", "empty")));
  });

  test("guards: a non-empty target and the source itself are refused", async () => {
    const busy = await run(["restore", "uploads", "--to", join(ws.dir, "restored-uploads"), "--json"]);
    assert.equal(busy.code, 5);
    assert.equal(busy.json.error.code, "TARGET_NOT_EMPTY");
    const self = await run(["restore", "uploads", "--to", join(ws.dir, "uploads"), "--force", "--json"]);
    assert.equal(self.code, 5);
    assert.equal(self.json.error.code, "TARGET_IS_SOURCE");
  });

  test("restore refuses what it cannot do the same way with and without --dry-run", async () => {
    for (const dryRun of [["--dry-run"], []]) {
      const typo = await run(["restore", "app-sqlit", "--to", join(ws.dir, "x.db"), "--json", ...dryRun]);
      assert.equal(typo.code, 2, typo.stderr);
      assert.equal(typo.json.error.code, "UNKNOWN_SOURCE");
      const foreign = await run([
        "restore",
        "uploads",
        "--to",
        join(ws.dir, "u2"),
        "--globals",
        "--json",
        ...dryRun,
      ]);
      assert.equal(foreign.code, 2, foreign.stderr);
      assert.match(foreign.json.error.message, /--globals is not an option of the files engine/);
      const url = await run([
        "restore",
        "app-sqlite",
        "--to",
        "postgres://127.0.0.1/app",
        "--json",
        ...dryRun,
      ]);
      assert.equal(url.code, 2, url.stderr);
      assert.match(url.json.error.message, /is a URL; a sqlite target is the path of a database file/);
      assert.equal(existsSync(join(ws.dir, "postgres:")), false, "no relative path was created");
    }
  });

  test("check --read-data passes on a healthy repository", async () => {
    const check = await run(["check", "--read-data", "--json"]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal(check.json.ok, true);
    assert.ok(check.json.objectsRead > 0);
  });

  test("wrong password has its own error", async () => {
    const wrong = await run(["snapshots", "--json"], { LIFEBOAT_PASSWORD: "not the password" });
    assert.equal(wrong.code, 12);
    assert.equal(wrong.json.error.code, "WRONG_PASSWORD");
    const missing = await run(["snapshots", "--json"], { LIFEBOAT_PASSWORD: "" });
    assert.equal(missing.json.error.code, "PASSWORD_MISSING");
  });

  test("keys: add a second password, open with it, remove the first", async () => {
    const add = await run(["key", "add", "--json"], { LIFEBOAT_NEW_PASSWORD: "second secret" });
    assert.equal(add.code, 0, add.stderr);
    const list = await run(["key", "list", "--json"], { LIFEBOAT_PASSWORD: "second secret" });
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.json.keys.length, 2);
    const first = list.json.keys.find((key: { current: boolean }) => !key.current);
    const remove = await run(["key", "remove", first.id, "--json"], { LIFEBOAT_PASSWORD: "second secret" });
    assert.equal(remove.code, 0, remove.stderr);
    const old = await run(["snapshots", "--json"]);
    assert.equal(old.json.error.code, "WRONG_PASSWORD");
    // Put the original password back for the tests that follow.
    const readd = await run(["key", "add", "--json"], {
      LIFEBOAT_PASSWORD: "second secret",
      LIFEBOAT_NEW_PASSWORD: ws.password,
    });
    assert.equal(readd.code, 0, readd.stderr);
  });

  test("bad config: every invalid field reported by path, exit 2", async () => {
    const badFile = join(ws.dir, "bad.yaml");
    await writeFile(
      badFile,
      "repository: { url: 'ftp://x', password_env: LIFEBOAT_PASSWORD }\nsources:\n  db: { engine: postgres }\n",
    );
    const bad = await run(["-c", badFile, "snapshots"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /repository\.url/);
    assert.match(bad.stderr, /sources\.db\.url/);
  });

  test("no repository at the configured place", async () => {
    const elsewhere = join(ws.dir, "other.yaml");
    await writeFile(elsewhere, config(ws.dir).replace("/repo", "/nowhere"));
    const result = await run(["-c", elsewhere, "snapshots", "--json"]);
    assert.equal(result.code, 10);
    assert.equal(result.json.error.code, "REPOSITORY_NOT_FOUND");
  });

  describe("damaged objects", () => {
    let dataObjects: string[];
    before(async () => {
      dataObjects = await listFiles(join(ws.dir, "repo", "data"));
      assert.ok(dataObjects.length > 0);
    });

    async function restoreFailsWith(code: string) {
      const failed: { source: string; message: string }[] = [];
      for (const source of ["app-sqlite", "uploads"]) {
        const target = join(ws.dir, `target-${source}-${Math.random().toString(36).slice(2)}`);
        const result = await run(["restore", source, "--to", target, "--json"]);
        if (result.code === 0) {
          await rm(target, { recursive: true }); // this source's chunks are intact
          continue;
        }
        assert.equal(result.code, 4, result.stderr);
        assert.equal(result.json.error.code, code);
        assert.equal(existsSync(target), false, "the target must be untouched");
        failed.push({ source, message: result.json.error.message });
      }
      assert.ok(failed.length > 0, "a damaged object must make a restore fail");
      return failed;
    }

    test("one flipped byte in any data object fails restore and check, naming the object", async () => {
      for (const file of dataObjects) {
        const original = await readFile(file);
        const damaged = Buffer.from(original);
        const at = Math.floor(damaged.length / 2);
        damaged[at] = (damaged[at] ?? 0) ^ 0x01;
        await writeFile(file, damaged);
        try {
          const key = file.slice(join(ws.dir, "repo").length + 1);
          const failed = await restoreFailsWith("CHECKSUM_MISMATCH");
          assert.ok(
            failed.some((failure) => failure.message.includes(key)),
            `message names ${key}`,
          );
          const check = await run(["check", "--read-data", "--json"]);
          assert.equal(check.code, 4);
          assert.deepEqual(
            check.json.problems.map((p: { object: string }) => p.object),
            [key],
          );
        } finally {
          await writeFile(file, original);
        }
      }
    });

    test("a truncated or zero-byte object is OBJECT_TRUNCATED, a missing one OBJECT_MISSING", async () => {
      const file = dataObjects[0]!;
      const original = await readFile(file);
      try {
        await truncate(file, Math.floor(original.length / 2));
        await restoreFailsWith("OBJECT_TRUNCATED");
        await truncate(file, 0);
        await restoreFailsWith("OBJECT_TRUNCATED");
        await rm(file);
        await restoreFailsWith("OBJECT_MISSING");
        const check = await run(["check", "--json"]);
        assert.equal(check.code, 4);
        assert.equal(check.json.problems[0].code, "OBJECT_MISSING");
      } finally {
        await writeFile(file, original);
      }
    });

    test("a flipped byte in a snapshot manifest is reported, naming it", async () => {
      const [manifest] = await listFiles(join(ws.dir, "repo", "snapshots"));
      const original = await readFile(manifest!);
      const damaged = Buffer.from(original);
      damaged[damaged.length - 5]! ^= 0x80;
      await writeFile(manifest!, damaged);
      await ws.dropCache(); // as on a host that never read the intact manifest
      try {
        // Damage stays local: the listing works, names the damaged manifest, and warns.
        const object = manifest!.slice(join(ws.dir, "repo").length + 1);
        const list = await run(["snapshots", "--json"]);
        assert.equal(list.code, 0, list.stderr);
        assert.equal(list.json.damaged[0].object, object);
        assert.ok(list.stderr.includes(object), list.stderr);
      } finally {
        await writeFile(manifest!, original);
      }
    });
  });

  test("secrets never appear in output or in plaintext repository files", async () => {
    for (const text of outputs) {
      assert.ok(!text.includes(ws.password), "password printed");
      assert.ok(!text.includes("second secret"), "password printed");
    }
    // The local cache too: its copies are the stored (encrypted) bytes.
    const cached = await listFiles(join(ws.dir, "cache"));
    assert.ok(cached.length > 0, "the CLI kept a local cache");
    for (const file of [...(await listFiles(join(ws.dir, "repo"))), ...cached]) {
      const bytes = await readFile(file);
      assert.ok(!bytes.includes(ws.password), `password stored in ${file}`);
    }
  });
});
