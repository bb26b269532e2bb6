import assert from "node:assert/strict";
import { test } from "node:test";
import { isLifeboatError } from "../src/errors.ts";
import { runBackendConformance } from "./support/backend-conformance.ts";
import { FaultyBackend } from "./support/faulty-backend.ts";
import { MemoryBackend } from "../src/storage/memory.ts";
import { RetryingBackend } from "../src/storage/retrying.ts";

// With an empty plan the wrapper is transparent.
runBackendConformance("faulty(memory, no faults)", async () => ({
  backend: new FaultyBackend(new MemoryBackend()),
  cleanup: async () => {},
}));

const bytes = Uint8Array.from([10, 20, 30, 40, 50, 60]);

async function stored(plan: ConstructorParameters<typeof FaultyBackend>[1]) {
  const memory = new MemoryBackend();
  await memory.put("data/aa/obj", bytes);
  await memory.put("data/bb/other", bytes);
  return { memory, faulty: new FaultyBackend(memory, plan) };
}

test("failNext fails exactly N calls of one operation with a retryable 503", async () => {
  const { faulty } = await stored({ failNext: { get: 2 } });
  for (let i = 0; i < 2; i++) {
    await assert.rejects(
      faulty.get("data/aa/obj"),
      (e) => isLifeboatError(e, "STORAGE_ERROR") && e.details.retryable === true && e.details.status === 503,
    );
  }
  assert.deepEqual(await faulty.get("data/aa/obj"), bytes);
  assert.deepEqual(
    await faulty.stat("data/aa/obj"),
    { key: "data/aa/obj", size: 6 },
    "other operations unaffected",
  );
});

