import assert from "node:assert/strict";
import { mkdir, mkdtemp, open, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { isLifeboatError } from "../errors.ts";
import { listAll, runBackendConformance } from "../../test/support/backend-conformance.ts";
import { FsBackend } from "./fs.ts";

async function makeRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), "lifeboat-fs-"));
}

runBackendConformance("fs", async () => {
  const root = await makeRoot();
  return { backend: new FsBackend(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

async function withRoot(body: (root: string, backend: FsBackend) => Promise<void>): Promise<void> {
  const root = await makeRoot();
  try {
    await body(root, new FsBackend(root));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test("fs: location is the absolute root directory", () =>
  withRoot(async (root, backend) => {
    assert.equal(backend.location, root);
  }));

test("fs: keys map to files below the root", () =>
  withRoot(async (root, backend) => {
    await backend.put("data/ab/ab12", Uint8Array.from([7]));
    assert.deepEqual(await readdir(join(root, "data", "ab")), ["ab12"]);
  }));

test("fs: unsafe keys are refused with INTERNAL before touching the disk", () =>
  withRoot(async (_root, backend) => {
    for (const key of ["", "/etc/passwd", "../escape", "data/../../x", "data//x", "data/", "./x", "a\\b"]) {
      await assert.rejects(backend.put(key, new Uint8Array(1)), (e) => isLifeboatError(e, "INTERNAL"), key);
      await assert.rejects(backend.get(key), (e) => isLifeboatError(e, "INTERNAL"), key);
    }
    await assert.rejects(listAll(backend, "../"), (e) => isLifeboatError(e, "INTERNAL"));
  }));

test("fs: a temp file left by an interrupted put is not listed, and cleanupInterrupted removes it", () =>
  withRoot(async (root, backend) => {
    await backend.put("data/ab/real", Uint8Array.from([1, 2]));
    const leftover = join(root, "data", "ab", ".tmp-deadbeef");
    await writeFile(leftover, "half a chunk");
    const fresh = join(root, "data", "ab", ".tmp-cafe");
    await writeFile(fresh, "a put in progress");
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(leftover, hourAgo, hourAgo);

    assert.deepEqual(await listAll(backend, ""), [{ key: "data/ab/real", size: 2 }]);
    assert.equal(await backend.stat("data/ab/.tmp-deadbeef").catch((e) => e.code), "INTERNAL");

    // Only temp files older than the threshold go: a put in progress is left alone.
    assert.equal(await backend.cleanupInterrupted(10 * 60_000), 1);
    assert.deepEqual((await readdir(join(root, "data", "ab"))).sort(), [".tmp-cafe", "real"]);
    assert.equal(await backend.cleanupInterrupted(0), 1);
    assert.deepEqual(await readdir(join(root, "data", "ab")), ["real"]);
  }));

test("fs: a put that fails mid-way leaves no object and no temp file", () =>
  withRoot(async (root, backend) => {
    // A regular file where the object's directory must go: mkdir fails (root ignores permissions).
    await writeFile(join(root, "data"), "in the way");
    await assert.rejects(
      backend.put("data/ab/obj", Uint8Array.from([1])),
      (e) =>
        isLifeboatError(e, "STORAGE_ERROR") && /ENOTDIR|EEXIST/.test(e.message) && e.message.includes(root),
    );
    assert.equal(await backend.stat("data/ab/obj"), undefined);
    assert.deepEqual(await readdir(root), ["data"]);
  }));

test("fs: a put whose rename fails (a directory at the key) cleans its temp file", () =>
  withRoot(async (root, backend) => {
    await mkdir(join(root, "snapshots", "s1"), { recursive: true });
    await assert.rejects(backend.put("snapshots/s1", Uint8Array.from([1])), (e) =>
      isLifeboatError(e, "STORAGE_ERROR"),
    );
    await assert.rejects(backend.put("snapshots/s1", Uint8Array.from([1]), { ifAbsent: true }), (e) =>
      isLifeboatError(e, "STORAGE_ERROR"),
    );
    assert.deepEqual(await readdir(join(root, "snapshots")), ["s1"]);
    assert.equal(await backend.stat("snapshots/s1"), undefined);
    assert.deepEqual(await listAll(backend, "snapshots/"), []);
  }));

test("fs: a missing root lists nothing and is created by the first put", () =>
  withRoot(async (root) => {
    const backend = new FsBackend(join(root, "not", "yet"));
    assert.deepEqual(await listAll(backend, ""), []);
    assert.equal(await backend.cleanupInterrupted(0), 0);
    await backend.put("config", Uint8Array.from([1]));
    assert.deepEqual(await backend.get("config"), Uint8Array.from([1]));
  }));

test("fs: a ranged get reads only its range, even out of an object too large to read whole", () =>
  withRoot(async (root, backend) => {
    // A sparse 5 GiB pack: reading it whole would need 5 GiB of memory (Node refuses
    // files over 2 GiB), and its last bytes lie past 2^32.
    const size = 5 * 1024 ** 3;
    await mkdir(join(root, "data", "ab"), { recursive: true });
    const handle = await open(join(root, "data", "ab", "pack"), "w");
    try {
      await handle.write(Uint8Array.from([1, 2, 3]), 0, 3, size - 3);
    } finally {
      await handle.close();
    }
    assert.deepEqual(await backend.stat("data/ab/pack"), { key: "data/ab/pack", size });
    assert.deepEqual(
      await backend.get("data/ab/pack", { offset: size - 5, length: 10 }),
      Uint8Array.from([0, 0, 1, 2, 3]),
    );
    assert.deepEqual(await backend.get("data/ab/pack", { offset: size, length: 10 }), new Uint8Array(0));
  }));

test("fs: a ranged get of an empty file or of a directory at the key", () =>
  withRoot(async (_root, backend) => {
    await backend.put("data/ab/empty", new Uint8Array(0));
    assert.deepEqual(await backend.get("data/ab/empty", { offset: 0, length: 10 }), new Uint8Array(0));
    // "data/ab" is a directory: no object, whatever the range (a full get says the same).
    for (const range of [undefined, { offset: 0, length: 10 }, { offset: 0, length: 0 }]) {
      await assert.rejects(
        backend.get("data/ab", range),
        (e) => isLifeboatError(e, "OBJECT_MISSING") && e.details.key === "data/ab",
        JSON.stringify(range),
      );
    }
  }));
