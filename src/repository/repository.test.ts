import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLifeboatError } from "../errors.ts";
import { FaultyBackend } from "../../test/support/faulty-backend.ts";
import { MemoryBackend } from "../storage/memory.ts";
import { initRepository, openRepository } from "./repository.ts";
import {
  compressible,
  draft,
  newRepository,
  readAll,
  rejectsWith,
  TEST_KDF,
} from "../../test/support/repository-testing.ts";

describe("repository", () => {
  it("round-trips random and compressible artifacts across many chunks", async () => {
    const { backend, repository } = await newRepository();
    const random = randomBytes(700 * 1024);
    const text = compressible(900 * 1024);
    const writer = await repository.newSnapshotWriter();
    let progress = 0;
    writer.onProgress = (bytes) => (progress += bytes);
    const refA = await writer.write(
      "random.bin",
      Readable.from([random.subarray(0, 1000), random.subarray(1000)]),
    );
    const refB = await writer.write("dump.sql", Readable.from(text));
    const snapshot = await writer.commit(draft());
    assert.equal(progress, random.length + text.length);
    assert.equal(refA.size, random.length);
    assert.ok(refA.chunks.length > 5 && refB.chunks.length > 5);
    assert.deepEqual(snapshot.artifacts, [refA, refB]);
    assert.ok(writer.stats.bytesStored < random.length + text.length / 2, "text was compressed");

    const reopened = await openRepository(backend, "secret");
    assert.deepEqual(await reopened.listSnapshots(), [snapshot]);
    assert.deepEqual(await readAll(reopened, snapshot.id, "random.bin"), random);
    assert.deepEqual(await readAll(reopened, snapshot.id, "dump.sql"), text);
    const report = await reopened.check({ readDataPercent: 100 });
    assert.deepEqual(report.problems, []);
    assert.equal(report.objectsRead, report.objectsReferenced);
    assert.equal(report.unreferenced, 0);
  });

  it("stores no plaintext: objects do not contain the data or its text", async () => {
    const { backend, repository } = await newRepository();
    const writer = await repository.newSnapshotWriter();
    await writer.write("secret.txt", Readable.from(Buffer.from("the launch code is 0000 ".repeat(100))));
    await writer.commit(draft());
    for (const [key, bytes] of backend.objects) {
      if (key.startsWith("data/") || key.startsWith("snapshots/")) {
        assert.ok(!Buffer.from(bytes).includes("launch code"), key);
        assert.ok(!Buffer.from(bytes).includes("secret.txt"), key);
      }
    }
  });

  it("deduplicates: a second backup stores only the chunks around an edit", async () => {
    const { repository } = await newRepository();
    const data = randomBytes(500 * 1024);
    const first = await repository.newSnapshotWriter();
    await first.write("a", Readable.from(data));
    await first.commit(draft("app", "2025-01-01T00:00:00.000Z"));
    const second = await repository.newSnapshotWriter();
    const edited = Buffer.concat([data.subarray(0, 250_000), Buffer.from("xyz"), data.subarray(250_000)]);
    await second.write("a", Readable.from(edited));
    await second.write("b", Readable.from(data));
    await second.commit(draft("app", "2025-01-02T00:00:00.000Z"));
    assert.equal(first.stats.chunksNew, first.stats.chunksTotal);
    assert.ok(
      second.stats.chunksNew >= 1 && second.stats.chunksNew <= 2,
      `${second.stats.chunksNew} new chunks`,
    );
    assert.equal(second.stats.bytesRead, edited.length + data.length);
  });

  it("writes the manifest only after every chunk, and none when a write fails", async () => {
    const { backend, repository } = await newRepository();
    const writer = await repository.newSnapshotWriter();
    async function* failing(): AsyncGenerator<Buffer> {
      yield randomBytes(600 * 1024);
      throw new Error("source tool died");
    }
    await assert.rejects(writer.write("dump", failing()), /source tool died/);
    await assert.rejects(writer.commit(draft()), (error) => isLifeboatError(error, "INTERNAL"));
    assert.equal([...backend.objects.keys()].filter((key) => key.startsWith("snapshots/")).length, 0);
    assert.deepEqual(await repository.listSnapshots(), []);
    // Format 2 had not filled a pack yet: nothing was stored. Format 1 stored chunks no manifest references.
    assert.deepEqual(
      [...backend.objects.keys()].filter((key) => key.startsWith("data/") || key.startsWith("index/")),
      [],
    );
    const v1 = await newRepository("secret", undefined, { format: 1 });
    const v1Writer = await v1.repository.newSnapshotWriter();
    await assert.rejects(v1Writer.write("dump", failing()), /source tool died/);
    assert.ok((await v1.repository.check({ readDataPercent: 0 })).unreferenced > 0);
  });

  it("reads a snapshot another process wrote after this one loaded the index", async () => {
    const { backend, repository: reader } = await newRepository();
    const first = await reader.newSnapshotWriter(); // loads the (empty) index
    await first.write("x", Readable.from([randomBytes(1000)]));
    await first.commit(draft("app", "2025-01-01T00:00:00.000Z"));
    const other = await openRepository(backend, "secret"); // another host
    const writer = await other.newSnapshotWriter();
    const data = randomBytes(200_000);
    await writer.write("x", Readable.from([data]));
    const snapshot = await writer.commit(draft("app", "2025-01-02T00:00:00.000Z"));
    assert.deepEqual(await readAll(reader, snapshot.id, "x"), data);
  });

  it("finds snapshots by id, unique prefix and latest per source", async () => {
    const { repository } = await newRepository();
    const ids: string[] = [];
    for (const [source, day] of [
      ["app", 3],
      ["app", 1],
      ["other", 5],
      ["app", 2],
    ] as const) {
      const writer = await repository.newSnapshotWriter();
      await writer.write("x", Readable.from(Buffer.from(`${source}${day}`)));
      ids.push((await writer.commit(draft(source, `2025-01-0${day}T00:00:00.000Z`))).id);
    }
    assert.equal((await repository.findSnapshot("latest", "app")).id, ids[0]);
    assert.equal((await repository.findSnapshot("latest")).id, ids[2]);
    assert.equal((await repository.findSnapshot(ids[1]!)).id, ids[1]);
    assert.equal((await repository.findSnapshot(ids[1]!.slice(0, 10))).id, ids[1]);
    assert.deepEqual(
      (await repository.listSnapshots({ source: "app" })).map((s) => s.consistentAt.slice(0, 10)),
      ["2025-01-01", "2025-01-02", "2025-01-03"],
    );
    await rejectsWith(repository.findSnapshot("", "app"), "BAD_ARGUMENT");
    await rejectsWith(repository.findSnapshot("latest", "nobody"), "SNAPSHOT_NOT_FOUND");
    await rejectsWith(repository.findSnapshot("f".repeat(64)), "SNAPSHOT_NOT_FOUND");
    await rejectsWith(repository.findSnapshot(ids[2]!, "app"), "SNAPSHOT_NOT_FOUND");
  });

  it("saves an artifact to a file only after verifying it", async () => {
    const { repository } = await newRepository();
    const data = compressible(300 * 1024);
    const writer = await repository.newSnapshotWriter();
    await writer.write("db.sqlite", Readable.from(data));
    const snapshot = await writer.commit(draft());
    const dir = await mkdtemp(join(tmpdir(), "lifeboat-repo-"));
    try {
      await repository.openArtifacts(snapshot).saveTo("db.sqlite", join(dir, "out.db"));
      assert.deepEqual(await readFile(join(dir, "out.db")), data);
      assert.deepEqual(await readdir(dir), ["out.db"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("writes two artifacts concurrently into one snapshot, in call order", async () => {
    const { repository } = await newRepository();
    const [a, b] = [randomBytes(400 * 1024), compressible(400 * 1024)];
    const writer = await repository.newSnapshotWriter();
    await Promise.all([writer.write("a", Readable.from(a)), writer.write("b", Readable.from(b))]);
    const snapshot = await writer.commit(draft());
    assert.deepEqual(
      snapshot.artifacts.map((artifact) => artifact.name),
      ["a", "b"],
    );
    assert.deepEqual(await readAll(repository, snapshot.id, "a"), a);
    assert.deepEqual(await readAll(repository, snapshot.id, "b"), b);
  });

  it("keeps empty artifacts", async () => {
    const { repository } = await newRepository();
    const writer = await repository.newSnapshotWriter();
    const ref = await writer.write("empty", Readable.from([]));
    const snapshot = await writer.commit(draft());
    assert.deepEqual(ref.chunks, []);
    assert.deepEqual(await readAll(repository, snapshot.id, "empty"), Buffer.alloc(0));
  });
});

describe("repository keys and versions", () => {
  it("refuses a wrong password with WRONG_PASSWORD and a missing one with PASSWORD_MISSING", async () => {
    const { backend } = await newRepository("right");
    await rejectsWith(openRepository(backend, "wrong"), "WRONG_PASSWORD");
    await rejectsWith(openRepository(backend, null), "PASSWORD_MISSING");
  });

  it("opens a key made with the default scrypt parameters (N=2^15, r=8, p=1)", async () => {
    const backend = new MemoryBackend();
    await initRepository(backend, { password: "strong" });
    const key = JSON.parse(
      Buffer.from([...backend.objects].find(([k]) => k.startsWith("keys/"))![1]).toString(),
    );
    assert.deepEqual([key.kdf.N, key.kdf.r, key.kdf.p], [32768, 8, 1]);
    assert.equal((await openRepository(backend, "strong")).config.chunker.avg, 1024 * 1024);
  });

  it("opens with any of several keys, removes one, refuses to remove the last", async () => {
    const { backend, repository } = await newRepository("first");
    const writer = await repository.newSnapshotWriter();
    await writer.write("a", Readable.from(Buffer.from("shared data")));
    const snapshot = await writer.commit(draft());
    const added = await repository.addKey("second");
    const viaSecond = await openRepository(backend, "second");
    assert.deepEqual(await readAll(viaSecond, snapshot.id, "a"), Buffer.from("shared data"));
    const keys = await viaSecond.listKeys();
    assert.equal(keys.length, 2);
    assert.deepEqual(keys.find((key) => key.current)?.id, added.id);

    const firstKey = keys.find((key) => !key.current)!;
    await rejectsWith(viaSecond.removeKey(added.id), "BAD_ARGUMENT");
    await viaSecond.removeKey(firstKey.id);
    await rejectsWith(openRepository(backend, "first"), "WRONG_PASSWORD");
    await rejectsWith(viaSecond.removeKey(added.id), "LAST_KEY");
    await rejectsWith(viaSecond.removeKey("0".repeat(64)), "KEY_NOT_FOUND");
    assert.equal((await openRepository(backend, "second")).config.id, repository.config.id);
  });

  it("reports a missing repository, refuses init over one and a newer format", async () => {
    await rejectsWith(openRepository(new MemoryBackend(), "x"), "REPOSITORY_NOT_FOUND");
    const { backend } = await newRepository();
    await rejectsWith(initRepository(backend, { password: "again", kdf: TEST_KDF }), "REPOSITORY_EXISTS");
    const config = JSON.parse(Buffer.from(backend.objects.get("config")!).toString());
    backend.objects.set("config", Buffer.from(JSON.stringify({ ...config, version: 3, newField: true })));
    await rejectsWith(openRepository(backend, "secret"), "REPOSITORY_FORMAT_TOO_NEW");
  });

  it("without native conditional puts, init reads config back and yields to a racing init", async () => {
    const inner = new MemoryBackend();
    const store = new FaultyBackend(inner, { capabilities: { conditionalPut: false } });
    const put = store.put.bind(store);
    // A racing init whose check-then-put of config landed just after ours.
    store.put = async (key, data, options) => {
      await put(key, data, options);
      if (key === "config") inner.objects.set("config", Buffer.from('{ "someone": "else" }'));
    };
    await rejectsWith(initRepository(store, { password: "pw", kdf: TEST_KDF }), "REPOSITORY_EXISTS");
    assert.deepEqual(
      [...inner.objects.keys()].filter((key) => key.startsWith("keys/")),
      [],
      "the loser removes its key file",
    );
  });

  it("ignores key files left by an interrupted init", async () => {
    const backend = new MemoryBackend();
    const first = await newRepository("pw", backend);
    const orphan = await newRepository("pw", new MemoryBackend());
    for (const [key, bytes] of orphan.backend.objects)
      if (key.startsWith("keys/")) backend.objects.set(key, bytes);
    const reopened = await openRepository(backend, "pw");
    assert.equal((await reopened.listKeys()).length, 1);
    assert.equal(reopened.config.id, first.repository.config.id);
  });

  it("round-trips an unencrypted repository, and refuses to open it with a password", async () => {
    const { backend, repository } = await newRepository(null);
    assert.equal(repository.config.encryption, "none");
    const data = compressible(200 * 1024);
    const writer = await repository.newSnapshotWriter();
    await writer.write("a", Readable.from(data));
    const snapshot = await writer.commit(draft());
    const reopened = await openRepository(backend, null);
    assert.deepEqual(await readAll(reopened, snapshot.id, "a"), data);
    await rejectsWith(openRepository(backend, "password"), "BAD_ARGUMENT");
    await rejectsWith(reopened.addKey("pw"), "BAD_ARGUMENT");
  });
});
