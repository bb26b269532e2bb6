// Fault list items 1, 2 and 7 of ARCHITECTURE.md at the repository level:
// every damaged, cut, missing or moved object is reported with its own code
// and its storage key, both when reading and by check.

import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Snapshot } from "../domain/snapshot.ts";
import type { MemoryBackend } from "../storage/memory.ts";
import { snapshotKey } from "./layout.ts";
import { openRepository } from "./repository.ts";
import {
  compressible,
  draft,
  FORMATS,
  newRepository,
  readAll,
  rejectsWith,
} from "../../test/support/repository-testing.ts";
import type { CheckProblem, Repository } from "./types.ts";

interface Fixture {
  readonly format: 1 | 2;
  readonly backend: MemoryBackend;
  readonly repository: Repository;
  readonly snapshot: Snapshot;
  readonly password: string | null;
}

async function fixture(password: string | null, format: 1 | 2): Promise<Fixture> {
  const { backend, repository } = await newRepository(password, undefined, { format });
  const writer = await repository.newSnapshotWriter();
  await writer.write("random", Readable.from(randomBytes(300 * 1024)));
  await writer.write("text", Readable.from(compressible(300 * 1024)));
  const snapshot = await writer.commit(draft());
  return { format, backend, repository, snapshot, password };
}

/** The stored object of a chunk (its pack in format 2) and the chunk's byte range in it. */
async function placeOf(f: Fixture, id: string) {
  const place = await f.repository.locateChunk(id);
  assert.ok(place, `chunk ${id} is stored nowhere`);
  return place;
}

/** Apply `change` to a chunk's envelope bytes, wherever they are stored; returns the object's key. */
async function damageChunk(
  f: Fixture,
  id: string,
  change: (envelope: Uint8Array) => Uint8Array,
): Promise<string> {
  const { key, offset, length } = await placeOf(f, id);
  damage(f.backend, key, (bytes) => {
    const envelope = change(bytes.slice(offset, offset + length));
    return Buffer.concat([bytes.subarray(0, offset), envelope, bytes.subarray(offset + length)]);
  });
  return key;
}

function damage(backend: MemoryBackend, key: string, change: (bytes: Uint8Array) => Uint8Array): void {
  const bytes = backend.objects.get(key);
  assert.ok(bytes, `no object ${key}`);
  backend.objects.set(key, change(Uint8Array.from(bytes)));
}

const flipMiddle = (bytes: Uint8Array) => {
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  return bytes;
};

/** A fresh Repository, so no manifest cache hides the damage. */
const reopen = (f: Fixture) => openRepository(f.backend, f.password);

async function readArtifact(f: Fixture, name: string, code: string, object: string): Promise<void> {
  const error = await rejectsWith(readAll(await reopen(f), f.snapshot.id, name), code);
  assert.equal(error.details["object"], object);
  assert.ok(error.message.includes(object), error.message);
}

async function checkFinds(f: Fixture, readDataPercent: number, expected: Omit<CheckProblem, "message">) {
  const report = await (await reopen(f)).check({ readDataPercent });
  assert.deepEqual(
    report.problems.map(({ message: _message, ...rest }) => rest),
    [expected],
  );
  assert.ok(report.problems[0]!.message.includes(expected.object));
}

/** A damaged manifest is listed as damaged, named, and warned about; the listing itself succeeds. */
async function listsAsDamaged(f: Fixture, object: string, code: string): Promise<void> {
  const listing = await (await reopen(f)).listSnapshotsWithDamage();
  assert.deepEqual(listing.snapshots, []);
  assert.deepEqual(
    listing.damaged.map((d) => [d.id, d.object, d.code]),
    [[f.snapshot.id, object, code]],
  );
  assert.ok(listing.damaged[0]!.message.includes(object));
  const warnings: string[] = [];
  const repository = await openRepository(f.backend, f.password, {
    onWarning: (warning) => warnings.push(warning.object),
  });
  assert.deepEqual(await repository.listSnapshots(), []);
  assert.deepEqual(warnings, [object]);
}

