import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { writeFileWhole } from "./write-whole.ts";

test("replaces the file whole; a failed rename leaves the old contents and no temporary", async () => {
  const dir = await mkdtemp(join(tmpdir(), "lifeboat-write-whole-"));
  try {
    const file = join(dir, "metrics.prom");
    await writeFileWhole(file, "one\n");
    await writeFileWhole(file, "two\n", { mode: 0o644 });
    assert.equal(await readFile(file, "utf8"), "two\n");
    await mkdir(join(dir, "taken"));
    await mkdir(join(dir, "taken", "inside")); // a non-empty directory: rename(2) onto it fails
    await assert.rejects(writeFileWhole(join(dir, "taken"), "three\n"));
    assert.deepEqual((await readdir(dir)).sort(), ["metrics.prom", "taken"]);
    await writeFileWhole(join(dir, "a", "b", "c.yaml"), "x", { makeParents: true });
    assert.equal(await readFile(join(dir, "a", "b", "c.yaml"), "utf8"), "x");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
