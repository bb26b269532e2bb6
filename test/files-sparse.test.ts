// Sparse files (issue #6, section 4): a file of hundreds of MiB holding a few
// KiB of data used to be stored at full size and restored fully allocated.
// Real sparse files on the test's filesystem: the stored artifact is small,
// the restore is byte-identical and still sparse, GNU tar reads the same
// archive, and damaged or hostile sparse entries leave the target untouched
// (fault 1).

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { filesEngine } from "../src/engines/files/index.ts";
import { compareFingerprints } from "../src/domain/fingerprint.ts";
import { isLifeboatError } from "../src/errors.ts";
import { engineWorkdir } from "./support/engine-workdir.ts";
import { CorruptArtifacts, MemoryArtifacts } from "./support/memory-artifacts.ts";

/** Big enough to make the point; holes still cost reading zeros (~1 s per GiB here), so not 1 GiB. */
const SIZE = 256 * 1024 * 1024;
const workdir = engineWorkdir("sparse");

/** `truncate -s size`, then data written at each offset: a file with holes between. */
async function sparseFile(path: string, size: number, writes: [number, Buffer][]): Promise<void> {
  await writeFile(path, "");
  await truncate(path, size);
  const handle = await open(path, "r+");
  try {
    for (const [offset, data] of writes) await handle.write(data, 0, data.length, offset);
  } finally {
    await handle.close();
  }
}

/** The data written into disk.img, checked region by region (reading all its zeros again would only slow the test). */
const diskData: [number, Buffer][] = [
  [0, Buffer.from("header at the start")],
  [100 * 1024 * 1024 + 123, randomBytes(10_000)], // unaligned, across a 4 KiB boundary
  [SIZE - 3, Buffer.from("end")],
];

async function assertDiskImage(path: string): Promise<void> {
  assert.equal((await stat(path)).size, SIZE);
  assert.ok((await stat(path)).blocks * 512 < 1024 * 1024, `${path} stays sparse`);
  const handle = await open(path);
  try {
    for (const [offset, data] of diskData) {
      // Each region with 4 KiB of its surroundings, which must be zeros.
      const start = Math.max(0, offset - 4096);
      const around = Buffer.alloc(Math.min(SIZE, offset + data.length + 4096) - start);
      await handle.read(around, 0, around.length, start);
      const expected = Buffer.alloc(around.length);
      data.copy(expected, offset - start);
      assert.ok(around.equals(expected), `bytes around offset ${offset}`);
    }
  } finally {
    await handle.close();
  }
}

const allocated = async (path: string) => (await stat(path)).blocks * 512;
const leftovers = async () => (await readdir(workdir.base)).filter((name) => name.includes(".lifeboat-"));

