// The S3 backend against a real S3-compatible server (s3rver): the shared
// conformance suite, then the faults of ARCHITECTURE.md 5 and 6 injected by a
// real HTTP proxy in front of the server (test/support/fault-proxy.ts), with
// the RetryingBackend wrapper as the CLI uses it.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { isLifeboatError, type LifeboatError } from "../src/errors.ts";
import { childEnvironment } from "../src/runtime/child-env.ts";
import { redact } from "../src/runtime/redact.ts";
import { isReadOnlyStorageError, type Backend } from "../src/storage/backend.ts";
import { RetryingBackend, type RetryOptions } from "../src/storage/retrying.ts";
import { S3Backend, type S3BackendOptions } from "../src/storage/s3.ts";
import { listAll, runBackendConformance } from "./support/backend-conformance.ts";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy.ts";
import { s3Environment, startS3Server, useS3Environment, type S3TestServer } from "./support/s3-server.ts";

useS3Environment();
let server: S3TestServer;
let proxy: FaultProxy;
const opened: Backend[] = [];
before(async () => {
  server = await startS3Server();
  proxy = await startFaultProxy(server.endpoint);
});
after(async () => {
  await proxy?.close();
  await server?.stop();
});

runBackendConformance("s3 (s3rver, under a prefix)", async () => {
  const bucket = await server.createBucket();
  const backend = new S3Backend({
    bucket,
    root: "prod/backups/",
    endpoint: server.endpoint,
    pathStyle: true,
  });
  return { backend, cleanup: async () => {} };
});

runBackendConformance("s3 (s3rver, bucket root, through the proxy without faults)", async () => {
  const bucket = await server.createBucket();
  const backend = new S3Backend({ bucket, root: "", endpoint: proxy.endpoint, pathStyle: true });
  return { backend, cleanup: async () => {} };
});

const KEY = "data/ab/ab01";
const bytes = (length: number) => new Uint8Array(randomBytes(length));

interface Setup {
  readonly bucket: string;
  /** The S3 backend alone, through the proxy. */
  readonly raw: S3Backend;
  /** The same wrapped as the CLI wraps it, with fast backoff. */
  readonly backend: RetryingBackend;
  /** The same bucket straight at the server, to see what really is stored. */
  readonly direct: S3Backend;
  readonly retries: { operation: string; error: unknown }[];
}

async function setup(options: Partial<S3BackendOptions> = {}, retry: RetryOptions = {}): Promise<Setup> {
  const bucket = await server.createBucket("faults");
  const raw = new S3Backend({ bucket, root: "repo/", endpoint: proxy.endpoint, pathStyle: true, ...options });
  const direct = new S3Backend({ bucket, root: "repo/", endpoint: server.endpoint, pathStyle: true });
  const retries: Setup["retries"] = [];
  const backend = new RetryingBackend(raw, {
    retries: 3,
    baseDelayMs: 1,
    maxDelayMs: 20,
    onRetry: (event) => retries.push(event),
    ...retry,
  });
  opened.push(raw, direct);
  return { bucket, raw, backend, direct, retries };
}

/** Requests the proxy saw for `key` with `method` (query included, e.g. multipart parts). */
const requestsFor = (bucket: string, method: string, key = KEY) =>
  proxy.requests.filter((r) => r.method === method && r.url.startsWith(`/${bucket}/repo/${key}`));

const objectPath = (bucket: string, key = KEY) => new RegExp(`^/${bucket}/repo/${key}`);

const failsNaming =
  (key: string, check: (error: LifeboatError) => boolean = () => true) =>
  (error: unknown) =>
    isLifeboatError(error, "STORAGE_ERROR") && error.message.includes(key) && check(error);

