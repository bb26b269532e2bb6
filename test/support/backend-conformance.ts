// The conformance suite every backend runs (restic's internal/backend/test and
// Hono's shared case files are the model). Each contract stated in backend.ts
// has a test here; a new backend is done when this suite passes against it.
//
// Usage, in a backend's own test file:
//   runBackendConformance("fs", async () => ({ backend, cleanup }));

import { randomBytes } from "node:crypto";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isLifeboatError } from "../../src/errors.ts";
import type { Backend, ByteRange, ObjectInfo } from "../../src/storage/backend.ts";
import { listKeys } from "../../src/storage/backend.ts";

export interface BackendFixture {
  readonly backend: Backend;
  cleanup(): Promise<void>;
}

export async function listAll(backend: Backend, prefix: string): Promise<ObjectInfo[]> {
  const found: ObjectInfo[] = [];
  for await (const info of backend.list(prefix)) {
    // The write time is optional (prune's grace period uses it); where listed it is a real, recent time.
    if (info.modifiedMs !== undefined)
      assert.ok(
        Math.abs(Date.now() - info.modifiedMs) < 86_400_000,
        `${info.key}: modifiedMs ${info.modifiedMs}`,
      );
    found.push({ key: info.key, size: info.size });
  }
  return found.sort((a, b) => a.key.localeCompare(b.key));
}

