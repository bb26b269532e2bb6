// Locks shared by many hosts (issue #7 §4), through the real CLI: --retry-lock
// waits for a held lock and then fails naming the holder and the wait, or
// goes through once it is released; SIGTERM ends the wait at once; another
// host's lock is trusted for the stale window plus the clock skew; a dead pid
// of this host frees its lock at once.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readdir, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { acquireLock } from "../src/repository/locks.ts";
import type { LockInfo } from "../src/repository/types.ts";
import { FsBackend } from "../src/storage/fs.ts";
import { cliPath, uploadsWorkspace, type workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;
let ws: Workspace;
const repo = () => join(ws.dir, "repo");
const lockFiles = async () => (await readdir(join(repo(), "locks")).catch(() => [])).sort();

before(async () => {
  ws = await uploadsWorkspace((uploads) => writeFile(join(uploads, "a.txt"), "some data\n"));
});
after(() => ws.cleanup());

/** Write a lock object by hand, as another Lifeboat (here or elsewhere) would have left it. */
async function writeLock(info: Omit<LockInfo, "id" | "kind" | "command" | "created">): Promise<string> {
  const id = `${info.hostname}-${info.pid}-${Date.now()}`.replace(/[^a-z0-9-]/gi, "-");
  const lock: LockInfo = { id, kind: "exclusive", command: "prune", created: info.refreshed, ...info };
  await writeFile(join(repo(), "locks", id), JSON.stringify(lock, null, 2) + "\n");
  return id;
}

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

test("backup --retry-lock 3s fails after about 3 s with LOCKED naming the holder and the wait", async () => {
  const lock = await acquireLock(new FsBackend(repo()), "exclusive", "prune (test)");
  try {
    const started = Date.now();
    const refused = await ws.cli(["--retry-lock", "3s", "backup", "uploads", "--json"]);
    const elapsed = Date.now() - started;
    assert.equal(refused.code, 11, refused.stderr);
    assert.equal(refused.json.error.code, "LOCKED");
    const message: string = refused.json.error.message;
    for (const fact of [
      `pid ${process.pid}`,
      `host "${hostname()}"`,
      '"prune (test)"',
      `since ${lock.info.created}`,
    ]) {
      assert.ok(message.includes(fact), `message lacks ${fact}: ${message}`);
    }
    assert.match(message, /still held after waiting 3\.\d\ds \(--retry-lock\)/);
    assert.match(refused.stderr, /waiting up to 3\.00s for the exclusive lock held by pid \d+ on host/);
    assert.ok(elapsed >= 3_000 && elapsed < 10_000, `took ${elapsed} ms`);
    assert.deepEqual(await lockFiles(), [lock.info.id], "refused attempts leave no lock behind");
  } finally {
    await lock.release();
  }
});

test("backup --retry-lock goes through once the holder releases its lock", async () => {
  const lock = await acquireLock(new FsBackend(repo()), "exclusive", "prune (test)");
  const child = spawn(
    process.execPath,
    [cliPath, "-c", ws.configFile, "backup", "uploads", "--retry-lock", "30s", "--json"],
    { env: { ...process.env, ...ws.env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  // Released only once the backup says it waits: however slow its start, it must have waited.
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    if (/waiting up to 30\.0s for the exclusive lock/.test(stderr)) void lock.release();
  });
  const code = await exited;
  assert.equal(code, 0, stderr);
  assert.match(stderr, /waiting up to 30\.0s for the exclusive lock/);
  assert.deepEqual(await lockFiles(), []);
});

test("SIGTERM during the wait exits 130 promptly", async () => {
  const lock = await acquireLock(new FsBackend(repo()), "exclusive", "prune (test)");
  try {
    const child = spawn(
      process.execPath,
      [cliPath, "-c", ws.configFile, "--retry-lock", "5m", "backup", "uploads"],
      {
        env: { ...process.env, ...ws.env },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes("waiting up to 5m 00s")) resolve();
      });
      child.on("close", () => reject(new Error(`exited before waiting: ${stderr}`)));
    });
    const signalled = Date.now();
    child.kill("SIGTERM");
    const code = await exited;
    assert.equal(code, 130, stderr);
    assert.ok(Date.now() - signalled < 3_000, `took ${Date.now() - signalled} ms after SIGTERM`);
    assert.match(stderr, /error \[INTERRUPTED\]/);
    assert.deepEqual(await lockFiles(), [lock.info.id]);
  } finally {
    await lock.release();
  }
});

test("another host's lock unrefreshed for 32 minutes is respected (clock skew); for 36 it is taken over", async () => {
  const withinSkew = await writeLock({ hostname: "elsewhere.example", pid: 4242, refreshed: minutesAgo(32) });
  const refused = await ws.cli(["backup", "uploads", "--json"]);
  assert.equal(refused.code, 11, refused.stderr);
  assert.match(refused.json.error.message, /pid 4242 on host "elsewhere\.example" for "prune"/);
  assert.deepEqual(await lockFiles(), [withinSkew]);

  await rm(join(repo(), "locks", withinSkew));
  await writeLock({ hostname: "elsewhere.example", pid: 4242, refreshed: minutesAgo(36) });
  const taken = await ws.cli(["backup", "uploads", "--json"]);
  assert.equal(taken.code, 0, taken.stderr);
  assert.deepEqual(await lockFiles(), [], "the stale locks were removed");
});

test("a lock of this host whose pid is dead is taken over at once", async () => {
  const child = spawnSync(process.execPath, ["-e", ""]);
  assert.ok(child.pid);
  await writeLock({ hostname: hostname(), pid: child.pid, refreshed: new Date().toISOString() });
  const started = Date.now();
  const result = await ws.cli(["backup", "uploads", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /waiting/);
  assert.ok(Date.now() - started < 15_000);
  assert.deepEqual(await lockFiles(), []);
});

test("a bad --retry-lock value is refused with BAD_ARGUMENT; commands without a lock accept it", async () => {
  const bad = await ws.cli(["--retry-lock", "soon", "backup", "uploads", "--json"]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.equal(bad.json.error.code, "BAD_ARGUMENT");
  assert.match(bad.json.error.message, /--retry-lock: "soon" is not a duration/);
  const listed = await ws.cli(["--no-lock", "--retry-lock", "1s", "snapshots", "--json"]);
  assert.equal(listed.code, 0, listed.stderr);
});