describe("s3 backend under injected faults", () => {
  beforeEach(() => proxy.reset());
  afterEach(async () => {
    for (const backend of opened.splice(0)) await backend.close();
  });

  test("503s are retried with backoff until the put lands; the SDK adds no retries of its own", async () => {
    const s = await setup();
    proxy.add({
      method: "PUT",
      path: objectPath(s.bucket),
      times: 2,
      fault: { kind: "status", status: 503 },
    });
    const data = bytes(1000);
    await s.backend.put(KEY, data);
    assert.equal(requestsFor(s.bucket, "PUT").length, 3, "one request per attempt");
    assert.equal(s.retries.length, 2);
    assert.ok(s.retries.every((r) => isLifeboatError(r.error) && r.error.details["status"] === 503));
    assert.deepEqual(await s.direct.get(KEY), data);
  });

  test("429 SlowDown is retried and its Retry-After is passed on to the backoff", async () => {
    const s = await setup();
    const data = bytes(100);
    await s.direct.put(KEY, data);
    proxy.add({
      method: "GET",
      path: objectPath(s.bucket),
      times: 1,
      fault: { kind: "status", status: 429, retryAfterSeconds: 1 },
    });
    assert.deepEqual(await s.backend.get(KEY), data);
    const [retry] = s.retries;
    assert.ok(isLifeboatError(retry?.error, "STORAGE_ERROR"));
    assert.equal(retry.error.details["s3Code"], "SlowDown");
    assert.equal(retry.error.details["retryAfterMs"], 1000);
  });

  test("a store that keeps failing: the put fails after the retry limit naming the key, and nothing is listed", async () => {
    const s = await setup();
    proxy.add({ method: "PUT", path: objectPath(s.bucket), fault: { kind: "status", status: 500 } });
    await assert.rejects(
      s.backend.put(KEY, bytes(1000)),
      failsNaming(KEY, (e) => /after 4 attempts/.test(e.message) && e.details["retryable"] === false),
    );
    assert.equal(requestsFor(s.bucket, "PUT").length, 4);
    assert.deepEqual(await listAll(s.direct, ""), []);
  });

  test("403 fails at once with a hint; a refused write is marked read-only (readers go on without a lock)", async () => {
    const s = await setup();
    proxy.add({ method: "PUT", path: objectPath(s.bucket), fault: { kind: "status", status: 403 } });
    await assert.rejects(s.backend.put(KEY, bytes(10)), (error) => {
      assert.ok(failsNaming(KEY)(error));
      assert.ok(isReadOnlyStorageError(error));
      assert.match((error as LifeboatError).hint, /s3:PutObject/);
      return true;
    });
    assert.equal(requestsFor(s.bucket, "PUT").length, 1, "a permanent error is not retried");
    proxy.add({ method: "GET", path: objectPath(s.bucket), fault: { kind: "status", status: 403 } });
    await assert.rejects(
      s.backend.get(KEY),
      (error) => failsNaming(KEY)(error) && !isReadOnlyStorageError(error),
    );
  });

  test("a missing bucket is a permanent error naming the bucket, with what to fix", async () => {
    const backend = new S3Backend({
      bucket: "no-such-bucket-here",
      root: "",
      endpoint: server.endpoint,
      pathStyle: true,
    });
    opened.push(backend);
    const wrapped = new RetryingBackend(backend, { baseDelayMs: 1 });
    for (const attempt of [() => wrapped.put("config", bytes(4)), () => listAll(wrapped, "")]) {
      await assert.rejects(attempt(), (error) => {
        assert.ok(isLifeboatError(error, "STORAGE_ERROR"), String(error));
        assert.equal(error.details["retryable"], false);
        assert.match(error.message, /no-such-bucket-here/);
        assert.match(error.hint, /does not exist.*repository\.endpoint/);
        return true;
      });
    }
  });

  test("a slow reply within the timeout succeeds; one beyond it times out and is retried", async () => {
    const s = await setup({ idleTimeoutMs: 1000 });
    const data = bytes(2000);
    await s.direct.put(KEY, data);
    proxy.add({ method: "GET", path: objectPath(s.bucket), times: 1, fault: { kind: "delay", ms: 100 } });
    assert.deepEqual(await s.backend.get(KEY), data);
    assert.equal(s.retries.length, 0);
    proxy.add({ method: "GET", path: objectPath(s.bucket), times: 1, fault: { kind: "delay", ms: 2500 } });
    assert.deepEqual(await s.backend.get(KEY), data);
    assert.equal(s.retries.length, 1);
    assert.ok(isLifeboatError(s.retries[0]!.error) && s.retries[0]!.error.details["retryable"] === true);
  });

  for (const kind of ["reset-mid-body", "truncate-body"] as const) {
    test(`a get whose body is cut (${kind}) is retried, and never returned short`, async () => {
      const s = await setup();
      const data = bytes(256 * 1024);
      await s.direct.put(KEY, data);
      proxy.add({ method: "GET", path: objectPath(s.bucket), times: 1, fault: { kind } });
      assert.deepEqual(await s.backend.get(KEY), data);
      assert.equal(s.retries.length, 1);
      proxy.add({ method: "GET", path: objectPath(s.bucket), fault: { kind } });
      await assert.rejects(
        s.raw.get(KEY),
        failsNaming(KEY, (e) => e.details["retryable"] === true),
      );
      await assert.rejects(
        s.backend.get(KEY),
        failsNaming(KEY, (e) => /after 4 attempts/.test(e.message)),
      );
    });
  }

  test("a put answered 200 with an XML error is a failure: nothing stored, nothing listed", async () => {
    const s = await setup();
    proxy.add({ method: "PUT", path: objectPath(s.bucket), fault: { kind: "error-in-200" } });
    await assert.rejects(s.backend.put(KEY, bytes(1000)), failsNaming(KEY));
    assert.equal(await s.direct.stat(KEY), undefined);
    assert.deepEqual(await listAll(s.direct, ""), []);
    // Forwarded (the store did keep it) once: the reply still cannot be trusted, the retry confirms.
    proxy.reset();
    s.retries.length = 0;
    proxy.add({
      method: "PUT",
      path: objectPath(s.bucket),
      times: 1,
      fault: { kind: "error-in-200", forward: true },
    });
    const data = bytes(1000);
    await s.backend.put(KEY, data);
    assert.equal(s.retries.length, 1);
    assert.deepEqual(await s.direct.get(KEY), data);
  });

  test("a get or a listing answered 200 with an XML error fails instead of returning the error or nothing", async () => {
    const s = await setup();
    await s.direct.put(KEY, bytes(100));
    proxy.add({ method: "GET", path: objectPath(s.bucket), fault: { kind: "error-in-200" } });
    await assert.rejects(
      s.raw.get(KEY),
      failsNaming(KEY, (e) => e.details["retryable"] === true),
    );
    proxy.reset();
    const listing = new RegExp(`^/${s.bucket}/?\\?list-type=2`);
    proxy.add({ method: "GET", path: listing, fault: { kind: "error-in-200" } });
    await assert.rejects(listAll(s.raw, "data/"), (error) => isLifeboatError(error, "STORAGE_ERROR"));
    proxy.reset();
    proxy.add({ method: "GET", path: listing, times: 1, fault: { kind: "error-in-200" } });
    assert.deepEqual(
      (await listAll(s.backend, "data/")).map((o) => o.key),
      [KEY],
    );
  });

  test("an upload the store keeps only half of, answering 200, fails and leaves no object", async () => {
    const s = await setup();
    proxy.add({ method: "PUT", path: objectPath(s.bucket), fault: { kind: "short-upload" } });
    await assert.rejects(
      s.backend.put(KEY, bytes(64 * 1024)),
      failsNaming(KEY, (e) => /MD5/.test(e.message)),
    );
    assert.equal(await s.direct.stat(KEY), undefined, "the short object was left visible");
    proxy.reset();
    proxy.add({ method: "PUT", path: objectPath(s.bucket), times: 1, fault: { kind: "short-upload" } });
    const data = bytes(64 * 1024);
    await s.backend.put(KEY, data);
    assert.deepEqual(await s.direct.get(KEY), data);
  });

  test("a large object goes up in parts (lowered threshold) and round-trips", async () => {
    const s = await setup({ multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
    const data = bytes(13 * 1024 * 1024);
    await s.backend.put(KEY, data);
    const posts = requestsFor(s.bucket, "POST").map((r) => r.url.split("?")[1]);
    assert.equal(posts.length, 2);
    assert.match(posts[0]!, /^uploads/);
    assert.match(posts[1]!, /uploadId=/);
    assert.equal(requestsFor(s.bucket, "PUT").filter((r) => /partNumber=/.test(r.url)).length, 3);
    assert.deepEqual(await s.direct.stat(KEY), { key: KEY, size: data.length });
    assert.ok(Buffer.from(await s.backend.get(KEY)).equals(Buffer.from(data)));
  });

  test("a multipart upload whose part keeps failing is aborted and leaves no object", async () => {
    const s = await setup({ multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
    proxy.add({
      method: "PUT",
      path: new RegExp(`^/${s.bucket}/repo/${KEY}\\?.*partNumber=2`),
      fault: { kind: "status", status: 500 },
    });
    await assert.rejects(s.backend.put(KEY, bytes(11 * 1024 * 1024)), failsNaming(KEY));
    assert.equal(
      requestsFor(s.bucket, "DELETE").filter((r) => /uploadId=/.test(r.url)).length,
      4,
      "one abort per attempt",
    );
    assert.equal(await s.direct.stat(KEY), undefined);
    assert.deepEqual(await listAll(s.direct, ""), []);
  });

  test("conditional create: without If-None-Match support the put checks first; with it the store refuses", async () => {
    // s3rver ignores If-None-Match: the probe finds that out and ifAbsent falls back to HEAD, then PUT.
    const plain = await setup();
    assert.equal(plain.raw.capabilities.conditionalPut, false);
    await plain.backend.put(KEY, Uint8Array.from([1]), { ifAbsent: true });
    assert.equal(plain.raw.capabilities.conditionalPut, false);
    proxy.reset();
    await assert.rejects(
      plain.backend.put(KEY, Uint8Array.from([2]), { ifAbsent: true }),
      (e) => isLifeboatError(e) && e.details["reason"] === "exists",
    );
    assert.deepEqual(
      proxy.requests.map((r) => r.method),
      ["HEAD"],
      "an existing object is never overwritten",
    );
    assert.deepEqual(await plain.direct.get(KEY), Uint8Array.from([1]));

    // A store that answers the probe's second put with 412 honours it: ifAbsent is then one PUT.
    const honouring = await setup();
    proxy.add({
      method: "PUT",
      header: "if-none-match",
      times: 1,
      fault: { kind: "status", status: 412, code: "PreconditionFailed" },
    });
    await honouring.backend.put(KEY, Uint8Array.from([1]), { ifAbsent: true });
    assert.equal(honouring.raw.capabilities.conditionalPut, true);
    proxy.reset();
    proxy.add({
      method: "PUT",
      header: "if-none-match",
      times: 1,
      fault: { kind: "status", status: 412, code: "PreconditionFailed" },
    });
    await assert.rejects(
      honouring.backend.put(KEY, Uint8Array.from([2]), { ifAbsent: true }),
      (e) => isLifeboatError(e) && e.details["reason"] === "exists" && e.message.includes(KEY),
    );
    assert.deepEqual(
      proxy.requests.map((r) => r.method),
      ["PUT"],
      "no check before the conditional put",
    );
    assert.deepEqual(
      await listAll(honouring.direct, ""),
      [{ key: KEY, size: 1 }],
      "the probe object is gone",
    );
  });

  test("listings page through continuation tokens and hide probe leftovers, which cleanup removes", async () => {
    const s = await setup({ listPageSize: 3 });
    const keys = Array.from({ length: 10 }, (_, i) => `snapshots/s${i}`);
    for (const key of keys) await s.direct.put(key, Uint8Array.from([1]));
    const leftover = new S3Client({ endpoint: server.endpoint, region: "us-east-1", forcePathStyle: true });
    await leftover.send(new PutObjectCommand({ Bucket: s.bucket, Key: "repo/.tmp-probe-left", Body: "" }));
    leftover.destroy();
    proxy.reset();
    assert.deepEqual(
      (await listAll(s.backend, "")).map((o) => o.key),
      [...keys].sort(),
    );
    assert.equal(proxy.requests.length, 4, "10 keys in pages of 3");
    assert.equal(
      await s.backend.cleanupInterrupted(60_000),
      0,
      "a fresh leftover may be a probe in progress",
    );
    assert.equal(await s.backend.cleanupInterrupted(0, { dryRun: true }), 1);
    assert.equal(await s.backend.cleanupInterrupted(0), 1);
    assert.equal(await s.backend.cleanupInterrupted(0), 0);
    assert.equal((await listAll(s.direct, "")).length, keys.length);
  });
});

describe("s3 backend credentials", () => {
  test("the secret key is redacted from every output and never reaches a child process", async () => {
    const bucket = await server.createBucket();
    const backend = new S3Backend({ bucket, root: "", endpoint: server.endpoint, pathStyle: true });
    await backend.put("config", Uint8Array.from([1])); // resolves credentials through the SDK chain
    await backend.close();
    assert.equal(redact(`key=${s3Environment.AWS_SECRET_ACCESS_KEY} end`), "key=*** end");
    const child = childEnvironment({}, { ...process.env, AWS_SESSION_TOKEN: "session-token-value" });
    assert.deepEqual(
      Object.keys(child).filter((name) => name.startsWith("AWS_")),
      [],
    );
  });

  test("missing credentials fail at once with what to set", async () => {
    const saved = { ...process.env };
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"])
      delete process.env[name];
    process.env["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/credentials";
    process.env["AWS_CONFIG_FILE"] = "/nonexistent/config";
    try {
      const backend = new RetryingBackend(
        new S3Backend({ bucket: "any-bucket", root: "", endpoint: server.endpoint, pathStyle: true }),
        { baseDelayMs: 1 },
      );
      await assert.rejects(backend.stat("config"), (error) => {
        assert.ok(isLifeboatError(error, "STORAGE_ERROR"), String(error));
        assert.equal(error.details["retryable"], false);
        assert.match(error.hint, /AWS_ACCESS_KEY_ID/);
        return true;
      });
      await backend.close();
    } finally {
      process.env = saved;
    }
  });
});

describe("s3 backend ranged reads", () => {
  beforeEach(() => proxy.reset());
  afterEach(async () => {
    for (const backend of opened.splice(0)) await backend.close();
  });

  test("a ranged get sends Range (a full get does not) and is retried like a full get", async () => {
    const s = await setup();
    const data = bytes(256 * 1024);
    await s.direct.put(KEY, data);
    // Every request carrying a Range header fails once: the ranged get must be one of them.
    proxy.add({ method: "GET", header: "range", times: 1, fault: { kind: "status", status: 503 } });
    const range = { offset: 1000, length: 5000 };
    assert.deepEqual(await s.backend.get(KEY, range), data.slice(1000, 6000));
    assert.equal(s.retries.length, 1);
    assert.match(s.retries[0]!.operation, /bytes 1000-5999/);
    proxy.add({ method: "GET", header: "range", fault: { kind: "status", status: 403 } });
    assert.ok(Buffer.from(await s.backend.get(KEY)).equals(Buffer.from(data)), "a full get sent Range");
  });

  for (const kind of ["reset-mid-body", "truncate-body"] as const) {
    test(`a ranged get whose body is cut (${kind}) is retried, and never returned short`, async () => {
      const s = await setup();
      const data = bytes(256 * 1024);
      await s.direct.put(KEY, data);
      const range = { offset: 4096, length: 128 * 1024 };
      proxy.add({ method: "GET", path: objectPath(s.bucket), times: 1, fault: { kind } });
      assert.deepEqual(await s.backend.get(KEY, range), data.slice(4096, 4096 + 128 * 1024));
      assert.equal(s.retries.length, 1);
      proxy.add({ method: "GET", path: objectPath(s.bucket), fault: { kind } });
      await assert.rejects(
        s.raw.get(KEY, range),
        failsNaming(KEY, (e) => e.details["retryable"] === true),
      );
    });
  }

  test("past the end: one GET, no retry; zero bytes: a HEAD says whether the object exists", async () => {
    const s = await setup();
    const data = bytes(1000);
    await s.direct.put(KEY, data);
    proxy.reset();
    assert.deepEqual(await s.backend.get(KEY, { offset: 990, length: 100 }), data.slice(990));
    assert.deepEqual(await s.backend.get(KEY, { offset: 1000, length: 100 }), new Uint8Array(0));
    assert.deepEqual(await s.backend.get(KEY, { offset: 10, length: 0 }), new Uint8Array(0));
    assert.deepEqual(
      proxy.requests.map((r) => r.method),
      ["GET", "GET", "HEAD"],
    );
    assert.equal(s.retries.length, 0, "a 416 is the empty answer, not a failure");
  });
});
