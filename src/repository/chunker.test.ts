import { randomBytes } from "node:crypto";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Chunker, DEFAULT_CHUNKER } from "./chunker.ts";
import { gearTableOf, generateMasterKey } from "./crypto.ts";

async function* inPieces(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

async function chunksOf(chunker: Chunker, data: Buffer, pieceSize = 64 * 1024): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of chunker.chunks(inPieces(data, pieceSize))) chunks.push(Buffer.from(chunk));
  return chunks;
}

const key = generateMasterKey();

describe("chunker", () => {
  it("cuts a stream into chunks within the size limits that concatenate to the input", async () => {
    const chunker = new Chunker(gearTableOf(key), DEFAULT_CHUNKER);
    const data = randomBytes(20 * 1024 * 1024);
    const chunks = await chunksOf(chunker, data);
    assert.deepEqual(Buffer.concat(chunks), data);
    for (const chunk of chunks.slice(0, -1)) {
      assert.ok(
        chunk.length >= DEFAULT_CHUNKER.min && chunk.length <= DEFAULT_CHUNKER.max,
        `${chunk.length}`,
      );
    }
    assert.ok(chunks.length >= 8 && chunks.length <= 40, `${chunks.length} chunks`);
  });

  it("finds the same boundaries whatever the piece sizes of the stream", async () => {
    const chunker = new Chunker(gearTableOf(key), { min: 1024, avg: 4096, max: 16384 });
    const data = randomBytes(256 * 1024);
    const lengths = async (pieceSize: number) =>
      (await chunksOf(chunker, data, pieceSize)).map((c) => c.length);
    const reference: number[] = [];
    for (let offset = 0; offset < data.length;) {
      reference.push(chunker.cut(data, offset, data.length));
      offset += reference.at(-1)!;
    }
    assert.ok(reference.length > 10);
    assert.deepEqual(await lengths(data.length), reference);
    assert.deepEqual(await lengths(3), reference);
    assert.deepEqual(await lengths(777), reference);
    assert.deepEqual(await lengths(65536), reference);
  });

  it("changes only one or two chunks when a few bytes (odd or even) are inserted in the middle", async () => {
    const chunker = new Chunker(gearTableOf(key), DEFAULT_CHUNKER);
    const data = randomBytes(20 * 1024 * 1024);
    const before = new Set((await chunksOf(chunker, data)).map((c) => c.toString("base64")));
    for (const insert of ["abc", "four"]) {
      const edited = Buffer.concat([
        data.subarray(0, 10_000_000),
        Buffer.from(insert),
        data.subarray(10_000_000),
      ]);
      const after = await chunksOf(chunker, edited);
      const changed = after.filter((chunk) => !before.has(chunk.toString("base64")));
      assert.ok(changed.length >= 1 && changed.length <= 2, `${changed.length} chunks changed`);
    }
  });

  it("derives different boundaries for different repositories", async () => {
    const sizes = { min: 1024, avg: 4096, max: 16384 };
    const data = randomBytes(512 * 1024);
    const a = (await chunksOf(new Chunker(gearTableOf(key), sizes), data)).map((c) => c.length);
    const b = (await chunksOf(new Chunker(gearTableOf(generateMasterKey()), sizes), data)).map(
      (c) => c.length,
    );
    assert.notDeepEqual(a, b);
  });

  it("yields nothing for an empty stream and one short chunk for a short one", async () => {
    const chunker = new Chunker(gearTableOf(key), DEFAULT_CHUNKER);
    assert.deepEqual(await chunksOf(chunker, Buffer.alloc(0)), []);
    assert.deepEqual(await chunksOf(chunker, Buffer.from("hello")), [Buffer.from("hello")]);
  });

  it("with copy, yields the same chunks in fresh buffers that share no memory with the source", async () => {
    const chunker = new Chunker(gearTableOf(key), { min: 1024, avg: 4096, max: 16384 });
    const data = randomBytes(256 * 1024);
    const source = Buffer.from(data);
    const copies: Buffer[] = [];
    for await (const chunk of chunker.chunks(inPieces(source, 5000), { copy: true })) copies.push(chunk);
    source.fill(0); // the source's memory is reused: the copies must not change
    assert.deepEqual(
      copies.map((chunk) => chunk.length),
      (await chunksOf(chunker, data)).map((chunk) => chunk.length),
    );
    assert.deepEqual(Buffer.concat(copies), data);
    for (const chunk of copies) assert.notEqual(chunk.buffer, source.buffer);
  });

  it("with release, frees each handed-over piece once its bytes are copied, and only pieces that own their memory", async () => {
    const chunker = new Chunker(gearTableOf(key), { min: 64 * 1024, avg: 256 * 1024, max: 1024 * 1024 });
    const detached = (piece: Buffer) => (piece.buffer as ArrayBuffer).detached;
    const data = randomBytes(4 * 1024 * 1024 + 12345);
    // Pieces as a pipe gives them: 64 KiB each, each in memory of its own (the last one shorter).
    const owned: Buffer[] = [];
    for (let offset = 0; offset < data.length; offset += 64 * 1024)
      owned.push(Buffer.from(data.subarray(offset, offset + 64 * 1024)));
    // And pieces that are views into one larger buffer, which must never be freed.
    const shared = Buffer.from(data);
    const views = Array.from({ length: Math.ceil(data.length / 100_000) }, (_, i) =>
      shared.subarray(i * 100_000, (i + 1) * 100_000),
    );
    for (const pieces of [owned, views]) {
      async function* handedOver(): AsyncGenerator<Buffer> {
        yield* pieces;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of chunker.chunks(handedOver(), { copy: true, release: true }))
        chunks.push(chunk);
      assert.deepEqual(Buffer.concat(chunks), data, "the chunks are the stream, whatever was freed");
      assert.deepEqual(
        chunks.map((chunk) => chunk.length),
        (await chunksOf(chunker, data)).map((chunk) => chunk.length),
        "the boundaries do not change",
      );
    }
    const big = owned.filter((piece) => piece.byteLength >= 64 * 1024);
    assert.ok(big.every(detached), "every 64 KiB piece is freed at once, not at the next GC");
    assert.ok(!detached(owned.at(-1)!), "a small piece is left to the GC");
    assert.ok(!detached(shared), "a view into larger memory is never freed");
    assert.deepEqual(shared, data);
  });

  it("without release, leaves every piece as it was", async () => {
    const chunker = new Chunker(gearTableOf(key), { min: 64 * 1024, avg: 256 * 1024, max: 1024 * 1024 });
    const pieces = Array.from({ length: 20 }, () => randomBytes(64 * 1024));
    async function* source(): AsyncGenerator<Buffer> {
      yield* pieces;
    }
    for await (const chunk of chunker.chunks(source(), { copy: true })) assert.ok(chunk.length > 0);
    assert.ok(pieces.every((piece) => !(piece.buffer as ArrayBuffer).detached && piece.length === 64 * 1024));
  });
});