export function runBackendConformance(name: string, makeBackend: () => Promise<BackendFixture>): void {
  /** Run `body` against a fresh backend, always cleaning up. */
  const withBackend = (body: (backend: Backend) => Promise<void>) => async () => {
    const fixture = await makeBackend();
    try {
      await body(fixture.backend);
    } finally {
      await fixture.backend.close();
      await fixture.cleanup();
    }
  };

  describe(`backend conformance: ${name}`, () => {
    test("location is a non-empty printable string", async () => {
      const fixture = await makeBackend();
      try {
        assert.equal(typeof fixture.backend.location, "string");
        assert.ok(fixture.backend.location.length > 0);
        assert.equal(fixture.backend.capabilities.atomicPut, true);
      } finally {
        await fixture.cleanup();
      }
    });

    test(
      "put/get round trip: empty, binary and 5 MiB objects",
      withBackend(async (backend) => {
        const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
        const big = new Uint8Array(randomBytes(5 * 1024 * 1024));
        await backend.put("data/empty", new Uint8Array(0));
        await backend.put("data/binary", allBytes);
        await backend.put("data/big", big);
        assert.deepEqual(await backend.get("data/empty"), new Uint8Array(0));
        assert.deepEqual(await backend.get("data/binary"), allBytes);
        const bigBack = await backend.get("data/big");
        assert.equal(bigBack.length, big.length);
        assert.ok(Buffer.from(bigBack).equals(Buffer.from(big)), "5 MiB object differs after round trip");
      }),
    );

    test(
      "ranged get: start, middle, end, past the end (short), beyond the end (empty), zero length",
      withBackend(async (backend) => {
        const MiB = 1024 * 1024;
        const small = Uint8Array.from({ length: 256 }, (_, i) => i);
        const big = new Uint8Array(randomBytes(5 * MiB));
        await backend.put("data/small", small);
        await backend.put("data/big", big);
        const cases = (size: number): ByteRange[] => [
          { offset: 0, length: 1 },
          { offset: 0, length: 10 },
          { offset: 3, length: Math.floor(size / 2) },
          { offset: size - 10, length: 10 },
          { offset: size - 10, length: 25 },
          { offset: size - 1, length: 1 },
          { offset: 0, length: size },
          { offset: 0, length: size + 1 },
          { offset: size, length: 10 },
          { offset: size + 1000, length: 10 },
          { offset: 7, length: 0 },
          { offset: size + 7, length: 0 },
        ];
        const bigCases = [...cases(big.length), { offset: MiB - 1, length: 3 * MiB + 2 }];
        for (const [key, data, ranges] of [
          ["data/small", small, cases(small.length)],
          ["data/big", big, bigCases],
        ] as const) {
          for (const range of ranges) {
            const expected = data.subarray(range.offset, range.offset + range.length);
            const back = await backend.get(key, range);
            assert.ok(back instanceof Uint8Array, `${key} ${JSON.stringify(range)}: not a Uint8Array`);
            assert.equal(back.length, expected.length, `${key} ${JSON.stringify(range)}: length`);
            assert.ok(
              Buffer.from(back).equals(Buffer.from(expected)),
              `${key} ${JSON.stringify(range)}: other bytes than stored`,
            );
          }
        }
      }),
    );

    test(
      "ranged get of an empty object returns no bytes",
      withBackend(async (backend) => {
        await backend.put("data/empty", new Uint8Array(0));
        // Not { offset: 0, length: 10 }: s3rver answers bytes=0-9 of an empty
        // object with Content-Length 1 and no body (S3 answers 416); packs are never empty.
        for (const range of [
          { offset: 0, length: 0 },
          { offset: 5, length: 10 },
        ]) {
          assert.deepEqual(await backend.get("data/empty", range), new Uint8Array(0), JSON.stringify(range));
        }
      }),
    );

    test(
      "ranged get of a missing object rejects with OBJECT_MISSING, whatever the range",
      withBackend(async (backend) => {
        await backend.put("data/ab/present", Uint8Array.from([1]));
        for (const key of ["data/ab/missing", "data/ab/present/below"]) {
          for (const range of [
            { offset: 0, length: 10 },
            { offset: 1000, length: 10 },
            { offset: 0, length: 0 },
          ]) {
            await assert.rejects(
              backend.get(key, range),
              (error) => isLifeboatError(error, "OBJECT_MISSING") && error.details.key === key,
              `${key} ${JSON.stringify(range)}`,
            );
          }
        }
      }),
    );

    test(
      "ranged get with an invalid range is a bug: INTERNAL, for present and missing objects",
      withBackend(async (backend) => {
        await backend.put("data/ab/present", Uint8Array.from([1, 2, 3]));
        const bad = [
          { offset: -1, length: 1 },
          { offset: 0, length: -1 },
          { offset: 0.5, length: 1 },
          { offset: 0, length: 1.5 },
          { offset: Number.NaN, length: 1 },
          { offset: 0, length: Number.POSITIVE_INFINITY },
          { offset: Number.MAX_SAFE_INTEGER + 1, length: 1 },
          { offset: Number.MAX_SAFE_INTEGER, length: 1 },
          { offset: "1", length: 1 } as unknown as ByteRange,
        ];
        for (const key of ["data/ab/present", "data/ab/missing"]) {
          for (const range of bad) {
            await assert.rejects(
              backend.get(key, range),
              (error) => isLifeboatError(error, "INTERNAL") && error.message.includes(key),
              `${key} ${JSON.stringify(range)}`,
            );
          }
        }
      }),
    );

    test(
      "stored bytes are independent of the caller's buffers",
      withBackend(async (backend) => {
        const data = Uint8Array.from([1, 2, 3]);
        await backend.put("a/obj", data);
        data[0] = 99;
        const back = await backend.get("a/obj");
        back[1] = 99;
        const part = await backend.get("a/obj", { offset: 1, length: 2 });
        part[1] = 99;
        assert.deepEqual(await backend.get("a/obj"), Uint8Array.from([1, 2, 3]));
      }),
    );

    test(
      "put overwrites an existing object",
      withBackend(async (backend) => {
        await backend.put("config", Uint8Array.from([1, 1, 1, 1]));
        await backend.put("config", Uint8Array.from([2]));
        assert.deepEqual(await backend.get("config"), Uint8Array.from([2]));
        assert.deepEqual(await backend.stat("config"), { key: "config", size: 1 });
      }),
    );

    test(
      "put ifAbsent writes a new object and refuses an existing one, leaving the original",
      withBackend(async (backend) => {
        await backend.put("snapshots/s1", Uint8Array.from([1]), { ifAbsent: true });
        await assert.rejects(
          backend.put("snapshots/s1", Uint8Array.from([2, 2]), { ifAbsent: true }),
          (error) =>
            isLifeboatError(error, "STORAGE_ERROR") &&
            error.details.reason === "exists" &&
            error.message.includes("snapshots/s1"),
        );
        assert.deepEqual(await backend.get("snapshots/s1"), Uint8Array.from([1]));
        assert.deepEqual(await listAll(backend, "snapshots/"), [{ key: "snapshots/s1", size: 1 }]);
      }),
    );

    test(
      "get of a missing object rejects with OBJECT_MISSING naming the key",
      withBackend(async (backend) => {
        await assert.rejects(
          backend.get("data/ab/missing"),
          (error) => isLifeboatError(error, "OBJECT_MISSING") && error.details.key === "data/ab/missing",
        );
        await backend.put("data/ab/present", Uint8Array.from([1]));
        await assert.rejects(backend.get("data/ab/present/below"), (error) =>
          isLifeboatError(error, "OBJECT_MISSING"),
        );
      }),
    );

    test(
      "stat gives the size, or undefined for a missing object",
      withBackend(async (backend) => {
        await backend.put("data/x/obj", new Uint8Array(1234));
        assert.deepEqual(await backend.stat("data/x/obj"), { key: "data/x/obj", size: 1234 });
        assert.equal(await backend.stat("data/x/none"), undefined);
        assert.equal(await backend.stat("nothing/here"), undefined);
      }),
    );

    test(
      "list returns nested keys under a prefix, with sizes, and nothing else",
      withBackend(async (backend) => {
        assert.deepEqual(await listAll(backend, "data/"), [], "an unused prefix lists nothing");
        await backend.put("config", new Uint8Array(3));
        await backend.put("data/00/0011", new Uint8Array(1));
        await backend.put("data/ff/ffee", new Uint8Array(2));
        await backend.put("data/top", new Uint8Array(0));
        await backend.put("snapshots/s1", new Uint8Array(4));
        await backend.put("database/x", new Uint8Array(5)); // shares "data" but not "data/"
        assert.deepEqual(await listAll(backend, "data/"), [
          { key: "data/00/0011", size: 1 },
          { key: "data/ff/ffee", size: 2 },
          { key: "data/top", size: 0 },
        ]);
        assert.deepEqual(await listAll(backend, "data/ff/"), [{ key: "data/ff/ffee", size: 2 }]);
        assert.deepEqual(await listAll(backend, "snapshots/"), [{ key: "snapshots/s1", size: 4 }]);
        assert.deepEqual(
          (await listAll(backend, "")).map((o) => o.key),
          ["config", "data/00/0011", "data/ff/ffee", "data/top", "database/x", "snapshots/s1"],
        );
        // The keys-only listing (a stat-free walk where the backend has one) lists the same keys.
        for (const prefix of ["data/", "data/ff/", "snapshots/", "", "nothing/"]) {
          const keys: string[] = [];
          for await (const key of listKeys(backend, prefix)) keys.push(key);
          assert.deepEqual(
            keys.sort(),
            (await listAll(backend, prefix)).map((o) => o.key),
            `listKeys ${prefix}`,
          );
        }
      }),
    );

    test(
      "list includes an object put just before",
      withBackend(async (backend) => {
        for (let i = 0; i < 20; i++) {
          const key = `locks/lock-${i}`;
          await backend.put(key, Uint8Array.from([i]));
          const keys = (await listAll(backend, "locks/")).map((o) => o.key);
          assert.ok(keys.includes(key), `${key} not listed right after put`);
          assert.equal(keys.length, i + 1);
        }
      }),
    );

    test(
      "delete removes the object and is idempotent",
      withBackend(async (backend) => {
        await backend.put("locks/l1", Uint8Array.from([1]));
        await backend.put("locks/l2", Uint8Array.from([2]));
        await backend.delete("locks/l1");
        await backend.delete("locks/l1");
        await backend.delete("locks/never-existed");
        await backend.delete("no/such/folder/obj");
        assert.equal(await backend.stat("locks/l1"), undefined);
        await assert.rejects(backend.get("locks/l1"), (error) => isLifeboatError(error, "OBJECT_MISSING"));
        assert.deepEqual(await listAll(backend, "locks/"), [{ key: "locks/l2", size: 1 }]);
      }),
    );

    test(
      "concurrent puts of different keys all land whole",
      withBackend(async (backend) => {
        const objects = Array.from({ length: 64 }, (_, i) => ({
          key: `data/${(i % 8).toString(16).padStart(2, "0")}/obj-${i}`,
          data: new Uint8Array(randomBytes(1000 + i * 97)),
        }));
        await Promise.all(objects.map((o) => backend.put(o.key, o.data)));
        for (const o of objects) assert.deepEqual(await backend.get(o.key), o.data);
        assert.equal((await listAll(backend, "data/")).length, objects.length);
      }),
    );

    test(
      "two concurrent puts of the same key leave one whole object",
      withBackend(async (backend) => {
        const a = new Uint8Array(256 * 1024).fill(0xaa);
        const b = new Uint8Array(300 * 1024).fill(0xbb);
        await Promise.all([backend.put("config", a), backend.put("config", b)]);
        const back = await backend.get("config");
        const whole = Buffer.from(back).equals(Buffer.from(a)) || Buffer.from(back).equals(Buffer.from(b));
        assert.ok(whole, `object is a mix of both writes (${back.length} bytes)`);
        assert.equal((await listAll(backend, "")).length, 1, "a temp file or duplicate is listed");
      }),
    );

    test(
      "concurrent conditional puts of the same key: exactly one wins (when conditionalPut)",
      withBackend(async (backend) => {
        if (!backend.capabilities.conditionalPut) return;
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) =>
            backend.put("snapshots/race", Uint8Array.from([i]), { ifAbsent: true }),
          ),
        );
        const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
        assert.equal(winners.length, 1, `expected one winner, got ${winners.length}`);
        for (const r of results) {
          if (r.status === "rejected") {
            assert.ok(isLifeboatError(r.reason, "STORAGE_ERROR") && r.reason.details.reason === "exists");
          }
        }
        assert.deepEqual(await backend.get("snapshots/race"), Uint8Array.from([winners[0]!]));
      }),
    );

    test(
      "cleanupInterrupted never removes complete objects",
      withBackend(async (backend) => {
        await backend.put("data/aa/obj", Uint8Array.from([1]));
        assert.equal(await backend.cleanupInterrupted(0), 0);
        assert.deepEqual(await backend.get("data/aa/obj"), Uint8Array.from([1]));
      }),
    );
  });
}
