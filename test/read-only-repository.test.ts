// A read-only repository (ARCHITECTURE.md fault 18, issue #6 §3): restore,
// check (structure and --read-data), snapshots and drills work from a real
// read-only mount without a lock, and say what that means; check counts the
// leftovers it may not remove; a backup fails clearly, naming the location.
//
// As root, permissions do not stop writes, so the repository is exposed
// through a read-only bind mount; without root, a copy loses its write bits.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, cp, mkdir, readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli, workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;

const config = (dir: string) => `repository:
  url: file://${dir}/repo
  password_env: LIFEBOAT_PASSWORD
sources:
  uploads: { engine: files, path: ${dir}/uploads }
`;

/** Expose `source` read-only at `target`; returns how to undo it, or why it cannot be done here. */
async function readOnlyView(source: string, target: string): Promise<{ undo: () => void } | string> {
  await mkdir(target, { recursive: true });
  if (process.getuid?.() !== 0) {
    await cp(source, target, { recursive: true });
    const entries = await readdir(target, { recursive: true, withFileTypes: true });
    for (const entry of entries)
      await chmod(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o555 : 0o444);
    await chmod(target, 0o555);
    return { undo: () => execFileSync("chmod", ["-R", "u+w", target]) };
  }
  try {
    execFileSync("mount", ["--bind", source, target], { stdio: "pipe" });
  } catch (error) {
    return `no bind mount possible here (${(error as Error).message.split("\n")[0]})`;
  }
  const undo = () => execFileSync("umount", [target], { stdio: "pipe" });
  try {
    execFileSync("mount", ["-o", "remount,ro,bind", target], { stdio: "pipe" });
  } catch (error) {
    undo();
    return `cannot remount read-only (${(error as Error).message.split("\n")[0]})`;
  }
  return { undo };
}

async function listing(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const path = join(entry.parentPath, entry.name);
        return `${path.slice(dir.length)} ${(await stat(path)).size}`;
      }),
  );
  return files.sort();
}

