// Looking inside a tree snapshot and taking back a part of it (issue 12):
// `ls` reads the tree index and no chunk of the archive; an --include restore
// out of a 1 GB tree fetches only the chunks under the chosen file and
// verifies it; the index is checked against the snapshot's fingerprint before
// it steers anything; damage and bad patterns fail clearly and leave nothing.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { link, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import type { Snapshot } from "../src/domain/snapshot.ts";
import type { EngineContext, SnapshotContents } from "../src/engines/engine.ts";
import { captureFiles, treeArtifact } from "../src/engines/files/capture.ts";
import { filesEngine } from "../src/engines/files/index.ts";
import { treeIndexArtifact } from "../src/engines/files/tree-index.ts";
import { engineFor } from "../src/engines/registry.ts";
import { isLifeboatError, type ErrorCode } from "../src/errors.ts";
import { backupSource } from "../src/operations/backup.ts";
import { noProgress, type OperationContext } from "../src/operations/context.ts";
import { compareSnapshots, describeSnapshot } from "../src/operations/inspect.ts";
import { restoreAndVerify } from "../src/operations/restore-and-verify.ts";
import { restoreSnapshot } from "../src/operations/restore.ts";
import { initRepository } from "../src/repository/repository.ts";
import type { Repository } from "../src/repository/types.ts";
import { silentLogger } from "../src/runtime/logger.ts";
import { processRunner } from "../src/runtime/process.ts";
import type { Backend, ByteRange } from "../src/storage/backend.ts";
import { FsBackend } from "../src/storage/fs.ts";
import { MemoryArtifacts } from "./support/memory-artifacts.ts";
import { TEST_KDF } from "./support/repository-testing.ts";

/** Counts what is read under data/ (packs or chunks): the proof of what a command fetched. */
class CountingBackend implements Backend {
  dataReads = 0;
  dataBytes = 0;
  readonly #inner: Backend;
  constructor(inner: Backend) {
    this.#inner = inner;
  }
  get location() {
    return this.#inner.location;
  }
  get capabilities() {
    return this.#inner.capabilities;
  }
  reset() {
    this.dataReads = 0;
    this.dataBytes = 0;
  }
  async get(key: string, range?: ByteRange) {
    const bytes = await this.#inner.get(key, range);
    if (key.startsWith("data/")) {
      this.dataReads++;
      this.dataBytes += bytes.length;
    }
    return bytes;
  }
  put: Backend["put"] = (...args) => this.#inner.put(...args);
  stat: Backend["stat"] = (...args) => this.#inner.stat(...args);
  list: Backend["list"] = (...args) => this.#inner.list(...args);
  delete: Backend["delete"] = (...args) => this.#inner.delete(...args);
  cleanupInterrupted: Backend["cleanupInterrupted"] = (...args) => this.#inner.cleanupInterrupted(...args);
  close: Backend["close"] = () => this.#inner.close();
}

let base: string;
let backend: CountingBackend;
let repository: Repository;
let context: OperationContext;

before(async () => {
  base = await mkdtemp(join(tmpdir(), "lifeboat-files-partial-"));
  await mkdir(join(base, "repo"));
  backend = new CountingBackend(new FsBackend(join(base, "repo")));
  // The default chunker (1 MiB average): the sizes a real repository has.
  repository = await initRepository(backend, { password: "secret", kdf: TEST_KDF });
  context = {
    repository,
    engineFor,
    runner: processRunner,
    log: silentLogger,
    now: () => new Date(),
    hostname: hostname(),
    progress: noProgress,
  };
});
after(async () => {
  await repository.close();
  await rm(base, { recursive: true, force: true });
});

/** Stored bytes of an artifact's chunks: what reading it alone costs. */
async function storedBytesOf(snapshot: Snapshot, artifact: string): Promise<number> {
  const ref = snapshot.artifacts.find((a) => a.name === artifact)!;
  let total = 0;
  for (const id of new Set(ref.chunks)) total += (await repository.locateChunk(id))!.length;
  return total;
}

