// Snapshots taken before the files engine wrote its own tar headers (node-tar,
// Lifeboat 0.1) must keep restoring: the saved archive in
// test/fixtures/files-node-tar restores, verifies against the fingerprint it
// was captured with, and a new capture of the result gives that fingerprint.

import { test } from "node:test";
import assert from "node:assert/strict";
import { lstat, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { filesEngine } from "../src/engines/files/index.ts";
import { compareFingerprints, type Fingerprint } from "../src/domain/fingerprint.ts";
import { engineWorkdir } from "./support/engine-workdir.ts";
import { MemoryArtifacts } from "./support/memory-artifacts.ts";

const fixture = join(import.meta.dirname, "fixtures", "files-node-tar");
const workdir = engineWorkdir("files-compat");

test("a node-tar archive from Lifeboat 0.1 restores and verifies against its recorded fingerprint", async () => {
  const recorded = JSON.parse(await readFile(join(fixture, "fingerprint.json"), "utf8")) as Fingerprint;
  const artifacts = new MemoryArtifacts();
  await artifacts.write("tree.tar", Readable.from([await readFile(join(fixture, "tree.tar"))]));
  const target = join(workdir.base, "restored");
  await filesEngine.restore({ artifacts, engineMeta: {} }, target, {}, workdir.context);
  assert.deepEqual(compareFingerprints(recorded, await filesEngine.fingerprint(target, workdir.context)), []);

  const longName = join(target, "d".repeat(120), `${"long-name-".repeat(15)}🚀.txt`);
  assert.equal(await readFile(longName, "utf8"), "long\n");
  assert.equal((await lstat(join(target, "setuid-tool"))).mode & 0o7777, 0o4755);
  assert.equal((await lstat(join(target, "sticky"))).mode & 0o7777, 0o1777);
  assert.equal((await lstat(target)).mode & 0o7777, 0o750);
  assert.equal(await readlink(join(target, "link-to-dir")), "日本");
  assert.equal(
    (await lstat(join(target, "top.txt"))).ino,
    (await lstat(join(target, "hard-link-to-top"))).ino,
  );
  const mtime = Date.parse("2025-03-01T10:00:00Z");
  for (const path of ["a", "日本/ファイル.txt", "dangling", "empty"]) {
    assert.equal((await lstat(join(target, path))).mtimeMs, mtime, path);
  }

  const recaptured = await filesEngine.capture(
    { engine: "files", path: target },
    new MemoryArtifacts(),
    workdir.context,
  );
  assert.deepEqual(recaptured.fingerprint, recorded);
});
