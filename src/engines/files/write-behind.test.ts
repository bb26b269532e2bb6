// Write-behind during extraction: the bound holds, a failure reaches the
// extraction, and an extraction that fails leaves nothing writing and no
// descriptor open; many files written behind the reading come back exact.

import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { encodeEntryHeader, endOfArchive, type EntryHeader } from "./archive-entry.ts";
import { extractTree } from "./extract.ts";
import { paddingFor } from "./tar-header.ts";
import { WriteBehind } from "./write-behind.ts";

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

describe("WriteBehind", () => {
  test("waits while more bytes than the bound are in flight, and not before", async () => {
    const behind = new WriteBehind(10, 100);
    const first = deferred();
    await behind.add(first.promise, 6); // 6 of 10: returns at once
    const second = deferred();
    let returned = false;
    const adding = behind.add(second.promise, 6).then(() => (returned = true)); // 12 of 10: waits
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(returned, false, "the second add waits for the first write");
    first.resolve();
    await adding;
    assert.equal(returned, true);
    second.resolve();
    await behind.drain();
  });

  test("a failed task is thrown by the next add and by drain; settle waits and never throws", async () => {
    const behind = new WriteBehind(1000, 100);
    const failing = deferred();
    await behind.add(failing.promise, 1);
    const slow = deferred();
    await behind.add(slow.promise, 1);
    failing.reject(new Error("ENOSPC: no space left on device"));
    await new Promise((resolve) => setImmediate(resolve));
    const refused = deferred();
    await assert.rejects(behind.add(refused.promise, 1), /ENOSPC/);
    let settled = false;
    const settling = behind.settle().then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, "settle waits for the task still running");
    slow.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, "and for the task added as the failure was thrown");
    refused.resolve();
    await settling;
    await assert.rejects(behind.drain(), /ENOSPC/);
  });
});

const header = (fields: Partial<EntryHeader>): EntryHeader => ({
  path: Buffer.from("a.txt"),
  type: "file",
  mode: 0o640,
  uid: process.getuid?.() ?? 0,
  gid: process.getgid?.() ?? 0,
  mtime: 1_700_000_000,
  size: 0,
  ...fields,
});

function fileEntry(path: string, data: Buffer): Buffer[] {
  return [
    encodeEntryHeader(header({ path: Buffer.from(path), size: data.length })),
    data,
    Buffer.alloc(paddingFor(data.length)),
  ];
}

/** Bytes as the repository yields them: in separate pieces of `piece` bytes. */
function inPieces(bytes: Buffer, piece: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += piece) {
    pieces.push(Buffer.from(bytes.subarray(offset, offset + piece)));
  }
  return pieces;
}

async function openDescriptors(): Promise<number> {
  return (await readdir("/proc/self/fd")).length;
}

describe("extraction with writes behind the reading", () => {
  test("many files, several megabytes each in many pieces, come back byte for byte with their modes", async (t) => {
    const root = await mkdtemp(join(tmpdir(), "lifeboat-write-behind-"));
    t.after(() => rm(root, { recursive: true, force: true }));
    const contents = Array.from({ length: 40 }, (_, index) =>
      Buffer.alloc(256 * 1024 + index * 9973, `file ${index};`),
    );
    const archive = Buffer.concat([
      encodeEntryHeader(header({ path: Buffer.from("dir/"), type: "dir", mode: 0o750 })),
      ...contents.flatMap((data, index) => fileEntry(`dir/f${index}`, data)),
      endOfArchive,
    ]);
    const before = await openDescriptors();
    // Small pieces (64 KiB): every file is many writes, in flight together with other files'.
    await extractTree(Readable.from(inPieces(archive, 64 * 1024)), root, undefined, undefined, {
      sync: true,
    });
    for (const [index, data] of contents.entries()) {
      const path = join(root, "dir", `f${index}`);
      assert.ok((await readFile(path)).equals(data), `f${index} is exact`);
      assert.equal((await stat(path)).mode & 0o7777, 0o640);
      assert.equal((await stat(path)).mtimeMs, 1_700_000_000_000, "its mtime applied after its last write");
    }
    assert.equal((await stat(join(root, "dir"))).mtimeMs, 1_700_000_000_000, "the directory's mtime last");
    assert.equal(await openDescriptors(), before, "every file closed");
  });

  test("a stream that fails mid-archive rejects the extraction only once nothing writes any more", async (t) => {
    const root = await mkdtemp(join(tmpdir(), "lifeboat-write-behind-"));
    t.after(() => rm(root, { recursive: true, force: true }));
    const pieces = inPieces(
      Buffer.concat([
        ...Array.from({ length: 20 }, (_, index) =>
          fileEntry(`f${index}`, Buffer.alloc(512 * 1024, index)),
        ).flat(),
        endOfArchive,
      ]),
      128 * 1024,
    );
    const failAt = Math.floor(pieces.length / 2);
    async function* damaged() {
      for (const [index, piece] of pieces.entries()) {
        if (index === failAt) throw new Error("CHECKSUM_MISMATCH: chunk damaged in storage");
        yield piece;
      }
    }
    const before = await openDescriptors();
    await assert.rejects(extractTree(Readable.from(damaged()), root), /CHECKSUM_MISMATCH/);
    assert.equal(await openDescriptors(), before, "no file left open");
    const sizes = async () =>
      Promise.all((await readdir(root)).map(async (name) => (await stat(join(root, name))).size));
    const after = await sizes();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(await sizes(), after, "nothing is still being written after the rejection");
  });
});