describe("a many-file tree", () => {
  let snapshot: Snapshot;
  const tree = () => join(base, "many");

  before(async () => {
    for (let d = 0; d < 20; d++) {
      await mkdir(join(tree(), `dir-${d}`), { recursive: true });
      for (let f = 0; f < 100; f++)
        await writeFile(join(tree(), `dir-${d}`, `file-${f}.bin`), randomBytes(2000 + f * 37));
    }
    await writeFile(join(tree(), "big.bin"), randomBytes(24 * 1024 * 1024));
    ({ snapshot } = await backupSource(context, "many", { engine: "files", path: tree() }));
  });

  test("ls reads the tree index and no chunk of the archive", async () => {
    backend.reset();
    const contents = await describeSnapshot(context, snapshot);
    assert.equal(contents.kind, "tree");
    assert.equal(contents.kind === "tree" && contents.entries.length, 20 + 20 * 100 + 1);
    const big = contents.kind === "tree" ? contents.entries.find((e) => e.path === "big.bin") : undefined;
    assert.equal(big?.size, 24 * 1024 * 1024);
    assert.equal(big?.type, "file");
    assert.match(big?.digest ?? "", /^[0-9a-f]{64}$/);
    const indexBytes = await storedBytesOf(snapshot, treeIndexArtifact);
    assert.ok(backend.dataReads > 0, "the index is read from storage");
    assert.ok(
      backend.dataBytes <= indexBytes,
      `ls read ${backend.dataBytes} bytes of data/, the tree index is ${indexBytes} bytes stored`,
    );
    assert.ok(indexBytes < snapshot.artifacts.find((a) => a.name === treeArtifact)!.size / 50);
  });

  test("a diff after known changes names exactly those changes", async () => {
    await writeFile(join(tree(), "dir-3", "file-7.bin"), randomBytes(999));
    await rm(join(tree(), "dir-5", "file-0.bin"));
    await writeFile(join(tree(), "dir-9", "new.txt"), "new\n");
    const { snapshot: later } = await backupSource(context, "many", { engine: "files", path: tree() });
    const { diff } = await compareSnapshots(context, snapshot, later);
    const files = (diff.tree ?? []).filter((change) => change.type !== "dir");
    assert.deepEqual(
      files.map((change) => [change.change, change.path]),
      [
        ["changed", "dir-3/file-7.bin"],
        ["removed", "dir-5/file-0.bin"],
        ["added", "dir-9/new.txt"],
      ],
    );
    assert.deepEqual(
      files[0]!.what?.filter((what) => what !== "mtime"),
      ["content", "size"],
    );
    // The directories whose entries changed, and nothing else.
    assert.deepEqual(
      (diff.tree ?? []).filter((change) => change.type === "dir").map((change) => change.path),
      ["dir-5", "dir-9"], // an overwritten file leaves its directory's mtime alone
    );
    assert.equal(diff.summary.bytesAdded, 4);
    assert.equal(diff.summary.bytesRemoved, 2000 + (2000 + 7 * 37 - 999));
  });
});

describe("an --include restore out of a 1 GB tree", () => {
  let snapshot: Snapshot;
  const tree = () => join(base, "gigabyte");
  const wanted = randomBytes(150_000);

  before(async () => {
    await mkdir(join(tree(), "img", "2024"), { recursive: true });
    await mkdir(join(tree(), "bulk"));
    // 1 GiB of incompressible data around the one file, so its chunks are the only cheap ones to read.
    for (let i = 0; i < 8; i++)
      await writeFile(join(tree(), "bulk", `a-${i}.bin`), randomBytes(64 * 1024 * 1024));
    await writeFile(join(tree(), "img", "2024", "one.png"), wanted);
    await writeFile(join(tree(), "img", "2024", "other.png"), randomBytes(1000));
    for (let i = 0; i < 8; i++)
      await writeFile(join(tree(), "bulk", `z-${i}.bin`), randomBytes(64 * 1024 * 1024));
    ({ snapshot } = await backupSource(context, "gigabyte", { engine: "files", path: tree() }));
  });

  test("fetches only the chunks under that file, and verifies it", async () => {
    backend.reset();
    const target = join(base, "one-file");
    const result = await restoreSnapshot(context, {
      sourceName: "gigabyte",
      source: { engine: "files", path: tree() },
      selector: snapshot.id,
      target,
      options: { selection: { include: ["img/2024/one.png"] } },
      dryRun: false,
    });
    assert.equal(result.verified, true);
    assert.deepEqual(result.partial, { entries: 3, bytes: wanted.length });
    assert.deepEqual(await readdir(target, { recursive: true }), ["img", "img/2024", "img/2024/one.png"]);
    assert.deepEqual(await readFile(join(target, "img", "2024", "one.png")), wanted);
    // The file's bytes, a chunk on either side at most (4 MiB each), and the small tree index.
    const indexBytes = await storedBytesOf(snapshot, treeIndexArtifact);
    const ceiling = wanted.length + 2 * 4 * 1024 * 1024 + indexBytes;
    assert.ok(backend.dataBytes >= wanted.length, "the file itself was read");
    assert.ok(
      backend.dataBytes <= ceiling,
      `read ${backend.dataBytes} bytes of data/ for a ${wanted.length}-byte file (ceiling ${ceiling}) out of ${snapshot.artifacts[0]!.size}`,
    );
  });

  test("a dry run says what it would restore and writes nothing", async () => {
    const target = join(base, "dry");
    const result = await restoreSnapshot(context, {
      sourceName: "gigabyte",
      source: { engine: "files", path: tree() },
      selector: snapshot.id,
      target,
      options: { selection: { include: ["img/**"], exclude: ["**/other.png"] } },
      dryRun: true,
    });
    assert.ok(result.plan.steps.some((step) => step.includes("paths matching img/** except **/other.png")));
    await assert.rejects(readdir(target), /ENOENT/);
  });
});

