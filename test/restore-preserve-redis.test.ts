// Issue 16, "keep what a restore replaces", where renaming is impossible: a
// Redis server cannot be moved aside, so `restore --clean` first captures
// the target as a snapshot (source `<name>.pre-restore`, tag pre-restore,
// never the source's `latest`), `restore --undo` restores that snapshot back
// (keeping the undone data as a snapshot in turn), and `preserved drop`
// forgets one. A dump.rdb directory target, which nothing captures, is
// refused unless --no-preserve is confirmed.

import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { workspace } from "./support/cli.ts";
import { startRedis, type TestRedis } from "./support/redis-server.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;

describe("restore keeps a Redis target it replaces as a snapshot", () => {
  let source: TestRedis;
  let target: TestRedis;
  let ws: Workspace;

  before(async () => {
    [source, target] = await Promise.all([startRedis(), startRedis()]);
    const s = await source.client();
    for (let i = 0; i < 50; i++) await s.set(`feature:${i}`, String(i));
    const t = await target.client();
    await t.set("hand:made", "precious");
    await t.hSet("hand:hash", { a: "1" });
    ws = await workspace(
      (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }
sources:
  cache: { engine: redis, url: "${source.url}" }
`,
    );
    assert.equal((await ws.cli(["init"])).code, 0);
    assert.equal((await ws.cli(["backup", "cache"])).code, 0);
  });
  after(async () => {
    await ws?.cleanup();
    await Promise.all([source?.stop(), target?.stop()]);
  });

  const keysOf = async (server: TestRedis) => (await (await server.client()).keys("*")).sort();

  test("--clean snapshots the target first; --undo brings its keys back; drop forgets the snapshot", async () => {
    const dry = await ws.cli(["restore", "cache", "--to", target.url, "--clean", "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.json.plan.steps[0], /first capture the current target as a snapshot tagged pre-restore/);

    const restore = await ws.cli(["restore", "cache", "--to", target.url, "--clean", "--json"]);
    assert.equal(restore.code, 0, restore.stderr);
    const kept = restore.json.preserved[0];
    assert.equal(kept.kind, "snapshot");
    assert.equal((await keysOf(target)).length, 50);

    const listed = await ws.cli(["snapshots", "--json"]);
    const preRestore = listed.json.snapshots.filter(
      (s: { source: string }) => s.source === "cache.pre-restore",
    );
    assert.deepEqual(
      preRestore.map((s: { id: string; tags: string[] }) => [s.id, s.tags]),
      [[kept.location, ["pre-restore"]]],
    );
    assert.equal(preRestore[0].fingerprint.counts["keys:db0"], 2, "the snapshot holds the target's two keys");
    // The source's latest is still the source's own backup.
    const latest = await ws.cli(["restore", "cache", "--to", target.url, "--clean", "--dry-run", "--json"]);
    assert.notEqual(latest.json.snapshot, kept.location);

    const undo = await ws.cli(["restore", "--undo", target.url, "--json"]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.deepEqual(await keysOf(target), ["hand:hash", "hand:made"]);
    assert.equal(await (await target.client()).get("hand:made"), "precious");
    const aside = undo.json.keptAside;
    assert.equal(aside.kind, "snapshot");
    assert.equal(aside.source, "cache");

    const after = await ws.cli(["snapshots", "cache.pre-restore", "--json"]);
    assert.deepEqual(
      after.json.snapshots.map((s: { id: string }) => s.id),
      [aside.location],
      "the snapshot restored back is forgotten; the undone data is kept as a new one",
    );
    const drop = await ws.cli(["preserved", "drop", aside.id, "--json"]);
    assert.equal(drop.code, 0, drop.stderr);
    assert.deepEqual((await ws.cli(["snapshots", "cache.pre-restore", "--json"])).json.snapshots, []);
    assert.deepEqual((await ws.cli(["preserved", "--json"])).json.preserved, []);
  });

  test("a dump.rdb directory target cannot be kept: refused, unless --no-preserve is confirmed", async () => {
    const dir = join(ws.dir, "rdb-target");
    await mkdir(dir);
    await writeFile(join(dir, "dump.rdb"), "an operator's file");
    const refused = await ws.cli(["restore", "cache", "--to", dir, "--force", "--json"]);
    assert.equal(refused.code, 5, refused.stderr);
    assert.equal(refused.json.error.code, "PRESERVE_UNSUPPORTED");
    const forced = await ws.cli([
      "restore",
      "cache",
      "--to",
      dir,
      "--force",
      "--no-preserve",
      "--confirm",
      "rdb-target",
      "--json",
    ]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(forced.json.preserved, []);
  });
});
