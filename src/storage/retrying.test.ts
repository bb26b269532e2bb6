import assert from "node:assert/strict";
import { test } from "node:test";
import { LifeboatError, isLifeboatError } from "../errors.ts";
import type { Backend } from "./backend.ts";
import { listAll, runBackendConformance } from "../../test/support/backend-conformance.ts";
import { FaultyBackend } from "../../test/support/faulty-backend.ts";
import { MemoryBackend } from "./memory.ts";
import { RetryingBackend, isRetryable } from "./retrying.ts";

// The wrapper must not weaken any contract of what it wraps.
runBackendConformance("retrying(memory)", async () => ({
  backend: new RetryingBackend(new MemoryBackend(), { sleep: async () => {} }),
  cleanup: async () => {},
}));

function setup(plan: ConstructorParameters<typeof FaultyBackend>[1] = {}, retries = 3) {
  const memory = new MemoryBackend();
  const faulty = new FaultyBackend(memory, plan);
  const delays: number[] = [];
  const backend = new RetryingBackend(faulty, {
    retries,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    random: () => 0.5,
    sleep: async (ms) => {
      delays.push(ms);
    },
  });
  return { memory, faulty, backend, delays };
}

test("isRetryable: retryable storage errors and network errnos only", () => {
  assert.ok(isRetryable(new LifeboatError("STORAGE_ERROR", "503", { details: { retryable: true } })));
  assert.ok(!isRetryable(new LifeboatError("STORAGE_ERROR", "403", { details: { retryable: false } })));
  assert.ok(!isRetryable(new LifeboatError("STORAGE_ERROR", "no flag")));
  assert.ok(!isRetryable(new LifeboatError("OBJECT_MISSING", "gone", { details: { retryable: true } })));
  for (const code of ["ECONNRESET", "ETIMEDOUT", "EPIPE"]) {
    assert.ok(isRetryable(Object.assign(new Error(code), { code })), code);
  }
  assert.ok(!isRetryable(Object.assign(new Error("ENOSPC"), { code: "ENOSPC" })));
  assert.ok(!isRetryable(new TypeError("bug")));
});

test("retries 503s with exponential backoff and succeeds", async () => {
  const { memory, faulty, backend, delays } = setup({ failNext: { get: 3 } });
  await memory.put("data/aa/x", Uint8Array.from([1, 2]));
  assert.deepEqual(await backend.get("data/aa/x"), Uint8Array.from([1, 2]));
  assert.equal(faulty.calls.get, 4);
  // ceiling 100, 200, 400; equal jitter with random() = 0.5 gives 3/4 of each.
  assert.deepEqual(delays, [75, 150, 300]);
});

test("backoff is capped at maxDelayMs", async () => {
  const { memory, backend, delays } = setup({ failNext: { stat: 6 } }, 6);
  await memory.put("k", Uint8Array.from([1]));
  assert.deepEqual(await backend.stat("k"), { key: "k", size: 1 });
  assert.deepEqual(delays, [75, 150, 300, 600, 750, 750]);
});

test("a 429's retry-after is honoured", async () => {
  const { memory, backend, delays } = setup({ failNext: { get: 1 }, failure: "throttled" });
  await memory.put("k", Uint8Array.from([1]));
  await backend.get("k");
  assert.deepEqual(delays, [1000]);
});

test("retry limit is enforced and the final error says how many attempts were made", async () => {
  const { faulty, backend, memory } = setup({ failNext: { put: 100 } }, 3);
  await assert.rejects(backend.put("data/aa/x", Uint8Array.from([1])), (error) => {
    assert.ok(isLifeboatError(error, "STORAGE_ERROR"));
    assert.match(error.message, /put data\/aa\/x failed after 4 attempts \(3 retries\): .*503/);
    assert.equal(error.details.attempts, 4);
    assert.equal(error.details.retryable, false);
    return true;
  });
  assert.equal(faulty.calls.put, 4);
  assert.equal(await memory.stat("data/aa/x"), undefined, "a failed put leaves no object");
});

test("ECONNRESET (a reset mid-body) is retried", async () => {
  const { memory, faulty, backend } = setup({ failNext: { get: 2 }, failure: "reset" });
  await memory.put("k", Uint8Array.from([9]));
  assert.deepEqual(await backend.get("k"), Uint8Array.from([9]));
  assert.equal(faulty.calls.get, 3);
});

