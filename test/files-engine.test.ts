// The files engine against real directory trees: fidelity of a round trip
// (checked by an independent walk, not only by the engine's fingerprint),
// determinism, restore guards, corrupt streams and hostile archives.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chmod,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Header } from "tar";
import { filesEngine } from "../src/engines/files/index.ts";
import type { EngineContext } from "../src/engines/engine.ts";
import { compareFingerprints } from "../src/domain/fingerprint.ts";
import { LifeboatError, isLifeboatError } from "../src/errors.ts";
import { processRunner } from "../src/runtime/process.ts";
import type { Logger } from "../src/runtime/logger.ts";
import { MemoryArtifacts } from "./support/memory-artifacts.ts";
import { isSameTarget } from "./support/identity.ts";

let base: string;
const warnings: string[] = [];
const log: Logger = { debug() {}, info() {}, warn: (message) => warnings.push(message), error() {} };
let context: EngineContext;

before(async () => {
  base = await mkdtemp(join(tmpdir(), "lifeboat-files-"));
  await mkdir(join(base, "spool"));
  context = { runner: processRunner, log, tempDir: join(base, "spool") };
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

const longDirectory = "d".repeat(120);
const longFile = `${"long-name-".repeat(15)}🚀.txt`;

async function buildTree(root: string): Promise<void> {
  await mkdir(join(root, "a", "b", "c"), { recursive: true });
  await mkdir(join(root, "empty"));
  await mkdir(join(root, "a", "b", "empty-too"));
  await mkdir(join(root, "日本"));
  await mkdir(join(root, longDirectory));
  await writeFile(join(root, "top.txt"), "top\n");
  await writeFile(join(root, "a", "b", "c", "deep.txt"), "deep\n".repeat(1000));
  await writeFile(join(root, "café-é.txt"), "é");
  await writeFile(join(root, "日本", "ファイル.txt"), "日本語\n");
  await writeFile(join(root, "emoji-🚀🎉.txt"), "🎉");
  await writeFile(join(root, longDirectory, longFile), "long\n");
  await writeFile(join(root, "zero-bytes"), "");
  await writeFile(join(root, "random.bin"), randomBytes(3 * 1024 * 1024));
  await writeFile(join(root, "secret.txt"), "secret", { mode: 0o600 });
  await writeFile(join(root, "run.sh"), "#!/bin/sh\necho hi\n");
  await chmod(join(root, "run.sh"), 0o755);
  await writeFile(join(root, "setuid-tool"), "x");
  await chmod(join(root, "setuid-tool"), 0o4755);
  await writeFile(join(root, "group-writable"), "x");
  await chmod(join(root, "group-writable"), 0o664);
  await mkdir(join(root, "private-dir"), { mode: 0o700 });
  await writeFile(join(root, "private-dir", "inside"), "in");
  await mkdir(join(root, "sticky"));
  await chmod(join(root, "sticky"), 0o1777);
  await symlink("../top.txt", join(root, "a", "link-to-top"));
  await symlink("does/not/exist", join(root, "dangling"));
  await symlink("/etc/hostname", join(root, "absolute-link"));
  await symlink("../../outside-the-tree", join(root, "a", "escaping-link"));
  await symlink("日本", join(root, "link-to-dir"));
  await link(join(root, "top.txt"), join(root, "hard-link-to-top"));
}

interface Observed {
  type: string;
  mode: number;
  size: number;
  content: string;
  mtimeSeconds: number;
}

/** An independent walk (not the engine's): every path with its type, mode, size, content digest or link target, mtime. */
async function observe(root: string): Promise<Map<string, Observed>> {
  const result = new Map<string, Observed>();
  const visit = async (relative: string) => {
    for (const name of await readdir(join(root, relative))) {
      const path = relative ? `${relative}/${name}` : name;
      const info = await lstat(join(root, path));
      const mtimeSeconds = Math.floor(info.mtimeMs / 1000);
      if (info.isSymbolicLink()) {
        result.set(path, {
          type: "symlink",
          mode: 0,
          size: 0,
          content: await readlink(join(root, path)),
          mtimeSeconds,
        });
      } else if (info.isDirectory()) {
        result.set(path, { type: "dir", mode: info.mode & 0o7777, size: 0, content: "", mtimeSeconds });
        await visit(path);
      } else if (info.isFIFO()) {
        result.set(path, { type: "fifo", mode: info.mode & 0o7777, size: 0, content: "", mtimeSeconds });
      } else {
        const content = createHash("sha256")
          .update(await readFile(join(root, path)))
          .digest("hex");
        result.set(path, { type: "file", mode: info.mode & 0o7777, size: info.size, content, mtimeSeconds });
      }
    }
  };
  await visit("");
  return result;
}

function leftovers(names: string[]): string[] {
  return names.filter((name) => name.includes(".lifeboat-partial-") || name.includes(".lifeboat-old-"));
}

describe("files engine", () => {
  let source: string;
  let artifacts: MemoryArtifacts;
  let captured: Awaited<ReturnType<typeof filesEngine.capture>>;

  before(async () => {
    source = join(base, "source");
    await mkdir(source);
    await buildTree(source);
    execFileSync("mkfifo", [join(source, "a-fifo")]);
    artifacts = new MemoryArtifacts();
    captured = await filesEngine.capture({ engine: "files", path: source }, artifacts, context);
  });

  test("capture fingerprints the tree, skips a FIFO with a warning and records metadata", async () => {
    assert.deepEqual(
      artifacts.artifacts.map((artifact) => artifact.name),
      ["tree.tar", "tree.index"],
    );
    const counts = captured.fingerprint.counts;
    assert.equal(counts.symlinks, 5);
    assert.equal(counts.files, 14, "hard-linked names count as files");
    assert.equal(counts.directories, 9);
    assert.ok((counts.bytes ?? 0) > 3 * 1024 * 1024);
    assert.match(captured.fingerprint.hashes.tree ?? "", /^[0-9a-f]{64}$/);
    assert.deepEqual(captured.engineMeta, { path: source, files: 14 });
    assert.ok(warnings.some((warning) => warning.includes("fifo") && warning.includes("a-fifo")));
  });

  test("a round trip is identical by fingerprint and by an independent walk", async () => {
    const target = join(base, "restored");
    const phases: string[] = [];
    const restoreContext = { ...context, onPhase: (phase: string) => phases.push(phase) };
    await filesEngine.restore({ artifacts, engineMeta: captured.engineMeta }, target, {}, restoreContext);
    assert.deepEqual(phases, ["restore"]);
    const restored = await filesEngine.fingerprint(target, context);
    assert.deepEqual(compareFingerprints(captured.fingerprint, restored), []);

    const expected = await observe(source);
    expected.delete("a-fifo");
    const actual = await observe(target);
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
    for (const [path, facts] of expected) assert.deepEqual(actual.get(path), facts, path);
    assert.equal((await lstat(join(target, "setuid-tool"))).mode & 0o7777, 0o4755);
    assert.equal(await readlink(join(target, "absolute-link")), "/etc/hostname");
    assert.equal(await readlink(join(target, "a", "escaping-link")), "../../outside-the-tree");
    assert.equal(
      (await lstat(join(target, "hard-link-to-top"))).ino,
      (await lstat(join(target, "top.txt"))).ino,
    );
    assert.equal((await lstat(target)).mode & 0o7777, (await lstat(source)).mode & 0o7777);
    assert.deepEqual(leftovers(await readdir(base)), []);
  });

  test("an unchanged tree captured again gives a byte-identical artifact", async () => {
    // Reading (atime) and a no-op chmod (ctime) change no data and must change no byte.
    await readFile(join(source, "top.txt"));
    await chmod(join(source, "run.sh"), 0o755);
    const again = new MemoryArtifacts();
    const second = await filesEngine.capture({ engine: "files", path: source }, again, context);
    assert.equal(again.artifacts[0]?.sha256, artifacts.artifacts[0]?.sha256);
    assert.deepEqual(second.fingerprint, captured.fingerprint);
  });

  test("a non-empty target is refused; --force replaces it; an empty directory is replaced", async () => {
    const target = join(base, "occupied");
    await mkdir(target);
    await writeFile(join(target, "keep.txt"), "mine");
    await assert.rejects(
      filesEngine.restore({ artifacts, engineMeta: {} }, target, {}, context),
      (error) => isLifeboatError(error, "TARGET_NOT_EMPTY") && error.message.includes(target),
    );
    assert.equal(await readFile(join(target, "keep.txt"), "utf8"), "mine");
    assert.equal((await filesEngine.inspectTarget(target, context)).empty, false);

    await filesEngine.restore({ artifacts, engineMeta: {} }, target, { force: true }, context);
    assert.deepEqual(
      compareFingerprints(captured.fingerprint, await filesEngine.fingerprint(target, context)),
      [],
    );
    await assert.rejects(lstat(join(target, "keep.txt")), { code: "ENOENT" });
    assert.deepEqual(leftovers(await readdir(base)), []);

    const empty = join(base, "empty-target");
    await mkdir(empty);
    assert.equal((await filesEngine.inspectTarget(empty, context)).empty, true);
    await filesEngine.restore({ artifacts, engineMeta: {} }, empty, {}, context);
    assert.deepEqual(
      compareFingerprints(captured.fingerprint, await filesEngine.fingerprint(empty, context)),
      [],
    );
  });

  test("a stream that fails verification midway leaves the target untouched and no partial directory", async () => {
    class CorruptArtifacts extends MemoryArtifacts {
      override open(name: string): Readable {
        const bytes = this.stored.get(name) ?? Buffer.alloc(0);
        const cut = Math.floor(bytes.length / 2);
        return Readable.from(
          (async function* () {
            yield bytes.subarray(0, cut);
            throw new LifeboatError(
              "CHECKSUM_MISMATCH",
              `chunk 9c1e of artifact ${name} failed authentication`,
            );
          })(),
        );
      }
    }
    const corrupt = new CorruptArtifacts();
    for (const [name, bytes] of artifacts.stored) await corrupt.write(name, Readable.from([bytes]));
    const target = join(base, "precious");
    await mkdir(join(target, "sub"), { recursive: true });
    await writeFile(join(target, "sub", "data.txt"), "precious data");
    const before = await observe(target);

    await assert.rejects(
      filesEngine.restore({ artifacts: corrupt, engineMeta: {} }, target, { force: true }, context),
      (error) => isLifeboatError(error, "CHECKSUM_MISMATCH"),
    );
    assert.deepEqual(await observe(target), before);
    assert.deepEqual(leftovers(await readdir(base)), []);

    const fresh = join(base, "never-created");
    await assert.rejects(
      filesEngine.restore({ artifacts: corrupt, engineMeta: {} }, fresh, {}, context),
      (error) => isLifeboatError(error, "CHECKSUM_MISMATCH"),
    );
    await assert.rejects(lstat(fresh), { code: "ENOENT" });
    assert.deepEqual(leftovers(await readdir(base)), []);
  });

  describe("hostile archives are refused, and nothing is written outside the target", () => {
    function handmadeTar(
      entries: { path: string; type: "File" | "Link" | "SymbolicLink"; body?: string; linkpath?: string }[],
    ): Buffer {
      const blocks: Buffer[] = [];
      for (const entry of entries) {
        const body = Buffer.from(entry.body ?? "");
        const header = new Header({
          path: entry.path,
          type: entry.type,
          mode: 0o644,
          size: body.length,
          mtime: new Date(0),
          linkpath: entry.linkpath,
        });
        header.encode();
        blocks.push(header.block ?? Buffer.alloc(0), body, Buffer.alloc((512 - (body.length % 512)) % 512));
      }
      blocks.push(Buffer.alloc(1024));
      return Buffer.concat(blocks);
    }

    const cases = [
      {
        name: "a '..' path",
        entries: [{ path: "../escaped.txt", type: "File" as const, body: "evil" }],
        outside: "escaped.txt",
      },
      {
        name: "a nested '..' path",
        entries: [{ path: "ok/../../escaped2.txt", type: "File" as const, body: "evil" }],
        outside: "escaped2.txt",
      },
      {
        name: "an absolute path",
        entries: [{ path: "ABSOLUTE", type: "File" as const, body: "evil" }],
        outside: "absolute.txt",
      },
      {
        name: "a hard link out of the tree",
        entries: [{ path: "innocent", type: "Link" as const, linkpath: "../spool/victim" }],
        outside: "none",
      },
    ];
    for (const hostile of cases) {
      test(hostile.name, async () => {
        const entries = hostile.entries.map((entry) => ({
          ...entry,
          path: entry.path === "ABSOLUTE" ? join(base, "absolute.txt") : entry.path,
        }));
        const evil = new MemoryArtifacts();
        await evil.write(
          "tree.tar",
          Readable.from([handmadeTar([{ path: "fine.txt", type: "File", body: "ok" }, ...entries])]),
        );
        const target = join(base, `hostile-${hostile.outside}`);
        await assert.rejects(
          filesEngine.restore({ artifacts: evil, engineMeta: {} }, target, {}, context),
          (error) =>
            isLifeboatError(error, "VERIFICATION_FAILED") && /cannot be restored safely/.test(error.message),
        );
        await assert.rejects(lstat(join(base, hostile.outside)), { code: "ENOENT" });
        await assert.rejects(lstat(target), { code: "ENOENT" });
        assert.deepEqual(leftovers(await readdir(base)), []);
      });
    }
  });

  test("a file deleted while the capture runs fails it loudly, naming the file", async () => {
    const busy = join(base, "busy-tree");
    await mkdir(busy);
    for (let i = 0; i < 40; i++)
      await writeFile(join(busy, `file-${String(i).padStart(2, "0")}`), randomBytes(2000));
    const doomed = join(busy, "file-39");
    class DeletingSink extends MemoryArtifacts {
      override async write(name: string, data: Readable | AsyncIterable<Uint8Array>) {
        const deleteOnFirstChunk = async function* () {
          let first = true;
          for await (const chunk of data) {
            if (first) await rm(doomed);
            first = false;
            yield chunk as Uint8Array;
          }
        };
        return super.write(name, deleteOnFirstChunk());
      }
    }
    const sink = new DeletingSink();
    await assert.rejects(
      filesEngine.capture({ engine: "files", path: busy }, sink, context),
      (error) => isLifeboatError(error, "SOURCE_TOOL_FAILED") && error.message.includes(doomed),
    );
    assert.equal(sink.artifacts.length, 0, "no artifact is recorded for a failed capture");
  });

  test("missing or non-directory sources are SOURCE_UNREACHABLE naming the path", async () => {
    const missing = join(base, "no-such-dir");
    await assert.rejects(
      filesEngine.capture({ engine: "files", path: missing }, new MemoryArtifacts(), context),
      (error) => isLifeboatError(error, "SOURCE_UNREACHABLE") && error.message.includes(missing),
    );
    await assert.rejects(
      filesEngine.capture({ engine: "files", path: join(source, "top.txt") }, new MemoryArtifacts(), context),
      (error) => isLifeboatError(error, "SOURCE_UNREACHABLE"),
    );
  });

  test("a target whose parent does not exist is TARGET_UNREACHABLE", async () => {
    await assert.rejects(
      filesEngine.restore({ artifacts, engineMeta: {} }, join(base, "nope", "target"), {}, context),
      (error) => isLifeboatError(error, "TARGET_UNREACHABLE"),
    );
  });

  test("isSameAsSource: the source, an alias, inside it or around it", async () => {
    const config = { engine: "files" as const, path: source };
    await symlink(source, join(base, "alias"));
    assert.equal(await isSameTarget(filesEngine, config, source + "/", context), true);
    assert.equal(await isSameTarget(filesEngine, config, join(base, "alias"), context), true);
    assert.equal(await isSameTarget(filesEngine, config, join(source, "a", "new-restore"), context), true);
    assert.equal(await isSameTarget(filesEngine, config, join(base, "alias", "x", "y"), context), true);
    assert.equal(await isSameTarget(filesEngine, config, base, context), true);
    assert.equal(await isSameTarget(filesEngine, config, join(base, "source-sibling"), context), false);
    assert.equal(await isSameTarget(filesEngine, config, join(base, "sourcefoo"), context), false);
  });
});
