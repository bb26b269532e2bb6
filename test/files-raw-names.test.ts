// File names and symlink targets that are not UTF-8 (issue #6, section 4):
// they used to make the whole tree unbackupable. Real files with raw byte
// names, a round trip compared byte for byte by an independent walk, and GNU
// tar reading the same archive.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { link, lstat, mkdir, readFile, readdir, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { filesEngine } from "../src/engines/files/index.ts";
import { compareFingerprints } from "../src/domain/fingerprint.ts";
import { engineWorkdir } from "./support/engine-workdir.ts";
import { MemoryArtifacts } from "./support/memory-artifacts.ts";

const workdir = engineWorkdir("raw-names");

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part) : Buffer.from(part))));
const under = (root: string, ...names: Buffer[]) =>
  Buffer.concat([Buffer.from(root), ...names.flatMap((n) => [Buffer.from("/"), n])]);

// Latin-1 "café.txt", a lone continuation byte, an overlong "/", a UTF-16 surrogate as UTF-8,
// and two names that differ only in one invalid byte.
const latin1 = bytes("caf", [0xe9], ".txt");
const badDir = bytes([0xff, 0xfe], "-dir");
const inside = bytes("inner-", [0x80], ".bin");
const overlong = bytes("over", [0xc0, 0xaf], "long");
const surrogate = bytes("sur", [0xed, 0xa0, 0x80], "rogate");
const twinA = bytes("twin-", [0xfa]);
const twinB = bytes("twin-", [0xfb]);
const badLink = bytes("link-", [0xe9]);
const badTarget = bytes("../", [0xff, 0xfe], "-dir/inner-", [0x80], ".bin");
const hardLink = bytes("hard-", [0xe9]);
const long = Buffer.concat([Buffer.from("l".repeat(150)), Buffer.from([0xe9])]);

async function buildTree(root: string): Promise<void> {
  await mkdir(root);
  await writeFile(under(root, latin1), "latin-1 name\n");
  await mkdir(under(root, badDir));
  await writeFile(under(root, badDir, inside), Buffer.from([0, 1, 2, 255]));
  await writeFile(under(root, overlong), "overlong");
  await writeFile(under(root, surrogate), "surrogate");
  await writeFile(under(root, twinA), "A");
  await writeFile(under(root, twinB), "B");
  await writeFile(under(root, long), "long raw name");
  await writeFile(join(root, "plain-ü.txt"), "valid UTF-8 stays as it was");
  await symlink(badTarget, under(root, badDir, badLink));
  await link(under(root, latin1), under(root, hardLink));
}

/** Every path (raw, hex) under root with its type and content digest or link target: an independent walk. */
async function observe(root: string): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  const visit = async (relative: Buffer[]) => {
    for (const name of await readdir(under(root, ...relative), { encoding: "buffer" })) {
      const path = [...relative, name];
      const absolute = under(root, ...path);
      const key = Buffer.concat(path.flatMap((part, i) => (i ? [Buffer.from("/"), part] : [part]))).toString(
        "hex",
      );
      const info = await lstat(absolute);
      if (info.isSymbolicLink()) {
        result.set(key, `symlink ${(await readlink(absolute, { encoding: "buffer" })).toString("hex")}`);
      } else if (info.isDirectory()) {
        result.set(key, `dir ${(info.mode & 0o7777).toString(8)}`);
        await visit(path);
      } else {
        const digest = createHash("sha256")
          .update(await readFile(absolute))
          .digest("hex");
        result.set(key, `file ${(info.mode & 0o7777).toString(8)} ${info.nlink} ${digest}`);
      }
    }
  };
  await visit([]);
  return result;
}

describe("names that are not UTF-8", () => {
  let source: string;
  let artifacts: MemoryArtifacts;
  let captured: Awaited<ReturnType<typeof filesEngine.capture>>;

  before(async () => {
    source = join(workdir.base, "source");
    await buildTree(source);
    artifacts = new MemoryArtifacts();
    captured = await filesEngine.capture({ engine: "files", path: source }, artifacts, workdir.context);
  });

  test("the tree is captured, every raw name counted", () => {
    assert.equal(captured.fingerprint.counts.files, 9, "eight files and one hard link");
    assert.equal(captured.fingerprint.counts.directories, 1);
    assert.equal(captured.fingerprint.counts.symlinks, 1);
  });

  test("a restore recreates exactly the bytes of every name and link target", async () => {
    const target = join(workdir.base, "restored");
    await filesEngine.restore({ artifacts, engineMeta: captured.engineMeta }, target, {}, workdir.context);
    assert.deepEqual(await observe(target), await observe(source));
    assert.deepEqual(
      compareFingerprints(captured.fingerprint, await filesEngine.fingerprint(target, workdir.context)),
      [],
    );
    assert.equal((await lstat(under(target, hardLink))).ino, (await lstat(under(target, latin1))).ino);
  });

  test("names differing in one invalid byte stay distinct in the fingerprint", async () => {
    const swapped = join(workdir.base, "swapped");
    await buildTree(swapped);
    await writeFile(under(swapped, twinA), "B");
    await writeFile(under(swapped, twinB), "A");
    const other = await filesEngine.capture(
      { engine: "files", path: swapped },
      new MemoryArtifacts(),
      workdir.context,
    );
    assert.notEqual(other.fingerprint.hashes.tree, captured.fingerprint.hashes.tree);
  });

  test("capturing the restored tree gives the same archive bytes (dedup holds for raw names)", async () => {
    const again = new MemoryArtifacts();
    const second = await filesEngine.capture(
      { engine: "files", path: join(workdir.base, "restored") },
      again,
      workdir.context,
    );
    assert.deepEqual(second.fingerprint, captured.fingerprint);
    // mtimes of the restored tree are the source's (whole seconds), so the archive is the same.
    assert.equal(again.artifacts[0]?.sha256, artifacts.artifacts[0]?.sha256);
  });

  test("GNU tar extracts the archive to the same bytes (pax path + hdrcharset=BINARY)", async () => {
    const archive = join(workdir.base, "tree.tar");
    await writeFile(archive, artifacts.stored.get("tree.tar")!);
    const gnu = join(workdir.base, "gnu");
    await mkdir(gnu);
    // GNU tar 1.34 warns that it ignores hdrcharset (it takes the raw bytes either way).
    execFileSync("tar", ["-xf", archive, "-C", gnu], { stdio: ["ignore", "ignore", "pipe"] });
    assert.deepEqual(await observe(gnu), await observe(source));
  });
});
