import assert from "node:assert/strict";
import { test } from "node:test";
import { isLifeboatError } from "../errors.ts";
import { FsBackend } from "./fs.ts";
import { MemoryBackend } from "./memory.ts";
import { openBackend, supportedSchemes } from "./registry.ts";

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
  assert.deepEqual(supportedSchemes, ["file", "memory"]);
  for (const url of ["s3://bucket/prefix", "ftp://user:secret@host/x", "/var/backups", "relative/path"]) {
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
