import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { makeDirectories } from "./make-directories.ts";

test("creates missing levels and returns the first one it created", async () => {
  const base = await mkdtemp(join(tmpdir(), "lifeboat-mkdirs-"));
  try {
    assert.equal(await makeDirectories(join(base, "a", "b", "c")), join(base, "a"));
    assert.ok((await stat(join(base, "a", "b", "c"))).isDirectory());
    assert.equal(await makeDirectories(join(base, "a", "b")), undefined);
    await writeFile(join(base, "file"), "");
    await assert.rejects(makeDirectories(join(base, "file", "x")), { code: "ENOTDIR" });
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test("a path under /proc fails at once instead of spinning for ever (Node's recursive mkdir does)", async () => {
  await assert.rejects(makeDirectories("/proc/lifeboat-nope/repo/keys"), { code: "ENOENT" });
});