test("flipByte flips one bit of matching objects only, leaving storage intact", async () => {
  const { memory, faulty } = await stored({ flipByte: { match: /^data\/aa\//, offset: 2 } });
  const damaged = await faulty.get("data/aa/obj");
  assert.equal(damaged.length, bytes.length);
  assert.deepEqual(
    [...damaged].map((b, i) => b !== bytes[i]),
    [false, false, true, false, false, false],
  );
  assert.deepEqual(await faulty.get("data/bb/other"), bytes);
  assert.deepEqual(await memory.get("data/aa/obj"), bytes);
});

test("truncate returns a short object", async () => {
  const { faulty } = await stored({ truncate: { match: "data/aa/obj", times: 1 } });
  assert.deepEqual(await faulty.get("data/aa/obj"), bytes.slice(0, 3));
  assert.deepEqual(await faulty.get("data/aa/obj"), bytes, "times: 1 is used up");
  const zero = new FaultyBackend(faulty, { truncate: { match: () => true, length: 0 } });
  assert.equal((await zero.get("data/bb/other")).length, 0);
});

test("corruptFirstGet: the first read of each key is corrupt, the next is good", async () => {
  const { faulty } = await stored({ corruptFirstGet: /^data\// });
  assert.notDeepEqual(await faulty.get("data/aa/obj"), bytes);
  assert.deepEqual(await faulty.get("data/aa/obj"), bytes);
  assert.notDeepEqual(await faulty.get("data/bb/other"), bytes);
  assert.deepEqual(await faulty.get("data/bb/other"), bytes);
});

test("failPut fails the upload and writes nothing", async () => {
  const { memory, faulty } = await stored({ failPut: { match: "snapshots/s1", retryable: false } });
  await assert.rejects(faulty.put("snapshots/s1", bytes), (e) => isLifeboatError(e, "STORAGE_ERROR"));
  assert.equal(await memory.stat("snapshots/s1"), undefined);
  await faulty.put("snapshots/s2", bytes);
  assert.deepEqual(await memory.get("snapshots/s2"), bytes);
});

test("a plan can be armed between steps", async () => {
  const { faulty } = await stored({});
  await faulty.get("data/aa/obj");
  faulty.plan.failNext = { get: 1 };
  await assert.rejects(faulty.get("data/aa/obj"));
  assert.deepEqual(await faulty.get("data/aa/obj"), bytes);
  assert.equal(faulty.calls.get, 3);
});

test("retrying + faulty: a flaky put within the limit lands once; past the limit leaves nothing", async () => {
  const memory = new MemoryBackend();
  const faulty = new FaultyBackend(memory, { failPut: { match: /^data\//, times: 2 } });
  const backend = new RetryingBackend(faulty, { retries: 2, sleep: async () => {} });
  await backend.put("data/aa/a", bytes);
  assert.deepEqual(await memory.get("data/aa/a"), bytes);
  assert.equal(faulty.calls.put, 3);

  faulty.plan.failPut = { match: /^data\//, times: 3 };
  await assert.rejects(
    backend.put("data/aa/b", bytes),
    (e) => isLifeboatError(e, "STORAGE_ERROR") && e.details.attempts === 3,
  );
  assert.equal(await memory.stat("data/aa/b"), undefined);
});

test("retrying does not hide corruption: a corrupt read is returned as read (the verifier's job is to catch it)", async () => {
  const { faulty } = await stored({ flipByte: { match: "data/aa/obj" } });
  const backend = new RetryingBackend(faulty, { sleep: async () => {} });
  assert.notDeepEqual(await backend.get("data/aa/obj"), bytes);
  assert.equal(faulty.calls.get, 1);
});

test("ranged reads: flipByte and truncate at an object offset damage only the reads that cover it", async () => {
  const pack = Uint8Array.from({ length: 100 }, (_, i) => i);
  const memory = new MemoryBackend();
  await memory.put("data/pack", pack);
  const faulty = new FaultyBackend(memory, { flipByte: { match: "data/pack", offset: 50, times: 1 } });
  const differs = (got: Uint8Array, from: number) =>
    [...got].flatMap((b, i) => (b !== pack[from + i] ? [i] : []));
  assert.deepEqual(await faulty.get("data/pack", { offset: 0, length: 10 }), pack.slice(0, 10));
  // The read above did not cover byte 50, so it did not use up `times`.
  assert.deepEqual(differs(await faulty.get("data/pack", { offset: 45, length: 10 }), 45), [5]);
  assert.deepEqual(await faulty.get("data/pack", { offset: 45, length: 10 }), pack.slice(45, 55));

  faulty.plan.flipByte = { match: "data/pack" };
  assert.deepEqual(differs(await faulty.get("data/pack", { offset: 10, length: 20 }), 10), [10]);
  faulty.plan.flipByte = undefined;

  faulty.plan.truncate = { match: "data/pack", length: 60 };
  assert.deepEqual(await faulty.get("data/pack", { offset: 0, length: 10 }), pack.slice(0, 10));
  assert.deepEqual(await faulty.get("data/pack", { offset: 55, length: 10 }), pack.slice(55, 60));
  assert.deepEqual(await faulty.get("data/pack", { offset: 70, length: 10 }), new Uint8Array(0));
  assert.equal((await faulty.get("data/pack")).length, 60);
  faulty.plan.truncate = { match: "data/pack" };
  assert.deepEqual(await faulty.get("data/pack", { offset: 10, length: 20 }), pack.slice(10, 20));
  assert.deepEqual(await memory.get("data/pack"), pack, "storage itself is intact");
});

test("ranged reads: corruptFirstGet corrupts the first read of each range, its re-read is good", async () => {
  const pack = Uint8Array.from({ length: 100 }, (_, i) => i);
  const memory = new MemoryBackend();
  await memory.put("data/pack", pack);
  const faulty = new FaultyBackend(memory, { corruptFirstGet: "data/pack" });
  for (const range of [
    { offset: 0, length: 10 },
    { offset: 10, length: 30 },
  ]) {
    const expected = pack.slice(range.offset, range.offset + range.length);
    assert.notDeepEqual(await faulty.get("data/pack", range), expected);
    assert.deepEqual(await faulty.get("data/pack", range), expected);
  }
});
