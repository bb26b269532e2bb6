import assert from "node:assert/strict";
import { test } from "node:test";
import { isLifeboatError } from "../errors.ts";
import { FsBackend } from "./fs.ts";
import { MemoryBackend } from "./memory.ts";
import { openBackend, supportedSchemes } from "./registry.ts";
import { parseS3Url } from "./s3-url.ts";

test("file:// opens a filesystem backend at the absolute path", () => {
  const backend = openBackend("file:///var/backups/lifeboat");
  assert.ok(backend instanceof FsBackend);
  assert.equal(backend.location, "/var/backups/lifeboat");
  assert.equal(openBackend("file:///tmp/with%20space").location, "/tmp/with space");
});

test("memory:// is fresh each time; memory://name is shared within the process", async () => {
  const a = openBackend("memory://");
  assert.ok(a instanceof MemoryBackend);
  assert.notEqual(openBackend("memory://"), a);
  const named = openBackend("memory://shared-test");
  await named.put("config", Uint8Array.from([1]));
  assert.deepEqual(await openBackend("memory://shared-test").get("config"), Uint8Array.from([1]));
});

test("unknown schemes and malformed URLs are BAD_CONFIG listing the supported schemes", () => {
  assert.deepEqual(supportedSchemes, ["file", "s3", "memory"]);
  for (const url of ["gs://bucket/prefix", "ftp://user:secret@host/x", "/var/backups", "relative/path"]) {
    assert.throws(
      () => openBackend(url),
      (e) =>
        isLifeboatError(e, "BAD_CONFIG") &&
        e.message.includes("file:///var/backups/lifeboat") &&
        !e.message.includes("secret"),
      url,
    );
  }
});

test("file:// with a host or the filesystem root is refused", () => {
  assert.throws(
    () => openBackend("file://server/share"),
    (e) => isLifeboatError(e, "BAD_CONFIG"),
  );
  assert.throws(
    () => openBackend("file:///"),
    (e) => isLifeboatError(e, "BAD_CONFIG"),
  );
});

test("s3:// opens the S3 backend: bucket, optional prefix, endpoint shown without credentials", async () => {
  const backend = openBackend("s3://lifeboat-backups/prod", {
    endpoint: "http://127.0.0.1:9000",
    pathStyle: true,
  });
  assert.equal(backend.location, "s3://lifeboat-backups/prod at http://127.0.0.1:9000");
  assert.equal(openBackend("s3://lifeboat-backups").location, "s3://lifeboat-backups");
  await backend.close();
  assert.deepEqual(parseS3Url("s3://lifeboat-backups/prod/"), { bucket: "lifeboat-backups", root: "prod/" });
  assert.deepEqual(parseS3Url("s3://Legacy_Bucket/a/b"), { bucket: "Legacy_Bucket", root: "a/b/" });
  assert.deepEqual(parseS3Url("s3://lifeboat-backups"), { bucket: "lifeboat-backups", root: "" });
});

test("s3:// URLs with credentials, a bad bucket, a bad prefix or a query are BAD_CONFIG", () => {
  const cases: [string, RegExp][] = [
    ["s3://AKIA:secret-key@bucket/prefix", /credentials never go in lifeboat.yaml/],
    ["s3://ab/prefix", /not a bucket name/],
    ["s3:///prefix", /not a bucket name/],
    ["s3://bucket/a/../b", /'\.\.'/],
    ["s3://bucket/a//b", /empty/],
    ["s3://bucket/prefix?region=eu-west-1", /no query/],
  ];
  for (const [url, why] of cases) {
    assert.throws(
      () => openBackend(url),
      (e) => isLifeboatError(e, "BAD_CONFIG") && why.test(e.message) && !e.message.includes("secret-key"),
      url,
    );
  }
});
