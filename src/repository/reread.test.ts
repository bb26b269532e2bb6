// A chunk corrupted in transit is read again; damage at rest is still reported.

import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";
import { FaultyBackend } from "../../test/support/faulty-backend.ts";
import { MemoryBackend } from "../storage/memory.ts";
import { openRepository } from "./repository.ts";
import {
  compressible,
  draft,
  newRepository,
  readAll,
  rejectsWith,
} from "../../test/support/repository-testing.ts";

async function repositoryWithSnapshot() {
  const memory = new MemoryBackend();
  const { repository } = await newRepository("secret", memory);
  const writer = await repository.newSnapshotWriter();
  const data = compressible(300_000);
  await writer.write("blob", Readable.from([data]));
  const snapshot = await writer.commit(draft());
  return { memory, snapshot, data };
}

test("a first corrupt read of a chunk is retried and the restore succeeds", async () => {
  const { memory, snapshot, data } = await repositoryWithSnapshot();
  const faulty = new FaultyBackend(memory, { corruptFirstGet: (key: string) => key.startsWith("data/") });
  const repository = await openRepository(faulty, "secret");
  assert.deepEqual(await readAll(repository, snapshot.id, "blob"), data);
});

test("a chunk damaged at rest still fails with CHECKSUM_MISMATCH naming it", async () => {
  const { memory, snapshot } = await repositoryWithSnapshot();
  const repository = await openRepository(memory, "secret");
  const { key, offset, length } = (await repository.locateChunk(snapshot.artifacts[0]!.chunks[0]!))!;
  const bytes = memory.objects.get(key)!;
  bytes[offset + length - 3]! ^= 1;
  const error = await rejectsWith(readAll(repository, snapshot.id, "blob"), "CHECKSUM_MISMATCH");
  assert.ok(error.message.includes(key));
});
