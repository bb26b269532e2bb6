// The local cache of immutable objects (docs/repository-format.md, "Local
// cache"): copies stay encrypted, a damaged copy is never trusted, check
// reads storage rather than the cache, copies of objects removed elsewhere
// go, and a cache that cannot be written is only a warning.

import assert from "node:assert/strict";
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { openRepository } from "../src/repository/repository.ts";
import type { Repository } from "../src/repository/types.ts";
import type { MemoryBackend } from "../src/storage/memory.ts";
import { compressible, draft, newRepository, readAll } from "./support/repository-testing.ts";

const PASSWORD = "secret";
const SOURCE = "cache-test-source-name";

describe("local cache", () => {
  let cacheDir: string;
  let backend: MemoryBackend;
  let snapshotId: string;
  let repositoryId: string;
  const data = compressible(200_000);

  before(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), "lifeboat-cache-"));
    const made = await newRepository(PASSWORD);
    backend = made.backend;
    repositoryId = made.repository.config.id;
    const writer = await made.repository.newSnapshotWriter();
    await writer.write("blob", Readable.from([data]));
    snapshotId = (await writer.commit(draft(SOURCE))).id;
  });

  after(async () => {
    await chmod(cacheDir, 0o700).catch(() => {});
    await rm(cacheDir, { recursive: true, force: true });
  });

  const open = (options: { onCacheProblem?: (message: string) => void } = {}): Promise<Repository> =>
    openRepository(backend, PASSWORD, { cacheDir, ...options });
  const cachedFile = (key: string) => join(cacheDir, repositoryId, ...key.split("/"));

  it("keeps manifests and index objects exactly as stored: encrypted", async () => {
    const repository = await open();
    assert.deepEqual(await readAll(repository, snapshotId, "blob"), data);
    const key = `snapshots/${snapshotId}`;
    assert.deepEqual(await readFile(cachedFile(key)), Buffer.from(backend.objects.get(key)!));
    const indexes = await readdir(join(cacheDir, repositoryId, "index"));
    assert.equal(indexes.length, 1);
    for (const folder of ["snapshots", "index"]) {
      for (const name of await readdir(join(cacheDir, repositoryId, folder))) {
        const bytes = await readFile(join(cacheDir, repositoryId, folder, name));
        assert.ok(!bytes.includes(Buffer.from(SOURCE)), `${folder}/${name} holds plaintext`);
      }
    }
    const catalog = await readFile(cachedFile("snapshots.catalog"));
    assert.ok(!catalog.includes(Buffer.from(SOURCE)), "the catalog of decoded manifests is sealed too");
  });

  it("serves a warm listing from the cache, without reading manifests from storage", async () => {
    await (await open()).listSnapshots();
    const key = `snapshots/${snapshotId}`;
    const stored = backend.objects.get(key)!;
    // Damage the stored manifest: a warm cache still lists it (the copy verifies)...
    const damaged = Uint8Array.from(stored);
    damaged[damaged.length >> 1]! ^= 1;
    backend.objects.set(key, damaged);
    try {
      assert.deepEqual(
        (await (await open()).listSnapshots()).map((snapshot) => snapshot.id),
        [snapshotId],
      );
      // ...but check reads storage and names the damage.
      const report = await (await open()).check({ readDataPercent: 0 });
      assert.deepEqual(
        report.problems.map((problem) => [problem.code, problem.object]),
        [["CHECKSUM_MISMATCH", key]],
      );
    } finally {
      backend.objects.set(key, stored);
    }
  });

  it("drops a damaged cached copy and reads storage instead", async () => {
    const key = `snapshots/${snapshotId}`;
    await (await open()).listSnapshots();
    const copy = await readFile(cachedFile(key));
    copy[copy.length >> 1]! ^= 1;
    await writeFile(cachedFile(key), copy);
    // The catalog of decoded manifests too: it does not authenticate, so it is rebuilt.
    const catalog = await readFile(cachedFile("snapshots.catalog"));
    catalog[catalog.length >> 1]! ^= 1;
    await writeFile(cachedFile("snapshots.catalog"), catalog);
    const repository = await open();
    assert.deepEqual(await readAll(repository, snapshotId, "blob"), data);
    assert.deepEqual(await readFile(cachedFile(key)), Buffer.from(backend.objects.get(key)!), "refetched");
    assert.notDeepEqual(await readFile(cachedFile("snapshots.catalog")), catalog, "rebuilt");
    assert.deepEqual(
      (await (await open()).listSnapshots()).map((snapshot) => snapshot.id),
      [snapshotId],
    );
  });

  it("a manifest forgotten by another host leaves the cache at the next listing", async () => {
    const writer = await (await open()).newSnapshotWriter();
    await writer.write("blob", Readable.from([Buffer.from("another")]));
    const other = await writer.commit(draft(SOURCE, "2025-06-01T00:00:00.000Z"));
    await (await open()).listSnapshots();
    await readFile(cachedFile(`snapshots/${other.id}`));
    backend.objects.delete(`snapshots/${other.id}`); // "another host" forgot it
    assert.deepEqual(
      (await (await open()).listSnapshots()).map((snapshot) => snapshot.id),
      [snapshotId],
    );
    await assert.rejects(readFile(cachedFile(`snapshots/${other.id}`)), { code: "ENOENT" });
  });

  it(
    "an unwritable cache is warned about once and bypassed",
    { skip: process.getuid?.() === 0 ? "root writes anywhere" : false },
    async () => {
      await rm(join(cacheDir, repositoryId), { recursive: true, force: true });
      await chmod(cacheDir, 0o500);
      const warnings: string[] = [];
      const repository = await open({ onCacheProblem: (message) => warnings.push(message) });
      assert.deepEqual(await readAll(repository, snapshotId, "blob"), data);
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.match(warnings[0]!, /cannot be written/);
    },
  );

  it("a cache path that is a file is warned about once and bypassed (also as root)", async () => {
    const blocked = await mkdtemp(join(tmpdir(), "lifeboat-cache-file-"));
    try {
      await writeFile(join(blocked, repositoryId), "not a directory");
      const warnings: string[] = [];
      const repository = await openRepository(backend, PASSWORD, {
        cacheDir: blocked,
        onCacheProblem: (message) => warnings.push(message),
      });
      assert.deepEqual(await readAll(repository, snapshotId, "blob"), data);
      assert.deepEqual((await repository.listSnapshots()).length, 1);
      assert.equal(warnings.length, 1, warnings.join("\n"));
    } finally {
      await rm(blocked, { recursive: true, force: true });
    }
  });
});