describe("a read-only repository", () => {
  let ws: Workspace;
  let roConfig: string;
  let roRepo: string;
  let view: { undo: () => void } | string;
  let before_: string[];
  const ro = (args: readonly string[]) =>
    runCli(["-c", roConfig, ...args], { env: { LIFEBOAT_PASSWORD: ws.password } });

  before(async () => {
    ws = await workspace(config);
    await mkdir(join(ws.dir, "uploads", "nested"), { recursive: true });
    await writeFile(join(ws.dir, "uploads", "a.txt"), "alpha\n".repeat(5000));
    await writeFile(join(ws.dir, "uploads", "nested", "b.bin"), Buffer.alloc(200_000, 7));
    for (const args of [["init"], ["backup"]]) {
      const result = await ws.cli(args);
      assert.equal(result.code, 0, result.stderr);
    }
    // A temp file an interrupted write left two hours ago: check would remove it on a writable repository.
    const dataDir = join(ws.dir, "repo", "data");
    const [shard] = await readdir(dataDir);
    const leftover = join(dataDir, shard!, ".tmp-0123456789abcdef");
    await writeFile(leftover, "half an upload");
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(leftover, old, old);

    roRepo = join(ws.dir, "ro-repo");
    view = await readOnlyView(join(ws.dir, "repo"), roRepo);
    roConfig = join(ws.dir, "ro.yaml");
    await writeFile(roConfig, config(ws.dir).replace(`${ws.dir}/repo`, roRepo));
    if (typeof view !== "string") before_ = await listing(roRepo);
  });

  after(async () => {
    if (view && typeof view !== "string") view.undo();
    await ws?.cleanup();
  });

  test("is really read-only", { skip: false }, async (t) => {
    if (typeof view === "string") return t.skip(view);
    await assert.rejects(writeFile(join(roRepo, "probe"), "x"), /EROFS|EACCES/);
  });

  test("snapshots lists without writing", async (t) => {
    if (typeof view === "string") return t.skip(view);
    const list = await ro(["snapshots", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.json.snapshots.length, 1);
  });

  test("restore works without a lock and says what that means", async (t) => {
    if (typeof view === "string") return t.skip(view);
    const target = join(ws.dir, "restored");
    const restore = await ro(["restore", "uploads", "--to", target, "--json"]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(restore.json.verified, true);
    assert.match(restore.stderr, /read-only \((EROFS|EACCES)\): restore runs without a lock/);
    assert.match(restore.stderr, /concurrent prune/);
    assert.deepEqual(
      await readFile(join(target, "nested", "b.bin")),
      await readFile(join(ws.dir, "uploads", "nested", "b.bin")),
    );
  });

  test("check and check --read-data work, and count the leftover they may not remove", async (t) => {
    if (typeof view === "string") return t.skip(view);
    for (const args of [["check"], ["check", "--read-data"]]) {
      const check = await ro([...args, "--json"]);
      assert.equal(check.code, 0, check.stdout + check.stderr);
      assert.equal(check.json.ok, true);
      assert.equal(check.json.readOnly, true);
      assert.equal(check.json.locked, false);
      assert.equal(check.json.leftoversRemoved, 0);
      assert.equal(check.json.leftoversKept, 1);
    }
    const full = await ro(["check", "--read-data", "--json"]);
    assert.ok(full.json.objectsRead > 0);
  });

  test("drills lists the (empty) history", async (t) => {
    if (typeof view === "string") return t.skip(view);
    const drills = await ro(["drills", "--json"]);
    assert.equal(drills.code, 0, drills.stderr);
    assert.deepEqual(drills.json.drills, []);
  });

  test("stats and tag --dry-run work on a read-only repository; a real tag change is refused", async (t) => {
    if (typeof view === "string") return t.skip(view);
    const stats = await ro(["stats", "--json"]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal(stats.json.total.snapshots, 1);
    const id = (await ro(["snapshots", "--json"])).json.snapshots[0].id;
    const plan = await ro(["tag", "add", id, "release", "--dry-run", "--json"]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.equal(plan.json.changed, true);
    const real = await ro(["tag", "add", id, "release", "--json"]);
    assert.equal(real.code, 3, real.stderr);
    assert.equal(real.json.error.code, "REPOSITORY_READ_ONLY");
  });

  test("forget --dry-run plans on a read-only repository; the real forget is refused", async (t) => {
    if (typeof view === "string") return t.skip(view);
    const plan = await ro(["forget", "--keep-last", "1", "--dry-run", "--json"]);
    assert.equal(plan.code, 0, plan.stderr);
    const real = await ro(["forget", "--keep-last", "1", "--json"]);
    assert.equal(real.code, 3, real.stderr);
    assert.equal(real.json.error.code, "REPOSITORY_READ_ONLY");
  });

  test("--no-lock skips the lock deliberately, without the read-only warning", async (t) => {
    if (typeof view === "string") return t.skip(view);
    const restore = await ro([
      "--no-lock",
      "restore",
      "uploads",
      "--to",
      join(ws.dir, "restored-2"),
      "--json",
    ]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.doesNotMatch(restore.stderr, /read-only/);
    const check = await ro(["--no-lock", "check", "--json"]);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.json.leftoversKept, 1, "check finds out the repository is read-only by itself");
  });

  test("a backup fails with REPOSITORY_READ_ONLY naming the location", async (t) => {
    if (typeof view === "string") return t.skip(view);
    const backup = await ro(["backup", "--json"]);
    assert.equal(backup.code, 3, backup.stderr);
    assert.equal(backup.json.error.code, "REPOSITORY_READ_ONLY");
    assert.ok(backup.json.error.message.includes(roRepo), backup.json.error.message);
  });

  test("nothing in the repository changed", async (t) => {
    if (typeof view === "string") return t.skip(view);
    assert.deepEqual(await listing(roRepo), before_);
  });

  test("--no-lock is refused for a command that writes", async () => {
    const backup = await ws.cli(["--no-lock", "backup", "--json"]);
    assert.equal(backup.code, 2, backup.stderr);
    assert.equal(backup.json.error.code, "BAD_ARGUMENT");
  });
});