for (const [password, format] of FORMATS.flatMap(
  (format) =>
    [
      ["secret", format],
      [null, format],
    ] as const,
)) {
  const kind = password === null ? "unencrypted" : "encrypted";

  describe(`damaged objects (${kind} repository, format ${format})`, () => {
    it("a flipped byte in a chunk is CHECKSUM_MISMATCH naming it, on read and by check --read-data", async () => {
      const f = await fixture(password, format);
      const key = await damageChunk(f, f.snapshot.artifacts[1]!.chunks[2]!, flipMiddle);
      await readArtifact(f, "text", "CHECKSUM_MISMATCH", key);
      assert.equal((await readAll(await reopen(f), f.snapshot.id, "random")).length, 300 * 1024);
      await checkFinds(f, 100, { code: "CHECKSUM_MISMATCH", object: key, snapshots: [f.snapshot.id] });
      assert.deepEqual((await f.repository.check({ readDataPercent: 0 })).problems, []);
    });

    it("a flipped byte in a chunk's header is CHECKSUM_MISMATCH, not truncation", async () => {
      const f = await fixture(password, format);
      const key = await damageChunk(
        f,
        f.snapshot.artifacts[0]!.chunks[0]!,
        (bytes) => ((bytes[7]! ^= 0x80), bytes),
      );
      await readArtifact(f, "random", "CHECKSUM_MISMATCH", key);
    });

    it("a flipped byte in a manifest is CHECKSUM_MISMATCH naming it, on listing and by check", async () => {
      const f = await fixture(password, format);
      const key = snapshotKey(f.snapshot.id);
      damage(f.backend, key, flipMiddle);
      await listsAsDamaged(f, key, "CHECKSUM_MISMATCH");
      const error = await rejectsWith((await reopen(f)).findSnapshot("latest"), "CHECKSUM_MISMATCH");
      assert.equal(error.details["object"], key);
      await checkFinds(f, 0, { code: "CHECKSUM_MISMATCH", object: key, snapshots: [f.snapshot.id] });
    });

    it("a zero-byte or cut chunk is OBJECT_TRUNCATED, distinct from a checksum mismatch", async () => {
      const f = await fixture(password, format);
      // Format 2: the whole pack is empty.
      const { key: empty } = await placeOf(f, f.snapshot.artifacts[0]!.chunks[1]!);
      damage(f.backend, empty, () => new Uint8Array(0));
      await readArtifact(f, "random", "OBJECT_TRUNCATED", empty);
      await checkFinds(f, 0, { code: "OBJECT_TRUNCATED", object: empty, snapshots: [f.snapshot.id] });

      const g = await fixture(password, format);
      const place = await placeOf(g, g.snapshot.artifacts[1]!.chunks[0]!);
      const cut = place.key;
      damage(g.backend, cut, (bytes) => bytes.subarray(0, place.offset + Math.floor(place.length / 2)));
      await readArtifact(g, "text", "OBJECT_TRUNCATED", cut);
      await checkFinds(g, 100, { code: "OBJECT_TRUNCATED", object: cut, snapshots: [g.snapshot.id] });
    });

    it("a zero-byte or cut manifest is OBJECT_TRUNCATED naming it", async () => {
      for (const cut of [
        () => new Uint8Array(0),
        (bytes: Uint8Array) => bytes.subarray(0, bytes.length - 5),
      ]) {
        const f = await fixture(password, format);
        const key = snapshotKey(f.snapshot.id);
        damage(f.backend, key, cut);
        await listsAsDamaged(f, key, "OBJECT_TRUNCATED");
        await checkFinds(f, 0, { code: "OBJECT_TRUNCATED", object: key, snapshots: [f.snapshot.id] });
      }
    });

    it("a deleted chunk is OBJECT_MISSING naming it", async () => {
      const f = await fixture(password, format);
      const { key } = await placeOf(f, f.snapshot.artifacts[0]!.chunks.at(-1)!);
      f.backend.objects.delete(key);
      await readArtifact(f, "random", "OBJECT_MISSING", key);
      await checkFinds(f, 0, { code: "OBJECT_MISSING", object: key, snapshots: [f.snapshot.id] });
    });

    it("a manifest or chunk copied under another name does not verify", async () => {
      const f = await fixture(password, format);
      const writer = await f.repository.newSnapshotWriter();
      await writer.write("other", Readable.from(Buffer.from("another snapshot")));
      const other = await writer.commit(draft("app", "2025-02-01T00:00:00.000Z"));
      const victim = snapshotKey(other.id);
      f.backend.objects.set(victim, f.backend.objects.get(snapshotKey(f.snapshot.id))!);
      const listing = await (await reopen(f)).listSnapshotsWithDamage();
      assert.deepEqual(
        listing.snapshots.map((s) => s.id),
        [f.snapshot.id],
      );
      assert.deepEqual(
        listing.damaged.map((d) => [d.object, d.code]),
        [[victim, "CHECKSUM_MISMATCH"]],
      );

      // Format 1: a chunk object under another chunk's name; format 2: a pack under another pack's name.
      const g = await fixture(password, format);
      const victimWriter = await g.repository.newSnapshotWriter();
      await victimWriter.write("random", Readable.from(randomBytes(100 * 1024)));
      const victimSnapshot = await victimWriter.commit(draft("app", "2025-03-01T00:00:00.000Z"));
      const from = await placeOf(g, g.snapshot.artifacts[0]!.chunks[0]!);
      const to = await placeOf(g, victimSnapshot.artifacts[0]!.chunks[0]!);
      g.backend.objects.set(to.key, g.backend.objects.get(from.key)!);
      const error = await rejectsWith(
        readAll(await reopen(g), victimSnapshot.id, "random"),
        "CHECKSUM_MISMATCH",
      );
      assert.equal(error.details["object"], to.key);
    });

    it("saveTo leaves no file behind when a chunk is damaged", async () => {
      const f = await fixture(password, format);
      await damageChunk(f, f.snapshot.artifacts[1]!.chunks.at(-1)!, flipMiddle);
      const dir = await mkdtemp(join(tmpdir(), "lifeboat-faults-"));
      try {
        const source = (await reopen(f)).openArtifacts(f.snapshot);
        await rejectsWith(source.saveTo("text", join(dir, "text.out")), "CHECKSUM_MISMATCH");
        assert.deepEqual(await readdir(dir), []);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
