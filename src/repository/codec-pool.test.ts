// The codec pool produces exactly the bytes of the format (compared with the
// main-thread code), reports failures as the same named errors, and neither
// keeps a process alive nor outlives the last close().

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { discard, forTransfer } from "./buffers.ts";
import { acquireCodecPool, CodecPool } from "./codec-pool.ts";
import { decodePayload } from "./compression.ts";
import { chunkIdOf, generateMasterKey } from "./crypto.ts";
import { unseal } from "./envelope.ts";
import { compressible, rejectsWith } from "../../test/support/repository-testing.ts";

const key = "data/ab/ab00";

describe("codec pool", () => {
  for (const protection of ["aes-256-gcm", "none"] as const) {
    it(`hashes and seals chunks as the main thread would read them (${protection})`, async () => {
      const pool = new CodecPool(2);
      try {
        const master = generateMasterKey();
        const context = pool.context(master, protection, 4 * 1024 * 1024);
        for (const plaintext of [
          compressible(300_000),
          randomBytes(200_000),
          Buffer.from("x"),
          Buffer.alloc(0),
        ]) {
          const expected = Buffer.from(plaintext);
          const held = await context.hash(plaintext);
          assert.equal(held.id, chunkIdOf(master, expected));
          const sealed = await held.seal(key);
          const payload = unseal(key, sealed, protection, master.encryption);
          assert.deepEqual(await decodePayload(key, payload, 4 * 1024 * 1024), expected);
          assert.deepEqual(await context.open(key, held.id, Buffer.from(sealed)), expected);
        }
      } finally {
        await pool.close();
      }
    });
  }

  it("reports damage and truncation as the named errors of the format", async () => {
    const pool = new CodecPool(1);
    try {
      const master = generateMasterKey();
      const context = pool.context(master, "aes-256-gcm", 4 * 1024 * 1024);
      const plaintext = compressible(100_000);
      const length = plaintext.length;
      const held = await context.hash(plaintext);
      const sealed = Buffer.from(await held.seal(key));
      const flipped = Buffer.from(sealed);
      flipped[flipped.length - 20]! ^= 1;
      const damaged = await rejectsWith(context.open(key, held.id, flipped), "CHECKSUM_MISMATCH");
      assert.equal(damaged.details["object"], key);
      const moved = await rejectsWith(context.open("data/cd/cd00", held.id, sealed), "CHECKSUM_MISMATCH");
      assert.equal(moved.details["object"], "data/cd/cd00");
      await rejectsWith(context.open(key, held.id, sealed.subarray(0, 40)), "OBJECT_TRUNCATED");
      await rejectsWith(context.open(key, "00".repeat(32), sealed), "CHECKSUM_MISMATCH");
      // The worker is still serving after the failures.
      assert.equal((await context.open(key, held.id, sealed)).length, length);
    } finally {
      await pool.close();
    }
  });

  it("keeps many requests in flight and answers each with its own result", async () => {
    const pool = new CodecPool(2);
    try {
      const master = generateMasterKey();
      const context = pool.context(master, "aes-256-gcm", 4 * 1024 * 1024);
      const chunks = Array.from({ length: 40 }, (_, i) =>
        Buffer.concat([Buffer.from(`${i}:`), randomBytes(70_000)]),
      );
      const helds = await Promise.all(chunks.map((chunk) => context.hash(Buffer.from(chunk))));
      assert.deepEqual(
        helds.map((held) => held.id),
        chunks.map((chunk) => chunkIdOf(master, chunk)),
      );
      helds.filter((_, i) => i % 2 === 1).forEach((held) => held.drop());
      const sealed = await Promise.all(helds.filter((_, i) => i % 2 === 0).map((held) => held.seal(key)));
      const opened = await Promise.all(sealed.map((bytes, i) => context.open(key, helds[i * 2]!.id, bytes)));
      assert.deepEqual(
        opened,
        chunks.filter((_, i) => i % 2 === 0),
      );
    } finally {
      await pool.close();
    }
  });

  it("fails the requests of a closed pool instead of hanging", async () => {
    const pool = new CodecPool(1);
    const context = pool.context(generateMasterKey(), "aes-256-gcm", 4 * 1024 * 1024);
    const pending = rejectsWith(context.hash(randomBytes(100_000)), "INTERNAL");
    await pool.close();
    await pending;
    await rejectsWith(context.hash(Buffer.from("after close")), "INTERNAL");
  });

  it("is shared while acquired and started afresh after the last release", async () => {
    const first = acquireCodecPool();
    const second = acquireCodecPool();
    assert.equal(first.pool, second.pool);
    await first.release();
    await first.release(); // a second release of the same handle is ignored
    const context = second.pool.context(generateMasterKey(), "none", 1024 * 1024);
    assert.equal((await context.hash(Buffer.from("still open"))).id.length, 64);
    await second.release();
    const third = acquireCodecPool();
    assert.notEqual(third.pool, first.pool);
    await third.release();
  });

  it("does not keep the process alive when a repository is never closed", () => {
    const script = `
      import { Readable } from "node:stream";
      import { newRepository, draft, readAll } from "./test/support/repository-testing.ts";
      const { repository } = await newRepository();
      const writer = await repository.newSnapshotWriter();
      await writer.write("a", Readable.from([Buffer.alloc(300000, 7)]));
      const snapshot = await writer.commit(draft());
      const back = await readAll(repository, snapshot.id, "a");
      console.log(back.length);
    `;
    // Run as `node --input-type=module -e`: workers must not inherit flags they cannot take.
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL("../..", import.meta.url),
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(child.stderr, "");
    assert.equal(child.stdout.trim(), "300000");
    assert.equal(child.status, 0);
  });
});

describe("buffers", () => {
  it("transfers a buffer it owns and copies small or sparse views", () => {
    const large = new Uint8Array(200_000);
    assert.equal(forTransfer(large).bytes, large);
    const small = Buffer.from("small");
    const copied = forTransfer(small);
    assert.notEqual(copied.bytes, small);
    assert.deepEqual(Buffer.from(copied.bytes), small);
    const sparse = new Uint8Array(1_000_000).subarray(0, 100_000);
    assert.notEqual(forTransfer(sparse).bytes, sparse);
  });

  it("frees a large buffer at once and leaves small ones alone", () => {
    const large = new Uint8Array(200_000);
    discard(large);
    assert.equal(large.length, 0);
    const small = Buffer.from("small");
    discard(small);
    assert.equal(small.toString(), "small");
  });
});
