import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { test } from "node:test";
import { FaultyBackend } from "../../test/support/faulty-backend.ts";
import { draft, newRepository, readAll } from "../../test/support/repository-testing.ts";
import { ChunkIndex } from "./chunk-index.ts";
import { MAX_SPAN_BYTES, MAX_SPAN_PLAIN_BYTES, planSpans } from "./chunk-reads.ts";
import { packKey } from "./layout.ts";
import { openRepository } from "./repository.ts";

const id = (n: number) => n.toString(16).padStart(64, "0");

test("spans join chunks back to back in one pack, and break at a gap, another pack, the size cap or a miss", () => {
  const index = new ChunkIndex();
  const MiB = 1024 * 1024;
  index.addPack({
    id: id(100),
    size: 20 * MiB,
    chunks: [
      { id: id(1), offset: 0, length: MiB, plainLength: MiB },
      { id: id(2), offset: MiB, length: MiB, plainLength: MiB },
      { id: id(3), offset: 3 * MiB, length: MiB, plainLength: MiB }, // a gap before it
      { id: id(4), offset: 4 * MiB, length: MAX_SPAN_BYTES, plainLength: MAX_SPAN_BYTES },
    ],
  });
  index.addPack({ id: id(200), size: MiB, chunks: [{ id: id(5), offset: 0, length: 100, plainLength: 90 }] });
  index.addPack({
    id: id(300),
    size: 20 * MiB,
    chunks: [
      // Compressible: little stored, much plaintext; the plaintext cap splits them.
      { id: id(6), offset: 0, length: MiB / 4, plainLength: 3 * MiB },
      { id: id(7), offset: MiB / 4, length: MiB / 4, plainLength: 3 * MiB },
    ],
  });
  const spans = planSpans([id(1), id(2), id(3), id(4), id(5), id(9), id(1), id(6), id(7)], index);
  assert.deepEqual(
    spans.map((span) => [
      span.ids.map((chunk) => Number.parseInt(chunk, 16)),
      span.range?.offset,
      span.range?.length,
    ]),
    [
      [[1, 2], 0, 2 * MiB],
      [[3], 3 * MiB, MiB], // joining chunk 4 would pass the cap
      [[4], 4 * MiB, MAX_SPAN_BYTES],
      [[5], 0, 100],
      [[9], undefined, undefined], // in no index: read by itself
      [[1], 0, MiB],
      [[6], 0, MiB / 4],
      [[7], MiB / 4, MiB / 4],
    ],
  );
  assert.equal(spans[0]!.range!.key, packKey(id(100)));
  assert.equal(spans[0]!.plainBytes, 2 * MiB);
  assert.deepEqual(spans[0]!.range!.parts, [
    { offset: 0, length: MiB },
    { offset: MiB, length: MiB },
  ]);
});

test("a restore reads an artifact's chunks with one ranged GET per span, not one per chunk", async () => {
  const { backend, repository } = await newRepository("secret", undefined, { packSize: 16 * 1024 * 1024 });
  const data = randomBytes(6 * 1024 * 1024);
  const writer = await repository.newSnapshotWriter();
  await writer.write("blob", Readable.from([data]));
  const snapshot = await writer.commit(draft());
  assert.ok(snapshot.artifacts[0]!.chunks.length > 100, "many chunks (the test chunker is small)");
  const gets: string[] = [];
  const counting = new FaultyBackend(backend, {});
  const get = counting.get.bind(counting);
  counting.get = (key, range) => {
    if (key.startsWith("data/")) gets.push(key);
    return get(key, range);
  };
  assert.deepEqual(await readAll(await openRepository(counting, "secret"), snapshot.id, "blob"), data);
  const perSpan = Math.min(MAX_SPAN_BYTES, MAX_SPAN_PLAIN_BYTES);
  assert.ok(gets.length <= Math.ceil(data.length / perSpan) + 2, `${gets.length} GETs of data/`);
});