describe("sparse files", () => {
  let source: string;
  let artifacts: MemoryArtifacts;
  let captured: Awaited<ReturnType<typeof filesEngine.capture>>;

  before(async () => {
    source = join(workdir.base, "source");
    await mkdir(source);
    await sparseFile(join(source, "disk.img"), SIZE, diskData);
    await sparseFile(join(source, "all-hole"), 64 * 1024 * 1024, []);
    await sparseFile(join(source, "ends-in-hole"), 10 * 1024 * 1024, [[4096, Buffer.from("data")]]);
    // Zeros written for real (allocated): not sparse, so stored verbatim as before.
    await writeFile(join(source, "written-zeros"), Buffer.alloc(256 * 1024));
    assert.ok((await allocated(join(source, "disk.img"))) < 1024 * 1024, "the test filesystem keeps holes");
    artifacts = new MemoryArtifacts();
    captured = await filesEngine.capture({ engine: "files", path: source }, artifacts, workdir.context);
  });

  test("only the data is stored: kilobytes for a 256 MiB file", () => {
    const stored = artifacts.artifacts[0]!.size;
    assert.ok(stored < 256 * 1024 + 64 * 1024, `artifact is ${stored} bytes`);
    assert.ok(stored > 256 * 1024, "the allocated zeros are stored as they are");
    assert.equal(captured.fingerprint.counts.bytes, SIZE + 64 * 1024 * 1024 + 10 * 1024 * 1024 + 256 * 1024);
  });

  test("the restore is byte-identical, verifies, and keeps the holes", async () => {
    const target = join(workdir.base, "restored");
    await filesEngine.restore({ artifacts, engineMeta: captured.engineMeta }, target, {}, workdir.context);
    // The fingerprint hashes every byte of the restored files (holes read as zeros).
    assert.deepEqual(
      compareFingerprints(captured.fingerprint, await filesEngine.fingerprint(target, workdir.context)),
      [],
    );
    await assertDiskImage(join(target, "disk.img"));
    for (const name of ["all-hole", "ends-in-hole", "written-zeros"]) {
      execFileSync("cmp", [join(source, name), join(target, name)]); // throws on the first difference
      assert.equal((await stat(join(target, name))).size, (await stat(join(source, name))).size, name);
    }
    assert.equal(await allocated(join(target, "all-hole")), 0);
    assert.ok((await allocated(join(target, "ends-in-hole"))) <= 64 * 1024);
    assert.deepEqual(await leftovers(), []);
  });

  test("an unchanged sparse file gives the same archive bytes", async () => {
    const again = new MemoryArtifacts();
    await filesEngine.capture({ engine: "files", path: source }, again, workdir.context);
    assert.equal(again.artifacts[0]?.sha256, artifacts.artifacts[0]?.sha256);
  });

  test("GNU tar extracts the archive (GNU sparse 1.0) to the same bytes, sparse", async () => {
    const archive = join(workdir.base, "tree.tar");
    await writeFile(archive, artifacts.stored.get("tree.tar")!);
    const gnu = join(workdir.base, "gnu");
    await mkdir(gnu);
    execFileSync("tar", ["-xf", archive, "-C", gnu]);
    await assertDiskImage(join(gnu, "disk.img"));
    execFileSync("cmp", [join(source, "ends-in-hole"), join(gnu, "ends-in-hole")]);
    assert.deepEqual((await readdir(gnu)).sort(), ["all-hole", "disk.img", "ends-in-hole", "written-zeros"]);
    await rm(archive);
  });

  test("a stream damaged inside the sparse data leaves the target untouched and no partial", async () => {
    const corrupt = new CorruptArtifacts();
    corrupt.corrupt = "tree.tar";
    for (const [name, bytes] of artifacts.stored) await corrupt.write(name, Readable.from([bytes]));
    const target = join(workdir.base, "precious");
    await mkdir(target);
    await writeFile(join(target, "keep.txt"), "precious");
    await assert.rejects(
      filesEngine.restore({ artifacts: corrupt, engineMeta: {} }, target, { force: true }, workdir.context),
      (error) => isLifeboatError(error, "CHECKSUM_MISMATCH"),
    );
    assert.deepEqual(await readdir(target), ["keep.txt"]);
    assert.deepEqual(await leftovers(), []);
  });

  test("a sparse map whose segments overlap is refused, and nothing reaches the target", async () => {
    const hostile = Buffer.from(artifacts.stored.get("tree.tar")!);
    // disk.img's map (GNU sparse 1.0, at the start of its data): 3 segments at 0, 100 MiB, 256 MiB - 4 KiB.
    const map = hostile.indexOf("3\n0\n4096\n104857600\n");
    assert.ok(map > 0, "the map is in the archive where GNU sparse 1.0 puts it");
    // Same length, so the archive stays aligned: the second segment now overlaps the first.
    hostile.write("000000001", map + "3\n0\n4096\n".length, "ascii");
    const evil = new MemoryArtifacts();
    // The map is data, not header: no tar checksum covers it; the reader's checks must.
    await evil.write("tree.tar", Readable.from([hostile]));
    const target = join(workdir.base, "hostile");
    await assert.rejects(
      filesEngine.restore({ artifacts: evil, engineMeta: {} }, target, {}, workdir.context),
      (error) => isLifeboatError(error, "VERIFICATION_FAILED") && /sparse map/.test(error.message),
    );
    await assert.rejects(stat(target), { code: "ENOENT" });
    assert.deepEqual(await leftovers(), []);
  });
});
