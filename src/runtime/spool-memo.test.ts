import assert from "node:assert/strict";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { recalledSpoolDir, rememberSpoolDir } from "./spool-memo.ts";

describe("the spool note of wal-push's fast path", () => {
  let dir: string;
  let config: string;
  let cache: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "lifeboat-spool-memo-"));
    config = join(dir, "lifeboat.yaml");
    cache = join(dir, "cache");
    await writeFile(config, "sources: {}\n");
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("is recalled for the same file and source, and only then", async () => {
    assert.equal(await recalledSpoolDir(config, "app-db", cache), undefined);
    await rememberSpoolDir(config, "app-db", "/var/spool/lifeboat", cache);
    assert.equal(await recalledSpoolDir(config, "app-db", cache), "/var/spool/lifeboat");
    assert.equal(await recalledSpoolDir(config, "other", cache), undefined);
  });

  it("is stale once the config is edited or replaced by another file", async () => {
    await rememberSpoolDir(config, "app-db", "/var/spool/lifeboat", cache);
    await writeFile(config, "sources: { changed: true }\n");
    assert.equal(await recalledSpoolDir(config, "app-db", cache), undefined);
    await rememberSpoolDir(config, "app-db", "/var/spool/lifeboat", cache);
    const replacement = join(dir, "other.yaml");
    await writeFile(replacement, "sources: { changed: true }\n");
    await rename(replacement, config);
    assert.equal(await recalledSpoolDir(config, "app-db", cache), undefined);
  });

  it("a cache directory that cannot be written costs only the shortcut", async () => {
    await writeFile(join(dir, "not-a-dir"), "");
    await rememberSpoolDir(config, "app-db", "/x", join(dir, "not-a-dir"));
    assert.equal(await recalledSpoolDir(config, "app-db", join(dir, "not-a-dir")), undefined);
  });
});