test("non-retryable errors pass through immediately", async () => {
  const { faulty, backend, delays } = setup({ failNext: { delete: 1 }, failure: "forbidden" });
  await assert.rejects(
    backend.delete("k"),
    (e) => isLifeboatError(e, "STORAGE_ERROR") && /403/.test(e.message),
  );
  assert.equal(faulty.calls.delete, 1);
  assert.deepEqual(delays, []);
});

test("OBJECT_MISSING is never retried", async () => {
  const { faulty, backend, delays } = setup();
  await assert.rejects(backend.get("nope"), (e) => isLifeboatError(e, "OBJECT_MISSING"));
  assert.equal(faulty.calls.get, 1);
  assert.deepEqual(delays, []);
});

test("an ifAbsent 'exists' refusal is not retried", async () => {
  const { memory, faulty, backend } = setup();
  await memory.put("snapshots/s", Uint8Array.from([1]));
  await assert.rejects(
    backend.put("snapshots/s", Uint8Array.from([2]), { ifAbsent: true }),
    (e) => isLifeboatError(e, "STORAGE_ERROR") && e.details.reason === "exists",
  );
  assert.equal(faulty.calls.put, 1);
});

test("a conditional put whose first attempt landed but whose reply was lost succeeds on retry", async () => {
  const memory = new MemoryBackend();
  let first = true;
  // The write reaches the store, then the connection drops before the reply.
  const lossy: Backend = Object.assign(Object.create(memory) as MemoryBackend, {
    async put(key: string, data: Uint8Array, options?: { ifAbsent?: boolean }) {
      await memory.put(key, data, options);
      if (first) {
        first = false;
        throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
      }
    },
  });
  const backend = new RetryingBackend(lossy, { sleep: async () => {} });
  await backend.put("snapshots/s", Uint8Array.from([7]), { ifAbsent: true });
  assert.deepEqual(await memory.get("snapshots/s"), Uint8Array.from([7]));
  // But someone else's object under the same key is still a refusal.
  first = true;
  await memory.put("snapshots/t", Uint8Array.from([1]));
  await assert.rejects(backend.put("snapshots/t", Uint8Array.from([2]), { ifAbsent: true }), (e) =>
    isLifeboatError(e, "STORAGE_ERROR"),
  );
});

test("a listing that fails midway restarts without duplicates", async () => {
  const { memory, faulty, backend } = setup({ failListAfter: 2 });
  for (let i = 0; i < 5; i++) await memory.put(`data/${i}`, Uint8Array.from([i]));
  const listed = await listAll(backend, "data/");
  assert.deepEqual(
    listed.map((o) => o.key),
    ["data/0", "data/1", "data/2", "data/3", "data/4"],
  );
  assert.equal(faulty.calls.list, 2);
});

test("a listing that keeps failing gives up", async () => {
  const { faulty, backend } = setup({ failNext: { list: 10 } }, 2);
  await assert.rejects(
    listAll(backend, "data/"),
    (e) => isLifeboatError(e, "STORAGE_ERROR") && /3 attempts/.test(e.message),
  );
  assert.equal(faulty.calls.list, 3);
});

test("a ranged get is retried like a full one: the same range each attempt, named when retries run out", async () => {
  const memory = new MemoryBackend();
  await memory.put("data/pack", Uint8Array.from([1, 2, 3, 4]));
  const faulty = new FaultyBackend(memory, { failNext: { get: 2 }, failure: "reset" });
  const asked: unknown[] = [];
  // Records what the retry layer asks for on every attempt, then passes it on.
  const recording: Backend = Object.assign(Object.create(faulty) as FaultyBackend, {
    get(key: string, range?: { offset: number; length: number }) {
      asked.push(range);
      return faulty.get(key, range);
    },
  });
  const backend = new RetryingBackend(recording, { retries: 3, sleep: async () => {} });
  assert.deepEqual(await backend.get("data/pack", { offset: 1, length: 2 }), Uint8Array.from([2, 3]));
  assert.deepEqual(asked, Array(3).fill({ offset: 1, length: 2 }));

  faulty.plan.failNext = { get: 100 };
  faulty.plan.failure = "unavailable";
  await assert.rejects(
    backend.get("data/pack", { offset: 1, length: 2 }),
    (e) =>
      isLifeboatError(e, "STORAGE_ERROR") &&
      /^get data\/pack \(bytes 1-2\) failed after 4 attempts/.test(e.message),
  );
  faulty.plan.failNext = {};
  asked.length = 0;
  await assert.rejects(backend.get("data/none", { offset: 0, length: 2 }), (e) =>
    isLifeboatError(e, "OBJECT_MISSING"),
  );
  assert.equal(asked.length, 1, "a missing object is not retried");
});
