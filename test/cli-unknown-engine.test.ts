// A snapshot made by an engine this build lacks (a newer Lifeboat's) still
// lists, and restoring it is UNKNOWN_ENGINE naming the known engines, never a
// crash on an undefined engine.

import assert from "node:assert/strict";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, test } from "node:test";
import { openRepository } from "../src/repository/repository.ts";
import { FsBackend } from "../src/storage/fs.ts";
import { workspace } from "./support/cli.ts";

type Workspace = Awaited<ReturnType<typeof workspace>>;
let ws: Workspace;

before(async () => {
  ws = await workspace(
    (dir) => `repository: { url: "file://${dir}/repo", password_env: LIFEBOAT_PASSWORD }\n`,
  );
  assert.equal((await ws.cli(["init"])).code, 0);
  const repository = await openRepository(new FsBackend(join(ws.dir, "repo")), ws.password);
  const writer = await repository.newSnapshotWriter();
  await writer.write("data.bin", Readable.from([Buffer.from("rows of the future")]));
  const now = new Date().toISOString();
  await writer.commit({
    source: "future-db",
    engine: "oracle",
    startedAt: now,
    finishedAt: now,
    consistentAt: now,
    hostname: "elsewhere",
    lifeboatVersion: "9.0.0",
    engineMeta: {},
    fingerprint: { counts: { "rows:t": 1 }, hashes: {} },
    tags: [],
  });
  await repository.close();
});
after(() => ws.cleanup());

test("an unknown engine in a manifest lists, and restoring it is UNKNOWN_ENGINE", async () => {
  const list = await ws.cli(["snapshots", "--json"]);
  assert.equal(list.code, 0, list.stderr);
  assert.equal(list.json.snapshots[0].engine, "oracle");
  for (const dryRun of [["--dry-run"], []]) {
    const restore = await ws.cli(["restore", "future-db", "--to", join(ws.dir, "out"), "--json", ...dryRun]);
    assert.equal(restore.code, 3, restore.stderr);
    assert.equal(restore.json.error.code, "UNKNOWN_ENGINE");
    assert.match(restore.json.error.hint, /postgres, sqlite, files/);
  }
});