describe("the engine's own guards", () => {
  let root: string;
  let artifacts: MemoryArtifacts;
  let fingerprint: Snapshot["fingerprint"];
  let engineContext: EngineContext;

  before(async () => {
    root = join(base, "small");
    await mkdir(join(root, "keep", "deep"), { recursive: true });
    await mkdir(join(root, "skip"));
    await writeFile(join(root, "keep", "a.txt"), "a\n");
    await writeFile(join(root, "keep", "deep", "b.tmp"), "b\n");
    await writeFile(join(root, "keep", "deep", "c.txt"), "c\n");
    await writeFile(join(root, "skip", "first-name"), "shared\n");
    await link(join(root, "skip", "first-name"), join(root, "keep", "second-name"));
    await symlink("../skip", join(root, "keep", "to-skip"));
    await writeFile(join(root, ".hidden"), "dot\n");
    await mkdir(join(base, "spool"), { recursive: true });
    engineContext = { runner: processRunner, log: silentLogger, tempDir: join(base, "spool") };
    artifacts = new MemoryArtifacts();
    ({ fingerprint } = await captureFiles({ engine: "files", path: root }, artifacts, engineContext));
  });

  const fakeSnapshot = (print: Snapshot["fingerprint"]): Snapshot => ({
    id: "f".repeat(64),
    source: "small",
    engine: "files",
    startedAt: "",
    finishedAt: "",
    consistentAt: "",
    hostname: "",
    lifeboatVersion: "",
    artifacts: artifacts.artifacts,
    engineMeta: {},
    fingerprint: print,
    tags: [],
  });

  const restorePart = (target: string, include: string[], exclude: string[] = [], source = artifacts) =>
    restoreAndVerify({
      engine: filesEngine,
      snapshot: { ...fakeSnapshot(fingerprint), artifacts: source.artifacts },
      artifacts: source,
      target,
      options: { selection: { include, ...(exclude.length ? { exclude } : {}) } },
      context: engineContext,
      now: Date.now,
    });

  test("a directory pattern takes what is below it; excludes and hard-link targets are honoured", async () => {
    const target = join(base, "keep-restored");
    const result = await restorePart(target, ["keep"], ["**/*.tmp"]);
    assert.deepEqual((await readdir(target, { recursive: true })).sort(), [
      "keep",
      "keep/a.txt",
      "keep/deep",
      "keep/deep/c.txt",
      "keep/second-name",
      "keep/to-skip",
    ]);
    assert.equal(result.partial?.dependencies, undefined);
    // keep/second-name is archived first (names sort), so skip/first-name is its hard link.
    const linked = join(base, "skip-restored");
    const withLink = await restorePart(linked, ["skip"]);
    assert.deepEqual((await readdir(linked, { recursive: true })).sort(), [
      "keep",
      "keep/second-name",
      "skip",
      "skip/first-name",
    ]);
    assert.deepEqual(withLink.partial?.dependencies, ["keep/second-name (hard-linked as skip/first-name)"]);
    assert.equal(await readFile(join(linked, "skip", "first-name"), "utf8"), "shared\n");
  });

  test("`**` takes dot files too, and `dir/**` the directory itself", async () => {
    const target = join(base, "dots");
    await restorePart(target, ["**"], ["keep/**", "skip/**"]);
    assert.deepEqual((await readdir(target)).sort(), [".hidden"]);
  });

  test("patterns that match nothing, or are absolute, are refused before anything is written", async () => {
    for (const [include, reason] of [
      [["nothing/**"], /no path of the snapshot matches/],
      [["/keep"], /relative to the tree's root/],
    ] as const) {
      const target = join(base, `refused-${reason.source.length}`);
      await assert.rejects(restorePart(target, [...include]), (error: unknown) => {
        assert.ok(isLifeboatError(error, "BAD_ARGUMENT"), String(error));
        assert.match((error as Error).message, reason);
        return true;
      });
      await assert.rejects(readdir(target), /ENOENT/);
    }
    assert.deepEqual(
      (await readdir(base)).filter((name) => name.includes("lifeboat-partial")),
      [],
      "no partial directory left",
    );
  });

  /** The captured artifacts with one of them replaced: damage a reader cannot tell from the real thing. */
  async function withReplaced(name: string, bytes: Buffer): Promise<MemoryArtifacts> {
    const copy = new MemoryArtifacts();
    for (const artifact of artifacts.artifacts) {
      const stored = artifact.name === name ? bytes : artifacts.stored.get(artifact.name)!;
      await copy.write(artifact.name, Readable.from([stored]));
    }
    return copy;
  }

  const refusedLeavingNothing = async (
    name: string,
    include: string[],
    source: MemoryArtifacts,
    code: ErrorCode,
  ) => {
    const target = join(base, name);
    await assert.rejects(restorePart(target, include, [], source), (error: unknown) =>
      isLifeboatError(error, code),
    );
    await assert.rejects(readdir(target), /ENOENT/);
  };

  test("an index that does not match the snapshot's fingerprint is refused", async () => {
    const index = artifacts.stored.get(treeIndexArtifact)!.toString("utf8");
    // Another content digest for keep/a.txt: an index lying about what the archive holds.
    const lying = index.replace(/("keep\/a\.txt","file",\d+,\d+,\d+,\d+,\d+,")[0-9a-f]/, "$1X");
    assert.notEqual(lying, index);
    const tampered = await withReplaced(treeIndexArtifact, Buffer.from(lying));
    await refusedLeavingNothing("tampered", ["keep"], tampered, "CHECKSUM_MISMATCH");
  });

  test("damaged bytes of a chosen file fail verification and leave no target", async () => {
    const archive = Buffer.from(artifacts.stored.get(treeArtifact)!);
    const at = archive.indexOf("c\n", archive.indexOf("keep/deep/c.txt") + 512);
    archive[at] = "X".charCodeAt(0);
    const damaged = await withReplaced(treeArtifact, archive);
    await refusedLeavingNothing("damaged", ["keep/deep/c.txt"], damaged, "VERIFICATION_FAILED");
  });

  test("a snapshot without a tree index restores only whole, and still lists (from its archive)", async () => {
    const old = new MemoryArtifacts();
    await old.write(treeArtifact, Readable.from([artifacts.stored.get(treeArtifact)!]));
    const target = join(base, "old");
    await assert.rejects(restorePart(target, ["keep"], [], old), (error: unknown) => {
      assert.ok(isLifeboatError(error, "BAD_ARGUMENT"));
      assert.match((error as Error).message, /no tree index/);
      return true;
    });
    const contents = await filesEngine.describeSnapshot!(
      { ...fakeSnapshot(fingerprint), artifacts: old.artifacts },
      old,
      engineContext,
    );
    const indexed = await filesEngine.describeSnapshot!(fakeSnapshot(fingerprint), artifacts, engineContext);
    assert.equal(contents.kind, "tree");
    // The archive's headers give the same listing, less the content digests only the index keeps.
    const strip = (c: SnapshotContents) =>
      c.kind === "tree" ? c.entries.map(({ digest: _digest, ...rest }) => rest) : [];
    assert.deepEqual(strip(contents), strip(indexed));
  });
});
